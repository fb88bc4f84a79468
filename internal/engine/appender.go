package engine

import (
	"database/sql/driver"
	"encoding/json"
	"strconv"
	"strings"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// openAppender opens the driver's appender on schema.table. When the
// caller gave the column types and some are JSON, it appends those as
// VARCHAR through a query appender (INSERT ... SELECT col::JSON): the
// driver's own JSON columns marshal every value again with encoding/json,
// which cost more than the rest of appending a dynamic value, while
// DuckDB's cast checks the text in C++. convs is changed in place for the
// JSON columns.
func openAppender(conn driver.Conn, schema, table string, types []string, convs []converter) (*duckdb.Appender, error) {
	infos, cols, ok := queryAppenderColumns(types)
	if !ok {
		return duckdb.NewAppender(conn, "", schema, table)
	}
	for i, typ := range types {
		if typ == "JSON" {
			convs[i] = toJSONText
		}
	}
	query := "INSERT INTO " + QuoteIdent(schema) + "." + QuoteIdent(table) + " SELECT " + strings.Join(cols, ", ") + " FROM appended_data"
	return duckdb.NewQueryAppender(conn, query, "", infos, nil)
}

// queryAppenderColumns returns the appended columns' types and select
// list for a table with JSON columns; ok is false when the table has none,
// or a type this path does not know (the plain appender takes those).
func queryAppenderColumns(types []string) (infos []duckdb.TypeInfo, cols []string, ok bool) {
	hasJSON := false
	for i, typ := range types {
		col := "col" + strconv.Itoa(i+1)
		var info duckdb.TypeInfo
		var err error
		switch typ {
		case "JSON":
			hasJSON = true
			info, err = duckdb.NewTypeInfo(duckdb.TYPE_VARCHAR)
			col += "::JSON"
		case "BOOLEAN":
			info, err = duckdb.NewTypeInfo(duckdb.TYPE_BOOLEAN)
		case "INTEGER":
			info, err = duckdb.NewTypeInfo(duckdb.TYPE_INTEGER)
		case "BIGINT":
			info, err = duckdb.NewTypeInfo(duckdb.TYPE_BIGINT)
		case "DOUBLE":
			info, err = duckdb.NewTypeInfo(duckdb.TYPE_DOUBLE)
		case "VARCHAR":
			info, err = duckdb.NewTypeInfo(duckdb.TYPE_VARCHAR)
		case "UUID":
			info, err = duckdb.NewTypeInfo(duckdb.TYPE_UUID)
		case "DECIMAL(38,10)":
			info, err = duckdb.NewDecimalInfo(38, 10)
		default:
			return nil, nil, false
		}
		if err != nil {
			return nil, nil, false
		}
		infos = append(infos, info)
		cols = append(cols, col)
	}
	return infos, cols, hasJSON
}

// toJSONText is toJSON for a JSON column appended as VARCHAR: the text the
// driver's JSON column would have stored (JSON text as it is, plain text
// as a JSON string, other values marshalled).
func toJSONText(v any) (any, error) {
	j, err := toJSON(v)
	if err != nil || j == nil {
		return j, err
	}
	if raw, ok := j.(json.RawMessage); ok {
		return string(raw), nil
	}
	b, err := json.Marshal(j)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}
