// Package columnar holds ingested rows as typed columns: what the ingestion
// binder produces and the store appends. A row of `any` boxes every value
// (an allocation per string, number and time, and garbage to collect); a
// block keeps each column in a slice of its own type, so that binding and
// appending a row allocates nothing.
//
// Values follow the ingestion row convention (see mapping): bool, int32
// (int), int64 (long, and timespan as 100ns ticks), float64 (real), string
// (string, and dynamic as compact JSON text), datetime as 100ns ticks since
// 0001-01-01 (time.Time when boxed), and boxed values for the rest
// (decimal text, guid bytes).
package columnar

import (
	"fmt"
	"time"

	"odx/internal/kql/schema"
	"odx/internal/kql/types"
)

// Kind is how a column holds its values.
type Kind uint8

const (
	Any      Kind = iota // boxed values, in Anys
	Bool                 // Bools
	Int32                // Int32s
	Int64                // Int64s
	Float64              // Float64s
	String               // Strings
	DateTime             // Int64s, 100ns ticks since 0001-01-01 UTC
	Const                // the same value on every row: Anys[0]
)

func (k Kind) String() string {
	names := [...]string{"any", "bool", "int32", "int64", "float64", "string", "datetime", "const"}
	if int(k) < len(names) {
		return names[k]
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// KindOf is the kind a block column of Kusto type t has.
func KindOf(t types.Type) Kind {
	switch t {
	case types.Bool:
		return Bool
	case types.Int:
		return Int32
	case types.Long, types.TimeSpan:
		return Int64
	case types.Real:
		return Float64
	case types.String, types.Dynamic:
		return String
	case types.DateTime:
		return DateTime
	}
	return Any
}

// KindsOf are the kinds of a block holding rows of these columns.
func KindsOf(cols []schema.Column) []Kind {
	kinds := make([]Kind, len(cols))
	for i, c := range cols {
		kinds[i] = KindOf(c.Type)
	}
	return kinds
}

// Column is one column of a block: the slice of its kind, with one entry
// per row.
type Column struct {
	Kind Kind
	// Null is true where the row is null; nil (no row null) until a row
	// is made null. A non-nil Null may have no true left (CopyCell, Slice).
	Null     []bool
	Bools    []bool
	Int32s   []int32
	Int64s   []int64
	Float64s []float64
	Strings  []string
	Anys     []any
}

// IsNull reports whether row r is null.
func (c *Column) IsNull(r int) bool { return c.Null != nil && c.Null[r] }

// Block is rows held by column.
type Block struct {
	Len  int
	Cols []Column
}

// NewBlock makes a block of n rows with columns of the given kinds, every
// value zero and not null.
func NewBlock(kinds []Kind, n int) *Block {
	b := &Block{Len: n, Cols: make([]Column, len(kinds))}
	for i, k := range kinds {
		c := &b.Cols[i]
		c.Kind = k
		switch k {
		case Bool:
			c.Bools = make([]bool, n)
		case Int32:
			c.Int32s = make([]int32, n)
		case Int64, DateTime:
			c.Int64s = make([]int64, n)
		case Float64:
			c.Float64s = make([]float64, n)
		case String:
			c.Strings = make([]string, n)
		case Any:
			c.Anys = make([]any, n)
		case Const:
			c.Anys = make([]any, 1)
		}
	}
	return b
}

// ConstColumn is a column with v on every row.
func ConstColumn(v any) Column { return Column{Kind: Const, Anys: []any{v}} }

// SetNull makes row r of column c null.
func (b *Block) SetNull(c, r int) {
	col := &b.Cols[c]
	if col.Null == nil {
		col.Null = make([]bool, b.Len)
	}
	col.Null[r] = true
}

// Set stores a boxed value in row r of column c, converting it to the
// column's kind: nil is null, a time.Time in a datetime column becomes
// ticks. A value the kind cannot hold is an error (a bug in the caller).
func (b *Block) Set(c, r int, v any) error {
	if v == nil {
		b.SetNull(c, r)
		return nil
	}
	col := &b.Cols[c]
	ok := true
	switch col.Kind {
	case Any:
		col.Anys[r] = v
	case Bool:
		col.Bools[r], ok = v.(bool)
	case Int32:
		col.Int32s[r], ok = v.(int32)
	case Int64:
		col.Int64s[r], ok = v.(int64)
	case Float64:
		col.Float64s[r], ok = v.(float64)
	case String:
		col.Strings[r], ok = v.(string)
	case DateTime:
		switch x := v.(type) {
		case time.Time:
			ticks, inRange := types.TicksFromTime(x)
			if !inRange {
				b.SetNull(c, r) // outside Kusto's datetime range
				return nil
			}
			col.Int64s[r] = ticks
		case int64:
			col.Int64s[r] = x
		default:
			ok = false
		}
	case Const:
		ok = false
	}
	if !ok {
		return fmt.Errorf("a %T cannot be stored in a %s column", v, col.Kind)
	}
	return nil
}

// Value is row r of column c boxed as a row of `any` holds it (datetime
// as a UTC time.Time, null as nil).
func (b *Block) Value(c, r int) any { return b.Cols[c].Value(r) }

// Value is the column's row r boxed (see Block.Value).
func (col *Column) Value(r int) any {
	if col.Kind == Const {
		return col.Anys[0]
	}
	if col.IsNull(r) {
		return nil
	}
	switch col.Kind {
	case Bool:
		return col.Bools[r]
	case Int32:
		return col.Int32s[r]
	case Int64:
		return col.Int64s[r]
	case Float64:
		return col.Float64s[r]
	case String:
		return col.Strings[r]
	case DateTime:
		t, _ := types.TimeFromTicks(col.Int64s[r])
		return t
	}
	return col.Anys[r]
}

// Rows boxes the block into rows, for consumers that take rows.
func (b *Block) Rows() [][]any {
	n := len(b.Cols)
	cells := make([]any, b.Len*n)
	rows := make([][]any, b.Len)
	for r := range rows {
		row := cells[r*n : (r+1)*n : (r+1)*n]
		for c := range b.Cols {
			row[c] = b.Value(c, r)
		}
		rows[r] = row
	}
	return rows
}

// CopyCell copies row from of column c to row to (null included).
func (b *Block) CopyCell(c, from, to int) {
	col := &b.Cols[c]
	if col.IsNull(from) {
		b.SetNull(c, to)
		return
	}
	if col.Null != nil {
		col.Null[to] = false
	}
	switch col.Kind {
	case Bool:
		col.Bools[to] = col.Bools[from]
	case Int32:
		col.Int32s[to] = col.Int32s[from]
	case Int64, DateTime:
		col.Int64s[to] = col.Int64s[from]
	case Float64:
		col.Float64s[to] = col.Float64s[from]
	case String:
		col.Strings[to] = col.Strings[from]
	case Any:
		col.Anys[to] = col.Anys[from]
	}
}

// FromRows makes a block of the given column kinds from rows of boxed
// values (one per column, as Set takes them).
func FromRows(kinds []Kind, rows [][]any) (*Block, error) {
	b := NewBlock(kinds, len(rows))
	for r, row := range rows {
		if len(row) != len(kinds) {
			return nil, fmt.Errorf("row %d has %d values for %d columns", r+1, len(row), len(kinds))
		}
		for c, v := range row {
			if err := b.Set(c, r, v); err != nil {
				return nil, fmt.Errorf("row %d, column %d: %w", r+1, c+1, err)
			}
		}
	}
	return b, nil
}

// Slice is rows [from, to) of b, sharing its memory.
func (b *Block) Slice(from, to int) *Block {
	s := &Block{Len: to - from, Cols: make([]Column, len(b.Cols))}
	for i := range b.Cols {
		c, d := &b.Cols[i], &s.Cols[i]
		d.Kind = c.Kind
		if c.Null != nil {
			d.Null = c.Null[from:to]
		}
		switch c.Kind {
		case Bool:
			d.Bools = c.Bools[from:to]
		case Int32:
			d.Int32s = c.Int32s[from:to]
		case Int64, DateTime:
			d.Int64s = c.Int64s[from:to]
		case Float64:
			d.Float64s = c.Float64s[from:to]
		case String:
			d.Strings = c.Strings[from:to]
		case Any:
			d.Anys = c.Anys[from:to]
		case Const:
			d.Anys = c.Anys
		}
	}
	return s
}

// RowCount is the number of rows of blocks.
func RowCount(blocks []*Block) int {
	n := 0
	for _, b := range blocks {
		n += b.Len
	}
	return n
}
