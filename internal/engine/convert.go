package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"unsafe"

	"github.com/duckdb/duckdb-go/v2"
)

// toScaledDecimal returns the unscaled integer of v at the given scale,
// rounding half away from zero as Kusto does.
func toScaledDecimal(v any, scale int) (*big.Int, error) {
	var r big.Rat
	switch x := v.(type) {
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

// toUUID is the GUID v holds.
func toUUID(v any) (UUID, error) {
	switch x := v.(type) {
	case UUID:
		return x, nil
	case [16]byte:
		return x, nil
	case duckdb.UUID:
		return UUID(x), nil
	case []byte:
		if len(x) != 16 {
			return UUID{}, fmt.Errorf("a guid needs 16 bytes, got %d", len(x))
		}
		return UUID(x), nil
	case string:
		return ParseUUID(x)
	}
	return UUID{}, fmt.Errorf("a %T cannot be stored as a guid", v)
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

// toJSONText is the JSON text a dynamic column stores for v: JSON text as
// it is, plain text as a JSON string, other values marshalled; null for nil.
// Invalid JSON bytes (json.RawMessage) are refused.
func toJSONText(v any) (text string, null bool, err error) {
	switch x := v.(type) {
	case nil:
		return "", true, nil
	case json.RawMessage:
		if !json.Valid(x) {
			return "", false, fmt.Errorf("invalid JSON %q", string(x))
		}
		return string(x), false, nil
	case string:
		return dynamicText(x), false, nil
	case []byte:
		return dynamicText(string(x)), false, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", false, err
	}
	return string(b), false, nil
}

// dynamicText is the JSON text a dynamic column stores for text s: s when
// it is JSON text, otherwise s as a JSON string, as Kusto's dynamic keeps
// plain text. json.Valid only reads s, so s is not copied for it.
func dynamicText(s string) string {
	if json.Valid(unsafe.Slice(unsafe.StringData(s), len(s))) {
		return s
	}
	b, _ := json.Marshal(s) // a string always marshals
	return string(b)
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
