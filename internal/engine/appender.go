package engine

import (
	"context"
	"database/sql/driver"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"

	"odx/internal/columnar"

	duckdb "github.com/duckdb/duckdb-go/v2"
	"github.com/duckdb/duckdb-go/v2/mapping"
)

// AppendTarget is the table an append goes to.
type AppendTarget struct {
	Schema, Table string
	// Types are the table's column types in storage order, as DuckDB names
	// them (duckdb_columns().data_type). A caller that knows them saves a
	// catalog query per append, which costs more than appending a few rows;
	// nil reads them.
	Types []string
}

// AppendBlocks bulk-loads rows into a table through DuckDB's appender,
// inside the transaction, as they arrive in blocks: next returns the next
// block, nil when there are no more; an error from next stops the append
// and is returned as it is. A caller can so append rows while they are
// still being decoded, instead of holding them all first.
//
// A block has one column per table column, in the table's physical order.
// Typed block columns are copied into DuckDB's vectors of the same width
// (Bool to BOOLEAN, Int32 to INTEGER, Int64 and DateTime to BIGINT, Float64
// to DOUBLE, String to VARCHAR and JSON); the other columns go value by
// value: a decimal as a string, number or Decimal, a UUID as [16]byte, UUID
// or string, JSON as JSON text (text that is not JSON is stored as a JSON
// string) or a value to marshal.
//
// The rows are written straight into DuckDB's column vectors, 2,048 rows at
// a time, and handed to the C appender a chunk at a time: the driver's own
// appender converts every value through reflection-driven setters and a C
// call per string, which cost as much as everything DuckDB then does with
// the rows.
func (t *Tx) AppendBlocks(to AppendTarget, next func() (*columnar.Block, error)) error {
	var nextErr error
	err := t.conn.Raw(func(dc any) error {
		conn, err := cConnection(dc)
		if err != nil {
			return err
		}
		types := to.Types
		if types == nil {
			if types, err = columnTypes(dc, to.Schema, to.Table); err != nil {
				return err
			}
		}
		name := to.Schema + "." + to.Table
		app, err := newChunkAppender(conn, to.Schema, to.Table, types)
		if err != nil {
			return fmt.Errorf("cannot open appender on %s: %w", name, err)
		}
		for {
			blk, err := next()
			if err != nil {
				nextErr = err
				app.destroy()
				return err
			}
			if blk == nil {
				break
			}
			if err := app.appendBlock(blk); err != nil {
				app.destroy()
				return fmt.Errorf("cannot append to %s: %w", name, err)
			}
		}
		if err := app.close(); err != nil {
			return fmt.Errorf("cannot append to %s: %w", name, err)
		}
		return nil
	})
	if nextErr != nil {
		return nextErr
	}
	return err
}

// connField is where the driver keeps the DuckDB C connection: it does not
// export it, and the C appender needs it. Checked once against the driver's
// type, so that a driver whose layout changed fails every append with a
// clear error (and engine's tests) instead of reading the wrong memory.
var connField, connFieldOK = func() (reflect.StructField, bool) {
	f, ok := reflect.TypeFor[duckdb.Conn]().FieldByName("conn")
	return f, ok && f.Type == reflect.TypeFor[mapping.Connection]()
}()

// cConnection returns the DuckDB C connection behind a driver connection.
func cConnection(dc any) (mapping.Connection, error) {
	c, ok := dc.(*duckdb.Conn)
	if !ok || !connFieldOK {
		return mapping.Connection{}, fmt.Errorf("engine: the DuckDB driver's connection (%T) has no C connection where odx expects it; odx needs the driver version in go.mod", dc)
	}
	return *(*mapping.Connection)(unsafe.Add(unsafe.Pointer(c), connField.Offset)), nil
}

// columnTypes reads the column types of schema.table from the catalog.
func columnTypes(dc any, schema, table string) ([]string, error) {
	qc, ok := dc.(driver.QueryerContext)
	if !ok {
		return nil, errors.New("engine: driver connection cannot query")
	}
	rows, err := qc.QueryContext(context.Background(),
		`SELECT data_type FROM duckdb_columns() WHERE schema_name = ? AND table_name = ? ORDER BY column_index`,
		[]driver.NamedValue{{Ordinal: 1, Value: schema}, {Ordinal: 2, Value: table}})
	if err != nil {
		return nil, fmt.Errorf("cannot read the columns of %s.%s: %w", schema, table, err)
	}
	defer rows.Close()
	var types []string
	dest := make([]driver.Value, 1)
	for rows.Next(dest) == nil {
		typ, _ := dest[0].(string)
		types = append(types, typ)
	}
	if len(types) == 0 {
		return nil, fmt.Errorf("table %s.%s does not exist", schema, table)
	}
	return types, nil
}

// vectorKind is how a column's values are laid out in a DuckDB vector.
type vectorKind uint8

const (
	vectorBool    vectorKind = iota // 1 byte
	vectorInt32                     // INTEGER
	vectorInt64                     // BIGINT
	vectorFloat64                   // DOUBLE
	vectorString                    // VARCHAR: 16-byte duckdb_string_t
	vectorUUID                      // UUID: HUGEINT with the top bit flipped
	vectorDecimal                   // DECIMAL(w>18, s): HUGEINT of the unscaled value
)

// appendColumn is one column of the chunk being filled.
type appendColumn struct {
	kind     vectorKind
	json     bool // a JSON column appended as VARCHAR and cast by DuckDB
	scale    int  // of a decimal
	vec      mapping.Vector
	data     unsafe.Pointer
	validity []uint64 // nil until the chunk's first NULL in this column
}

// chunkAppender fills DuckDB data chunks from Go values and hands them to
// a C appender.
type chunkAppender struct {
	app      mapping.Appender
	chunk    mapping.DataChunk
	types    []mapping.LogicalType
	cols     []appendColumn
	capacity int
	rows     int // rows in the current chunk
}

// newChunkAppender opens an appender on schema.table. A table with JSON
// columns is appended through a query appender (INSERT ... SELECT col::JSON)
// with the JSON as VARCHAR, so that DuckDB checks the text in C++.
func newChunkAppender(conn mapping.Connection, schema, table string, types []string) (*chunkAppender, error) {
	a := &chunkAppender{capacity: int(mapping.VectorSize())}
	hasJSON := false
	selects := make([]string, len(types))
	for i, typ := range types {
		col := appendColumn{}
		var lt mapping.LogicalType
		switch {
		case typ == "BOOLEAN":
			col.kind, lt = vectorBool, mapping.CreateLogicalType(mapping.TypeBoolean)
		case typ == "INTEGER":
			col.kind, lt = vectorInt32, mapping.CreateLogicalType(mapping.TypeInteger)
		case typ == "BIGINT":
			col.kind, lt = vectorInt64, mapping.CreateLogicalType(mapping.TypeBigInt)
		case typ == "DOUBLE":
			col.kind, lt = vectorFloat64, mapping.CreateLogicalType(mapping.TypeDouble)
		case typ == "VARCHAR":
			col.kind, lt = vectorString, mapping.CreateLogicalType(mapping.TypeVarchar)
		case typ == "JSON":
			col.kind, col.json, lt = vectorString, true, mapping.CreateLogicalType(mapping.TypeVarchar)
			hasJSON = true
		case typ == "UUID":
			col.kind, lt = vectorUUID, mapping.CreateLogicalType(mapping.TypeUUID)
		case strings.HasPrefix(typ, "DECIMAL("):
			width, scale, ok := decimalWidthScale(typ)
			if !ok || width <= 18 {
				a.destroyTypes()
				return nil, fmt.Errorf("column %d: odx appends decimals of more than 18 digits only, not %s", i+1, typ)
			}
			col.kind, col.scale, lt = vectorDecimal, scale, mapping.CreateDecimalType(uint8(width), uint8(scale))
		default:
			a.destroyTypes()
			return nil, fmt.Errorf("column %d: odx cannot append to a %s column", i+1, typ)
		}
		a.types = append(a.types, lt)
		a.cols = append(a.cols, col)
		selects[i] = "col" + strconv.Itoa(i+1)
		if col.json {
			selects[i] += "::JSON"
		}
	}
	var state mapping.State
	if hasJSON {
		query := "INSERT INTO " + QuoteIdent(schema) + "." + QuoteIdent(table) + " SELECT " + strings.Join(selects, ", ") + " FROM appended_data"
		state = mapping.AppenderCreateQuery(conn, query, a.types, "appended_data", nil, &a.app)
	} else {
		state = mapping.AppenderCreateExt(conn, "", schema, table, &a.app)
	}
	if state == mapping.StateError {
		err := errors.New(mapping.AppenderError(a.app))
		mapping.AppenderDestroy(&a.app)
		a.destroyTypes()
		return nil, err
	}
	if n := int(mapping.AppenderColumnCount(a.app)); n != len(types) {
		a.destroy()
		return nil, fmt.Errorf("the table has %d columns, the append gave the types of %d", n, len(types))
	}
	a.chunk = mapping.CreateDataChunk(a.types)
	a.startChunk()
	return a, nil
}

func decimalWidthScale(typ string) (width, scale int, ok bool) {
	w, s, found := strings.Cut(strings.TrimSuffix(strings.TrimPrefix(typ, "DECIMAL("), ")"), ",")
	width, err1 := strconv.Atoi(strings.TrimSpace(w))
	scale, err2 := strconv.Atoi(strings.TrimSpace(s))
	return width, scale, found && err1 == nil && err2 == nil && width <= 38 && scale <= width
}

// startChunk points the columns at the (reset) chunk's vectors.
func (a *chunkAppender) startChunk() {
	for i := range a.cols {
		c := &a.cols[i]
		c.vec = mapping.DataChunkGetVector(a.chunk, mapping.IdxT(i))
		c.data = mapping.VectorGetData(c.vec)
		c.validity = nil
	}
	a.rows = 0
}

// appendBlock appends a block's rows, filling chunk after chunk.
func (a *chunkAppender) appendBlock(blk *columnar.Block) error {
	if len(blk.Cols) != len(a.cols) {
		return fmt.Errorf("the table has %d columns, the rows have %d", len(a.cols), len(blk.Cols))
	}
	for from := 0; from < blk.Len; {
		if a.rows == a.capacity {
			if err := a.flushChunk(); err != nil {
				return err
			}
		}
		n := min(blk.Len-from, a.capacity-a.rows)
		for i := range a.cols {
			if err := a.copyColumn(i, &blk.Cols[i], from, n); err != nil {
				return fmt.Errorf("column %d: %w", i+1, err)
			}
		}
		a.rows += n
		from += n
	}
	return nil
}

// copyColumn writes rows [from, from+n) of src into the chunk's column i
// from its current row on: typed columns of the vector's width by copy,
// the others value by value.
func (a *chunkAppender) copyColumn(i int, src *columnar.Column, from, n int) error {
	c := &a.cols[i]
	at := a.rows
	switch {
	case src.Kind == columnar.Bool && c.kind == vectorBool:
		copy(unsafe.Slice((*bool)(c.data), a.capacity)[at:at+n], src.Bools[from:from+n])
	case src.Kind == columnar.Int32 && c.kind == vectorInt32:
		copy(unsafe.Slice((*int32)(c.data), a.capacity)[at:at+n], src.Int32s[from:from+n])
	case (src.Kind == columnar.Int64 || src.Kind == columnar.DateTime) && c.kind == vectorInt64:
		copy(unsafe.Slice((*int64)(c.data), a.capacity)[at:at+n], src.Int64s[from:from+n])
	case src.Kind == columnar.Float64 && c.kind == vectorFloat64:
		copy(unsafe.Slice((*float64)(c.data), a.capacity)[at:at+n], src.Float64s[from:from+n])
	case src.Kind == columnar.String && c.kind == vectorString:
		for k, s := range src.Strings[from : from+n] {
			if src.IsNull(from + k) {
				continue
			}
			if c.json {
				s = dynamicText(s)
			}
			setString(c, at+k, s)
		}
	default:
		for k := range n {
			if err := a.set(i, at+k, src.Value(from+k)); err != nil {
				return err
			}
		}
		return nil
	}
	if src.Null != nil {
		for k, null := range src.Null[from : from+n] {
			if null {
				a.setNull(c, at+k)
			}
		}
	}
	return nil
}

// flushChunk hands the filled chunk to the appender and starts the next.
func (a *chunkAppender) flushChunk() error {
	if a.rows == 0 {
		return nil
	}
	mapping.DataChunkSetSize(a.chunk, mapping.IdxT(a.rows))
	if mapping.AppendDataChunk(a.app, a.chunk) == mapping.StateError {
		return errors.New(mapping.AppenderError(a.app))
	}
	mapping.DataChunkReset(a.chunk)
	a.startChunk()
	return nil
}

// close appends the last chunk, flushes the appender into the table and
// frees it.
func (a *chunkAppender) close() error {
	err := a.flushChunk()
	if err == nil && mapping.AppenderClose(a.app) == mapping.StateError {
		err = errors.New(mapping.AppenderError(a.app))
	}
	a.destroy()
	return err
}

func (a *chunkAppender) destroy() {
	mapping.DestroyDataChunk(&a.chunk)
	mapping.AppenderDestroy(&a.app)
	a.destroyTypes()
}

func (a *chunkAppender) destroyTypes() {
	for i := range a.types {
		mapping.DestroyLogicalType(&a.types[i])
	}
	a.types = nil
}

// set writes v into row r of the chunk's column i.
func (a *chunkAppender) set(i, r int, v any) error {
	c := &a.cols[i]
	if v == nil {
		a.setNull(c, r)
		return nil
	}
	switch c.kind {
	case vectorBool:
		b, ok := v.(bool)
		if !ok {
			return fmt.Errorf("a %T cannot be stored as a bool", v)
		}
		*(*bool)(unsafe.Add(c.data, r)) = b
	case vectorInt32:
		return setNumber[int32](c, r, v, "an int")
	case vectorInt64:
		return setNumber[int64](c, r, v, "a long")
	case vectorFloat64:
		return setNumber[float64](c, r, v, "a real")
	case vectorString:
		s, null, err := c.text(v)
		if err != nil {
			return err
		}
		if null {
			a.setNull(c, r)
			return nil
		}
		setString(c, r, s)
	case vectorUUID:
		u, err := toUUID(v)
		if err != nil {
			return err
		}
		// The GUID's bytes as a big-endian 128-bit number, top bit flipped.
		hi, lo := binary.BigEndian.Uint64(u[:8]), binary.BigEndian.Uint64(u[8:])
		setHugeint(c, r, lo, int64(hi^(1<<63)))
	case vectorDecimal:
		q, err := toScaledDecimal(v, c.scale)
		if err != nil {
			return err
		}
		lo, hi, ok := hugeint(q)
		if !ok {
			return fmt.Errorf("%v does not fit a decimal", v)
		}
		setHugeint(c, r, lo, hi)
	}
	return nil
}

func (a *chunkAppender) setNull(c *appendColumn, r int) {
	if c.validity == nil {
		mapping.VectorEnsureValidityWritable(c.vec)
		c.validity = unsafe.Slice((*uint64)(mapping.VectorGetValidity(c.vec)), (a.capacity+63)/64)
	}
	c.validity[r/64] &^= 1 << (r % 64)
}

// text is the string a VARCHAR or JSON column stores for v, or NULL.
func (c *appendColumn) text(v any) (s string, null bool, err error) {
	if c.json {
		return toJSONText(v)
	}
	switch x := v.(type) {
	case string:
		return x, false, nil
	case []byte:
		return string(x), false, nil
	}
	return "", false, fmt.Errorf("a %T cannot be stored as a string", v)
}

// setString writes s as row r's duckdb_string_t: up to 12 bytes inline
// (length, then the bytes, zero padded, as DuckDB compares them), longer
// ones copied by DuckDB into the vector's string heap. Text that is not
// UTF-8 gets U+FFFD for its bad bytes, as DuckDB would refuse it.
func setString(c *appendColumn, r int, s string) {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if len(s) <= 12 {
		p := (*[16]byte)(unsafe.Add(c.data, 16*r))
		*p = [16]byte{}
		*(*uint32)(unsafe.Pointer(p)) = uint32(len(s))
		copy(p[4:], s)
		return
	}
	mapping.VectorAssignStringElement(c.vec, mapping.IdxT(r), s)
}

func setHugeint(c *appendColumn, r int, lo uint64, hi int64) {
	p := unsafe.Add(c.data, 16*r)
	*(*uint64)(p) = lo
	*(*int64)(unsafe.Add(p, 8)) = hi
}

// hugeint splits q into DuckDB's HUGEINT halves; ok is false beyond 128 bits.
func hugeint(q *big.Int) (lo uint64, hi int64, ok bool) {
	if q.IsInt64() {
		n := q.Int64()
		return uint64(n), n >> 63, true
	}
	var rem big.Int
	quo, _ := new(big.Int).DivMod(q, twoTo64, &rem)
	if !quo.IsInt64() {
		return 0, 0, false
	}
	return rem.Uint64(), quo.Int64(), true
}

var twoTo64 = new(big.Int).Lsh(big.NewInt(1), 64)

// setNumber writes v, converted to T, as row r of c.
func setNumber[T int32 | int64 | float64](c *appendColumn, r int, v any, what string) error {
	n, ok := number[T](v)
	if !ok {
		return fmt.Errorf("a %T cannot be stored as %s", v, what)
	}
	*(*T)(unsafe.Add(c.data, int(unsafe.Sizeof(n))*r)) = n
	return nil
}

// number converts any Go number (or a Decimal) to T, as the driver's
// appender did: a plain conversion.
func number[T int32 | int64 | float64](v any) (T, bool) {
	switch x := v.(type) {
	case int64:
		return T(x), true
	case float64:
		return T(x), true
	case int32:
		return T(x), true
	case int:
		return T(x), true
	case int8:
		return T(x), true
	case int16:
		return T(x), true
	case uint8:
		return T(x), true
	case uint16:
		return T(x), true
	case uint32:
		return T(x), true
	case uint64:
		return T(x), true
	case uint:
		return T(x), true
	case float32:
		return T(x), true
	case Decimal:
		if x.Value == nil {
			return 0, false
		}
		f, _ := new(big.Float).SetInt(x.Value).Float64()
		return T(f / math.Pow10(int(x.Scale))), true
	}
	return 0, false
}
