package query

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"time"

	"odx/internal/engine"
	"odx/internal/kql/schema"
	"odx/internal/kql/types"
	"odx/internal/result"
)

// table streams engine rows as a result.Table.
type table struct {
	name   string
	rows   *engine.Rows
	cols   []result.Column
	ctx    context.Context
	out    []any
	closed bool
	after  func() // runs once after the rows are closed
}

func newTable(name string, rows *engine.Rows, declared []schema.Column, ctx context.Context) *table {
	ecols := rows.Columns()
	cols := make([]result.Column, len(ecols))
	for i, ec := range ecols {
		// The compiler's declared Kusto types win; DuckDB's own types only
		// fill in when the compiler did not say (or said something else).
		if len(declared) == len(ecols) {
			cols[i] = result.Column{Name: declared[i].Name, Type: declared[i].Type}
		} else {
			cols[i] = result.Column{Name: ec.Name, Type: KustoType(ec.Type)}
		}
	}
	return &table{name: name, rows: rows, cols: cols, ctx: ctx, out: make([]any, len(cols))}
}

// KustoType maps a DuckDB result type to the Kusto type that shows it.
func KustoType(duck string) types.Type {
	d := strings.ToUpper(duck)
	switch {
	case d == "BOOLEAN":
		return types.Bool
	case d == "INTEGER" || d == "SMALLINT" || d == "TINYINT" || d == "USMALLINT" || d == "UTINYINT":
		return types.Int
	case d == "BIGINT" || d == "UINTEGER" || d == "HUGEINT" || d == "UBIGINT":
		return types.Long
	case d == "DOUBLE" || d == "FLOAT":
		return types.Real
	case strings.HasPrefix(d, "DECIMAL"):
		return types.Decimal
	case strings.HasPrefix(d, "TIMESTAMP") || d == "DATE":
		return types.DateTime
	case d == "INTERVAL":
		return types.TimeSpan
	case d == "UUID":
		return types.Guid
	case d == "JSON" || strings.HasSuffix(d, "[]") || strings.HasPrefix(d, "STRUCT") || strings.HasPrefix(d, "MAP"):
		return types.Dynamic
	}
	return types.String
}

func (t *table) Name() string             { return t.name }
func (t *table) Columns() []result.Column { return t.cols }

func (t *table) Next() ([]any, bool, error) {
	if t.closed {
		return nil, false, nil
	}
	if !t.rows.Next() {
		err := t.rows.Err()
		t.Close()
		if err != nil {
			return nil, false, executionError(t.ctx, err)
		}
		return nil, false, nil
	}
	vals, err := t.rows.Values()
	if err != nil {
		return nil, false, executionError(t.ctx, err)
	}
	for i, v := range vals {
		t.out[i] = Convert(t.cols[i].Type, v)
	}
	return t.out, true, nil
}

func (t *table) Close() error {
	if t.closed {
		return nil
	}
	t.closed = true
	err := t.rows.Close()
	if t.after != nil {
		t.after()
	}
	return err
}

// Convert turns an engine value into result's convention for Kusto type typ.
func Convert(typ types.Type, v any) any {
	if v == nil {
		if typ == types.String {
			return "" // Kusto strings are never null
		}
		return nil
	}
	switch typ {
	case types.Bool:
		switch x := v.(type) {
		case bool:
			return x
		case int32:
			return x != 0
		case int64:
			return x != 0
		}
	case types.Int:
		switch x := v.(type) {
		case int32:
			return x
		case int8:
			return int32(x)
		case int16:
			return int32(x)
		case int64:
			return int32(x)
		case uint8:
			return int32(x)
		case uint16:
			return int32(x)
		}
	case types.Long:
		switch x := v.(type) {
		case int64:
			return x
		case int32:
			return int64(x)
		case uint32:
			return int64(x)
		case uint64:
			return int64(x)
		case *big.Int:
			return x.Int64()
		}
	case types.Real:
		switch x := v.(type) {
		case float64:
			return x
		case float32:
			return float64(x)
		case int64:
			return float64(x)
		case int32:
			return float64(x)
		}
	case types.Decimal:
		switch x := v.(type) {
		case engine.Decimal:
			return x.String()
		case float64:
			return fmt.Sprint(x)
		case *big.Int:
			return x.String()
		}
	case types.DateTime:
		switch x := v.(type) {
		case int64:
			// odx stores datetimes as ticks since 0001-01-01
			if t, ok := types.TimeFromTicks(x); ok {
				return t
			}
			return nil
		case time.Time:
			return x.UTC()
		}
	case types.TimeSpan:
		switch x := v.(type) {
		case int64:
			return x
		case int32:
			return int64(x)
		case engine.Interval:
			return (int64(x.Days)*86400_000_000 + int64(x.Months)*30*86400_000_000 + x.Micros) * 10
		}
	case types.Guid:
		switch x := v.(type) {
		case engine.UUID:
			return x.String()
		case string:
			return x
		}
	case types.Dynamic:
		switch x := v.(type) {
		case string:
			if json.Valid([]byte(x)) {
				return json.RawMessage(x)
			}
			return x
		case []byte:
			return json.RawMessage(x)
		default:
			return x
		}
	case types.String:
		switch x := v.(type) {
		case string:
			return x
		case engine.UUID:
			return x.String()
		case time.Time:
			return types.FormatDateTime(x)
		case []any, map[string]any:
			b, _ := json.Marshal(x)
			return string(b)
		default:
			return fmt.Sprint(x)
		}
	}
	return v
}
