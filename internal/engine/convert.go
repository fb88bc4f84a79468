package engine

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/duckdb/duckdb-go/v2"
)

// converter turns one Go value into what the DuckDB appender accepts for a column.
type converter func(any) (any, error)

func passThrough(v any) (any, error) { return v, nil }

// appendConverters reads the column types of schema.table and returns one
// converter per column. The driver's appender stores a DECIMAL from its
// unscaled integer (so "1.5" must become 15000000000 for DECIMAL(38,10)),
// marshals whatever it gets for a JSON column with encoding/json (so JSON text
// must arrive as json.RawMessage, not as a string it would quote), and wants
// duckdb.UUID for UUID columns.
func appendConverters(conn driver.Conn, schema, table string) ([]converter, error) {
	qc, ok := conn.(driver.QueryerContext)
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
	var convs []converter
	dest := make([]driver.Value, 1)
	for {
		if err := rows.Next(dest); err != nil {
			break
		}
		typ, _ := dest[0].(string)
		convs = append(convs, converterFor(typ))
	}
	if len(convs) == 0 {
		return nil, fmt.Errorf("table %s.%s does not exist", schema, table)
	}
	return convs, nil
}

func converterFor(typ string) converter {
	switch {
	case strings.HasPrefix(typ, "DECIMAL"):
		scale := 0
		if i := strings.IndexByte(typ, ','); i > 0 {
			scale, _ = strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(typ[i+1:]), ")"))
		}
		return func(v any) (any, error) { return toScaledDecimal(v, scale) }
	case typ == "UUID":
		return sameUUIDOnce()
	case typ == "JSON":
		return toJSON
	}
	return passThrough
}

// sameUUIDOnce is toUUID remembering its last UUID: an ingest appends the
// same extent id on every row, and converting it once saves an allocation
// per row. Each append builds its own converters, so no state is shared.
func sameUUIDOnce() converter {
	var last UUID
	var lastOut any
	return func(v any) (any, error) {
		u, ok := v.(UUID)
		if !ok {
			return toUUID(v)
		}
		if lastOut == nil || u != last {
			last, lastOut = u, duckdb.UUID(u)
		}
		return lastOut, nil
	}
}

// toScaledDecimal returns the unscaled integer of v at the given scale,
// rounding half away from zero as Kusto does.
func toScaledDecimal(v any, scale int) (any, error) {
	var r big.Rat
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		if _, ok := r.SetString(strings.TrimSpace(x)); !ok {
			return nil, fmt.Errorf("%q is not a decimal number", x)
		}
	case float64:
		if r.SetFloat64(x) == nil {
			return nil, fmt.Errorf("%v cannot be stored as a decimal", x)
		}
	case float32:
		if r.SetFloat64(float64(x)) == nil {
			return nil, fmt.Errorf("%v cannot be stored as a decimal", x)
		}
	case int64:
		r.SetInt64(x)
	case int32:
		r.SetInt64(int64(x))
	case int:
		r.SetInt64(int64(x))
	case Decimal:
		r.SetFrac(x.Value, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(x.Scale)), nil))
	case fmt.Stringer:
		if _, ok := r.SetString(x.String()); !ok {
			return nil, fmt.Errorf("%q is not a decimal number", x.String())
		}
	default:
		return nil, fmt.Errorf("a %T cannot be stored as a decimal", v)
	}
	r.Mul(&r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)))
	num, den := r.Num(), r.Denom()
	q, m := new(big.Int).QuoRem(num, den, new(big.Int))
	// Round half away from zero: |2m| >= den.
	if new(big.Int).Abs(new(big.Int).Mul(m, big.NewInt(2))).Cmp(den) >= 0 {
		if num.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	return q, nil
}

func toUUID(v any) (any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case [16]byte:
		return duckdb.UUID(x), nil
	case UUID:
		return duckdb.UUID(x), nil
	case duckdb.UUID:
		return x, nil
	case []byte:
		if len(x) != 16 {
			return nil, fmt.Errorf("a guid needs 16 bytes, got %d", len(x))
		}
		var u duckdb.UUID
		copy(u[:], x)
		return u, nil
	case string:
		u, err := ParseUUID(x)
		if err != nil {
			return nil, err
		}
		return duckdb.UUID(u), nil
	}
	return nil, fmt.Errorf("a %T cannot be stored as a guid", v)
}

// ParseUUID parses a GUID in 8-4-4-4-12 form, with or without braces or dashes.
func ParseUUID(s string) (UUID, error) {
	var u UUID
	h := strings.Trim(strings.TrimSpace(s), "{}")
	h = strings.ReplaceAll(h, "-", "")
	if len(h) != 32 {
		return u, fmt.Errorf("%q is not a guid", s)
	}
	for i := 0; i < 16; i++ {
		b, err := strconv.ParseUint(h[2*i:2*i+2], 16, 8)
		if err != nil {
			return u, fmt.Errorf("%q is not a guid", s)
		}
		u[i] = byte(b)
	}
	return u, nil
}

func toJSON(v any) (any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case json.RawMessage:
		if !json.Valid(x) {
			return nil, fmt.Errorf("invalid JSON %q", string(x))
		}
		return x, nil
	case string:
		if json.Valid([]byte(x)) {
			return json.RawMessage(x), nil
		}
		// Not JSON text: keep it as a JSON string, as Kusto's dynamic does for plain text.
		return x, nil
	case []byte:
		if json.Valid(x) {
			return json.RawMessage(x), nil
		}
		return string(x), nil
	}
	return v, nil
}

// IsConflict reports whether err is DuckDB's optimistic-concurrency failure
// (two transactions wrote the same rows or catalog entry); the loser may retry.
func IsConflict(err error) bool {
	var de *duckdb.Error
	if errors.As(err, &de) && de.Type == duckdb.ErrorTypeTransaction {
		return true
	}
	return err != nil && strings.Contains(err.Error(), "Conflict")
}

// QuoteIdent quotes an SQL identifier for DuckDB.
func QuoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// QuoteString quotes an SQL string literal for DuckDB.
func QuoteString(s string) string { return quoteString(s) }
