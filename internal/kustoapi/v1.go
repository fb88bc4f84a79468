package kustoapi

import (
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"

	"odx/internal/kerr"
	"odx/internal/kql/types"
	"odx/internal/result"
)

// The v1 protocol is one JSON object {"Tables":[...]}, every table
// {"TableName":"Table_N","Columns":[{"ColumnName","DataType","ColumnType"}],"Rows":[...]}.
// A query answer has its result tables, then QueryProperties and QueryStatus,
// and last the table of contents that tells clients which table is which.
// A command answer with one table has no table of contents.

// v1Encoder writes one v1 response.
type v1Encoder struct {
	w          *streamWriter
	pump       *pump
	flushBytes int
	req        *Request
	act        activity
	// query adds the QueryProperties/QueryStatus tables and the table of contents.
	query  bool
	tables int // tables written so far (for Table_N names)
}

type tocEntry struct {
	kind, name, id string
}

// encode writes the response. A query failure (reported inside the
// response) is returned as failure; err is a write error.
func (e *v1Encoder) encode(set *result.Set) (failure *kerr.Error, err error) {
	e.w.WriteString(`{"Tables":[`)
	var toc []tocEntry
	if len(set.Tables) == 0 && !e.query {
		// Clients reject a v1 answer without tables: a command that returns
		// nothing answers one empty table.
		if err := e.staticTable(nil, nil); err != nil {
			return nil, err
		}
	}
	for _, t := range set.Tables {
		name := t.Name()
		if name == "" {
			name = "PrimaryResult"
		}
		out, err := e.table(t)
		if err != nil {
			return out.failure, err
		}
		toc = append(toc, tocEntry{"QueryResult", name, uuid.NewString()})
		if out.failure != nil {
			failure = out.failure
			break
		}
	}
	if e.query {
		if err := e.staticTable(propertiesColumns, e.propertiesRows(set.Properties, len(toc))); err != nil {
			return failure, err
		}
		toc = append(toc, tocEntry{"QueryProperties", "@ExtendedProperties", uuid.NewString()})
		if err := e.staticTable(statusColumns, e.statusRows(set.Warnings, failure)); err != nil {
			return failure, err
		}
		toc = append(toc, tocEntry{"QueryStatus", "QueryStatus", "00000000-0000-0000-0000-000000000000"})
	}
	// Several tables need a table of contents, last (Go and Node rely on it).
	if len(toc) > 1 {
		var rows [][]any
		for i, entry := range toc {
			rows = append(rows, []any{int64(i), entry.kind, entry.name, entry.id, ""})
		}
		if err := e.staticTable(tocColumns, rows); err != nil {
			return failure, err
		}
	}
	e.w.WriteString("]")
	if failure != nil {
		// As the real service, repeat a partial failure at the top level,
		// where clients such as Go's look for it.
		b := append([]byte(`,"Exceptions":[`), appendString(nil, failure.Error())...)
		e.w.Write(append(b, ']'))
	}
	if _, err := e.w.WriteString("}"); err != nil {
		return failure, err
	}
	return failure, e.w.flush()
}

// tableStart writes the table's name and columns and opens its rows.
func (e *v1Encoder) tableStart(cols []result.Column) {
	if e.tables > 0 {
		e.w.WriteByte(',')
	}
	e.w.WriteString(`{"TableName":"Table_` + strconv.Itoa(e.tables) + `","Columns":[`)
	e.tables++
	var b []byte
	for i, c := range cols {
		if i > 0 {
			b = append(b, ',')
		}
		t := columnType(c.Type)
		b = append(b, `{"ColumnName":`...)
		b = appendString(b, c.Name)
		b = append(b, `,"DataType":"`...)
		b = append(b, t.DotNet()...)
		b = append(b, `","ColumnType":"`...)
		b = append(b, t.String()...)
		b = append(b, `"}`...)
	}
	e.w.Write(b)
	e.w.WriteString(`],"Rows":[`)
}

// table streams one result table. A failure after some rows is reported the
// way the real service does in v1: a last row {"Exceptions":["..."]}.
func (e *v1Encoder) table(t result.Table) (tableOutcome, error) {
	e.tableStart(t.Columns())
	written := 0
	out := e.pump.rows(t, func(row []byte) error {
		if written > 0 {
			e.w.WriteByte(',')
		}
		_, err := e.w.Write(row)
		written += len(row) + 1
		if err == nil && written >= e.flushBytes {
			written = 1
			err = e.w.flush()
		}
		return err
	})
	if out.writeErr != nil {
		return out, out.writeErr
	}
	if out.failure != nil {
		if out.rows > 0 {
			e.w.WriteByte(',')
		}
		b := append([]byte(`{"Exceptions":[`), appendString(nil, out.failure.Error())...)
		e.w.Write(append(b, "]}"...))
	}
	_, err := e.w.WriteString("]}")
	return out, err
}

// staticTable writes a small table built here (properties, status, contents).
func (e *v1Encoder) staticTable(cols []result.Column, rows [][]any) error {
	e.tableStart(cols)
	var b []byte
	for i, row := range rows {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		for j, v := range row {
			if j > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendValue(b, cols[j].Type, v, dynamicAsString); err != nil {
				return fmt.Errorf("v1 %s column: %w", cols[j].Name, err)
			}
		}
		b = append(b, ']')
	}
	e.w.Write(b)
	_, err := e.w.WriteString("]}")
	return err
}

// propertiesRows is the v1 QueryProperties table: the visualization JSON
// text, one row per result table as the real service writes it.
func (e *v1Encoder) propertiesRows(props map[string]any, tables int) [][]any {
	rows, err := extendedProperties(props)
	if err != nil {
		rows, _ = extendedProperties(nil)
	}
	out := [][]any{{rows[0][1]}}
	for len(out) < tables {
		out = append(out, out[0])
	}
	return out
}

func (e *v1Encoder) statusRows(warnings []string, failure *kerr.Error) [][]any {
	now := time.Now()
	var rows [][]any
	row := func(severity int32, name string, code int32, text string) {
		rows = append(rows, []any{now, severity, name, code, text, int32(1), e.act.ID, e.act.ID, e.act.SubID, e.act.ClientRequestID})
	}
	for _, w := range warnings {
		row(3, "Warning", 0, w)
	}
	if failure != nil {
		code := int32(-2146233088)
		if failure.Code == kerr.CodeLimitsExceeded {
			code = queryResultSetTooLargeHRESULT
		}
		row(2, "Error", code, failure.Error())
	} else {
		row(4, "Info", 0, "Query completed successfully")
	}
	return rows
}

var propertiesColumns = []result.Column{{Name: "Value", Type: types.String}}

var statusColumns = []result.Column{
	{Name: "Timestamp", Type: types.DateTime},
	{Name: "Severity", Type: types.Int},
	{Name: "SeverityName", Type: types.String},
	{Name: "StatusCode", Type: types.Int},
	{Name: "StatusDescription", Type: types.String},
	{Name: "Count", Type: types.Int},
	{Name: "RequestId", Type: types.Guid},
	{Name: "ActivityId", Type: types.Guid},
	{Name: "SubActivityId", Type: types.Guid},
	{Name: "ClientActivityId", Type: types.String},
}

var tocColumns = []result.Column{
	{Name: "Ordinal", Type: types.Long},
	{Name: "Kind", Type: types.String},
	{Name: "Name", Type: types.String},
	{Name: "Id", Type: types.String},
	{Name: "PrettyName", Type: types.String},
}
