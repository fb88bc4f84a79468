package kustoapi

import (
	"encoding/json"
	"fmt"
	"time"

	"odx/internal/kerr"
	"odx/internal/kql/types"
	"odx/internal/result"
)

// The v2 protocol is a JSON array of frames. This package writes one frame
// per line: `[` opens the first line, `,` every following one, and `]` is
// the last line. That is valid JSON for clients that read the whole body
// (Node, Python) and the exact layout Go azkustodata's streaming reader needs.

// Frame headers. Field order matters to azkustodata, which decodes the
// header properties positionally: FrameType first, Rows last.
type dataSetHeader struct {
	FrameType               string
	IsProgressive           bool
	Version                 string
	IsFragmented            bool
	ErrorReportingPlacement string
}

type v2Column struct {
	ColumnName string
	ColumnType string
}

type tableCompletion struct {
	FrameType    string
	TableId      int
	RowCount     int64
	OneApiErrors []oneAPIError `json:",omitempty"`
}

type dataSetCompletion struct {
	FrameType    string
	HasErrors    bool
	Cancelled    bool
	OneApiErrors []oneAPIError `json:",omitempty"`
}

// v2Encoder writes one v2 response.
type v2Encoder struct {
	w          *streamWriter
	pump       *pump
	fragmented bool
	// fragmentBytes is the size after which a TableFragment is closed and
	// flushed, so that a client sees rows while the query still runs.
	fragmentBytes int
	started       bool
	req           *Request
	act           activity
	begun         time.Time
}

// frameStart writes the line prefix of the next frame.
func (e *v2Encoder) frameStart() {
	if e.started {
		e.w.WriteByte(',')
	} else {
		e.w.WriteByte('[')
		e.started = true
	}
}

// frame writes a whole frame given as a JSON-able struct.
func (e *v2Encoder) frame(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	e.frameStart()
	e.w.Write(b)
	return e.w.WriteByte('\n')
}

// encode writes the whole data set. A query failure (reported inside the
// frames) is returned as failure; err is a write error (the client went away).
func (e *v2Encoder) encode(set *result.Set) (failure *kerr.Error, err error) {
	if err = e.frame(dataSetHeader{
		FrameType: "DataSetHeader", Version: "v2.0", IsFragmented: e.fragmented,
		// odx always reports errors after the rows of the table they ended.
		ErrorReportingPlacement: "EndOfTable",
	}); err != nil {
		return nil, err
	}
	if err = e.queryProperties(set.Properties); err != nil {
		return nil, err
	}
	nextID := 1
	var stats []tableStats
	for _, t := range set.Tables {
		id := nextID
		nextID++
		out, err := e.table(id, t)
		if err != nil {
			return out.failure, err
		}
		stats = append(stats, tableStats{rows: out.rows})
		if out.failure != nil {
			failure = out.failure
			break // the real service stops the query at its first failure
		}
	}
	if err = e.completionInformation(nextID, set.Warnings, failure, stats); err != nil {
		return failure, err
	}
	dc := dataSetCompletion{FrameType: "DataSetCompletion"}
	if failure != nil {
		dc.HasErrors = true
		dc.Cancelled = failure.Code == kerr.CodeTimeout
		dc.OneApiErrors = []oneAPIError{buildError(failure, e.req, e.act)}
	}
	if err = e.frame(dc); err != nil {
		return failure, err
	}
	if _, err = e.w.WriteString("]\n"); err != nil {
		return failure, err
	}
	return failure, e.w.flush()
}

// visualizationDefaults is the `Visualization` property the real service
// sends when a query has no `render`.
func visualizationDefaults() map[string]any {
	return map[string]any{
		"Visualization": nil, "Title": nil, "XColumn": nil, "Series": nil, "YColumns": nil,
		"AnomalyColumns": nil, "XTitle": nil, "YTitle": nil, "XAxis": nil, "YAxis": nil,
		"Legend": nil, "YSplit": nil, "Accumulate": false, "IsQuerySorted": false, "Kind": nil,
		"Ymin": "NaN", "Ymax": "NaN", "Xmin": nil, "Xmax": nil,
	}
}

// extendedProperties returns the rows of the `@ExtendedProperties` table:
// (key, JSON text) pairs, Visualization first.
func extendedProperties(props map[string]any) ([][2]string, error) {
	vis := visualizationDefaults()
	if v, ok := props["Visualization"]; ok {
		switch x := v.(type) {
		case map[string]any:
			for k, val := range x {
				vis[k] = val
			}
		case nil:
		default:
			// A bare kind such as "timechart".
			vis["Visualization"] = x
		}
	}
	b, err := json.Marshal(vis)
	if err != nil {
		return nil, fmt.Errorf("visualization property: %w", err)
	}
	rows := [][2]string{{"Visualization", string(b)}}
	for k, v := range props {
		if k == "Visualization" {
			continue
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("property %s: %w", k, err)
		}
		rows = append(rows, [2]string{k, string(b)})
	}
	return rows, nil
}

// queryProperties writes the QueryProperties DataTable (table 0).
func (e *v2Encoder) queryProperties(props map[string]any) error {
	rows, err := extendedProperties(props)
	if err != nil {
		// Properties are decoration: a bad one must not fail the query.
		rows, _ = extendedProperties(nil)
	}
	b := []byte(`{"FrameType":"DataTable","TableId":0,"TableKind":"QueryProperties","TableName":"@ExtendedProperties","Columns":[{"ColumnName":"TableId","ColumnType":"int"},{"ColumnName":"Key","ColumnType":"string"},{"ColumnName":"Value","ColumnType":"dynamic"}],"Rows":[`)
	for i, r := range rows {
		if i > 0 {
			b = append(b, ',')
		}
		// The value is the JSON text as a string, as the real service writes it.
		b = append(b, `[1,`...)
		b = appendString(b, r[0])
		b = append(b, ',')
		b = appendString(b, r[1])
		b = append(b, ']')
	}
	b = append(b, "]}\n"...)
	e.frameStart()
	_, err = e.w.Write(b)
	return err
}

// table writes one primary result table, fragmented or as a DataTable.
func (e *v2Encoder) table(id int, t result.Table) (tableOutcome, error) {
	name := t.Name()
	if name == "" {
		name = "PrimaryResult"
	}
	head, err := json.Marshal(struct {
		TableId   int
		TableKind string
		TableName string
		Columns   []v2Column
	}{id, "PrimaryResult", name, v2Columns(t.Columns())})
	if err != nil {
		return tableOutcome{}, err
	}
	head = head[1 : len(head)-1] // the fields, without braces

	if !e.fragmented {
		return e.dataTable(head, t)
	}

	e.frameStart()
	e.w.WriteString(`{"FrameType":"TableHeader",`)
	e.w.Write(head)
	if _, err := e.w.WriteString("}\n"); err != nil {
		return tableOutcome{}, err
	}
	fragmentPrefix := fmt.Sprintf(`{"FrameType":"TableFragment","TableFragmentType":"DataAppend","TableId":%d,"Rows":[`, id)
	open := false // inside a TableFragment
	written := 0  // bytes of rows in the open fragment
	out := e.pump.rows(t, func(row []byte) error {
		if open {
			e.w.WriteByte(',')
		} else {
			e.frameStart()
			e.w.WriteString(fragmentPrefix)
			open, written = true, 0
		}
		_, err := e.w.Write(row)
		written += len(row)
		if err == nil && written >= e.fragmentBytes {
			open = false
			e.w.WriteString("]}\n")
			err = e.w.flush()
		}
		return err
	})
	if out.writeErr != nil {
		return out, out.writeErr
	}
	if open {
		e.w.WriteString("]}\n")
	}
	tc := tableCompletion{FrameType: "TableCompletion", TableId: id, RowCount: out.rows}
	if out.failure != nil {
		tc.OneApiErrors = []oneAPIError{buildError(out.failure, e.req, e.act)}
	}
	if err := e.frame(tc); err != nil {
		return out, err
	}
	return out, e.w.flush()
}

// dataTable writes a primary table as one DataTable frame, for clients that
// do not ask for fragments. The frame is still streamed: rows go to the
// wire as they are pulled, the frame is just one long line.
func (e *v2Encoder) dataTable(head []byte, t result.Table) (tableOutcome, error) {
	e.frameStart()
	e.w.WriteString(`{"FrameType":"DataTable",`)
	e.w.Write(head)
	if _, err := e.w.WriteString(`,"Rows":[`); err != nil {
		return tableOutcome{}, err
	}
	written := 0
	out := e.pump.rows(t, func(row []byte) error {
		if written > 0 {
			e.w.WriteByte(',')
		}
		_, err := e.w.Write(row)
		written += len(row) + 1
		if err == nil && written >= e.fragmentBytes {
			written = 1
			err = e.w.flush()
		}
		return err
	})
	if out.writeErr != nil {
		return out, out.writeErr
	}
	_, err := e.w.WriteString("]}\n")
	return out, err
}

func v2Columns(cols []result.Column) []v2Column {
	out := make([]v2Column, len(cols))
	for i, c := range cols {
		out[i] = v2Column{ColumnName: c.Name, ColumnType: columnType(c.Type).String()}
	}
	return out
}

// tableStats feeds the QueryResourceConsumption payload.
type tableStats struct{ rows int64 }

// completionInformation writes the QueryCompletionInformation DataTable.
func (e *v2Encoder) completionInformation(id int, warnings []string, failure *kerr.Error, stats []tableStats) error {
	now := time.Now()
	type event struct {
		level      int
		levelName  string
		status     int
		statusName string
		eventType  int
		eventName  string
		payload    any
	}
	var events []event
	for _, w := range warnings {
		events = append(events, event{3, "Warning", 0, "S_OK (0)", 4, "QueryInfo", map[string]any{"Count": 1, "Text": w}})
	}
	if failure != nil {
		status, statusName := -2146233088, failure.Code // COR_E_EXCEPTION
		if failure.Code == kerr.CodeLimitsExceeded {
			status, statusName = queryResultSetTooLargeHRESULT, "E_QUERY_RESULT_SET_TOO_LARGE (0x80DA0003)"
		}
		events = append(events, event{2, "Error", status, statusName, 4, "QueryInfo", map[string]any{"Count": 1, "Text": failure.Error()}})
	} else {
		events = append(events, event{4, "Info", 0, "S_OK (0)", 4, "QueryInfo", map[string]any{"Count": 1, "Text": "Query completed successfully"}})
	}
	events = append(events, event{4, "Info", 0, "S_OK (0)", 5, "WorkloadGroup", map[string]any{"Count": 1, "Text": "default"}})
	var datasetStats []map[string]any
	for _, s := range stats {
		datasetStats = append(datasetStats, map[string]any{"table_row_count": s.rows, "table_size": 0})
	}
	events = append(events, event{6, "Stats", 0, "S_OK (0)", 0, "QueryResourceConsumption", map[string]any{
		"ExecutionTime":      now.Sub(e.begun).Seconds(),
		"dataset_statistics": datasetStats,
	}})

	b := fmt.Appendf(nil, `{"FrameType":"DataTable","TableId":%d,"TableKind":"QueryCompletionInformation","TableName":"QueryCompletionInformation","Columns":[`, id)
	for i, c := range completionColumns {
		if i > 0 {
			b = append(b, ',')
		}
		b = fmt.Appendf(b, `{"ColumnName":%q,"ColumnType":%q}`, c.Name, c.Type.String())
	}
	b = append(b, `],"Rows":[`...)
	ts := types.FormatDateTime(now)
	for i, ev := range events {
		if i > 0 {
			b = append(b, ',')
		}
		payload, _ := json.Marshal(ev.payload)
		b = append(b, '[')
		b = appendString(b, ts)
		for _, s := range []string{e.act.ClientRequestID, e.act.ID, e.act.SubID, e.act.ParentID} {
			b = append(b, ',')
			b = appendString(b, s)
		}
		b = fmt.Appendf(b, ",%d,", ev.level)
		b = appendString(b, ev.levelName)
		b = fmt.Appendf(b, ",%d,", ev.status)
		b = appendString(b, ev.statusName)
		b = fmt.Appendf(b, ",%d,", ev.eventType)
		b = appendString(b, ev.eventName)
		b = append(b, ',')
		b = appendString(b, string(payload))
		b = append(b, ']')
	}
	b = append(b, "]}\n"...)
	e.frameStart()
	_, err := e.w.Write(b)
	return err
}

var completionColumns = []result.Column{
	{Name: "Timestamp", Type: types.DateTime},
	{Name: "ClientRequestId", Type: types.String},
	{Name: "ActivityId", Type: types.Guid},
	{Name: "SubActivityId", Type: types.Guid},
	{Name: "ParentActivityId", Type: types.Guid},
	{Name: "Level", Type: types.Int},
	{Name: "LevelName", Type: types.String},
	{Name: "StatusCode", Type: types.Int},
	{Name: "StatusCodeName", Type: types.String},
	{Name: "EventType", Type: types.Int},
	{Name: "EventTypeName", Type: types.String},
	{Name: "Payload", Type: types.String},
}
