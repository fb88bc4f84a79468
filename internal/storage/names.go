package storage

import (
	"fmt"
	"strings"

	"odx/internal/kerr"
)

// DuckDB matches identifiers case-insensitively, Kusto does not: tables `T`
// and `t` are two tables. Physical names therefore encode Kusto names into
// lowercase-only identifiers, reversibly and without collisions:
//
//	a-z 0-9     themselves
//	_           __
//	A-Z         _ followed by the lowercase letter
//	other byte  _ followed by its three-digit decimal value
//
// A database D lives in the DuckDB schema "db_" + encode(D); a table T in the
// DuckDB table encode(T). Column names are kept as written (the compiler
// refers to them by their Kusto names), so a table cannot hold two columns
// that differ only in case.
func encodeName(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			b.WriteByte(c)
		case c == '_':
			b.WriteString("__")
		case c >= 'A' && c <= 'Z':
			b.WriteByte('_')
			b.WriteByte(c + ('a' - 'A'))
		default:
			fmt.Fprintf(&b, "_%03d", c)
		}
	}
	return b.String()
}

// decodeName reverses encodeName; ok is false for text encodeName cannot produce.
func decodeName(enc string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(enc); i++ {
		c := enc[i]
		if c != '_' {
			b.WriteByte(c)
			continue
		}
		if i+1 >= len(enc) {
			return "", false
		}
		n := enc[i+1]
		switch {
		case n == '_':
			b.WriteByte('_')
			i++
		case n >= 'a' && n <= 'z':
			b.WriteByte(n - ('a' - 'A'))
			i++
		case n >= '0' && n <= '9':
			if i+3 >= len(enc) {
				return "", false
			}
			var v int
			if _, err := fmt.Sscanf(enc[i+1:i+4], "%03d", &v); err != nil || v > 255 {
				return "", false
			}
			b.WriteByte(byte(v))
			i += 3
		default:
			return "", false
		}
	}
	return b.String(), true
}

// SchemaName is the DuckDB schema that holds database db.
func SchemaName(db string) string { return "db_" + encodeName(db) }

// TableName is the DuckDB table name (unqualified) that holds Kusto table t.
func TableName(t string) string { return encodeName(t) }

// ValidateName checks a Kusto entity name: 1 to 1024 letters, digits,
// underscores, dashes, dots or spaces (the characters Kusto allows in
// database, table, column and function names).
func ValidateName(kind, name string) error {
	if name == "" {
		return kerr.BadRequestf("%s name must not be empty", kind)
	}
	if len(name) > 1024 {
		return kerr.BadRequestf("%s name '%s...' is longer than 1024 characters", kind, name[:32])
	}
	for _, r := range name {
		ok := r == '_' || r == '-' || r == '.' || r == ' ' ||
			(r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') ||
			r > 127 // Kusto allows letters of any script
		if !ok {
			return kerr.BadRequestf("%s name '%s' is invalid: only letters, digits, '_', '-', '.' and spaces are allowed", kind, name)
		}
	}
	if strings.TrimSpace(name) != name {
		return kerr.BadRequestf("%s name '%s' must not begin or end with a space", kind, name)
	}
	return nil
}
