package kustoapi_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"odx/internal/kerr"
	"odx/internal/kustoapi"
	"odx/internal/result"
)

// post sends body to path and returns the status and the response body.
func post(t *testing.T, client *http.Client, url, body string, header map[string]string) (int, []byte, http.Header) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b, resp.Header
}

func wireExecutor() *fakeExecutor {
	return &fakeExecutor{answers: map[string]func(context.Context) (*result.Set, error){
		"AllTypes": answer(allTypes),
		"Three":    threeTables(),
		".three":   threeTables(),
		"T | whre x": func(context.Context) (*result.Set, error) {
			return nil, kerr.Syntax(1, 5, "expected a query operator, found 'whre'")
		},
		"Failing": answer(func() result.Table { return &counting{n: 10, failAt: 3} }),
		"Ten":     answer(func() result.Table { return &counting{n: 10} }),
		"Render": func(context.Context) (*result.Set, error) {
			return &result.Set{
				Tables:     []result.Table{&counting{n: 2}},
				Properties: map[string]any{"Visualization": map[string]any{"Visualization": "timechart", "Title": "t"}},
				Warnings:   []string{"partial data"},
			}, nil
		},
		"Bad": func(context.Context) (*result.Set, error) {
			return nil, kerr.Semantic("SEM0100", 2, 3, "'Foo' operator: Failed to resolve scalar expression named 'x'")
		},
	}}
}

// TestV2NonFragmentedLayout checks what Node and Python parse: a JSON array
// of frames with the primary result as a DataTable, one frame per line.
func TestV2NonFragmentedLayout(t *testing.T) {
	srv := newServer(t, wireExecutor())
	status, body, hdr := post(t, srv.Client(), srv.URL+"/v2/rest/query", `{"db":"db","csl":"Render"}`, map[string]string{"x-ms-client-request-id": "KNC.execute;abc"})
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	if hdr.Get("x-ms-client-request-id") != "KNC.execute;abc" || hdr.Get("x-ms-activity-id") == "" {
		t.Errorf("response headers = %v", hdr)
	}
	lines := strings.Split(strings.TrimSuffix(string(body), "\n"), "\n")
	if !strings.HasPrefix(lines[0], "[{") || lines[len(lines)-1] != "]" {
		t.Errorf("layout: first line %q, last line %q", lines[0], lines[len(lines)-1])
	}
	for _, l := range lines[1 : len(lines)-1] {
		if !strings.HasPrefix(l, ",{") {
			t.Errorf("frame line does not start with ',{': %.60s", l)
		}
	}
	var frames []map[string]any
	if err := json.Unmarshal(body, &frames); err != nil {
		t.Fatalf("body is not a JSON array: %v", err)
	}
	var kinds []string
	for _, f := range frames {
		k := f["FrameType"].(string)
		if tk, ok := f["TableKind"]; ok {
			k += "/" + tk.(string)
		}
		kinds = append(kinds, k)
	}
	want := "DataSetHeader DataTable/QueryProperties DataTable/PrimaryResult DataTable/QueryCompletionInformation DataSetCompletion"
	if strings.Join(kinds, " ") != want {
		t.Fatalf("frames = %v, want %s", kinds, want)
	}
	if !strings.HasPrefix(lines[0], `[{"FrameType":"DataSetHeader","IsProgressive":false,"Version":"v2.0","IsFragmented":false,"ErrorReportingPlacement":"EndOfTable"}`) {
		t.Errorf("DataSetHeader = %s", lines[0])
	}
	if !strings.HasPrefix(lines[2], `,{"FrameType":"DataTable","TableId":1,"TableKind":"PrimaryResult","TableName":"PrimaryResult","Columns":[{"ColumnName":"n","ColumnType":"long"},{"ColumnName":"s","ColumnType":"string"}],"Rows":[[0,"row"],[1,"row"]]}`) {
		t.Errorf("primary DataTable = %s", lines[2])
	}

	// The visualization from Set.Properties, as JSON text in the Value column.
	props := frames[1]["Rows"].([]any)[0].([]any)
	var vis map[string]any
	if err := json.Unmarshal([]byte(props[2].(string)), &vis); err != nil || props[1] != "Visualization" {
		t.Fatalf("QueryProperties row = %v", props)
	}
	if vis["Visualization"] != "timechart" || vis["Title"] != "t" || vis["Ymin"] != "NaN" {
		t.Errorf("visualization = %v", vis)
	}

	// QueryCompletionInformation: the warning, success info, stats.
	qci := frames[3]
	cols := qci["Columns"].([]any)
	var names []string
	for _, c := range cols {
		names = append(names, c.(map[string]any)["ColumnName"].(string))
	}
	if strings.Join(names, ",") != "Timestamp,ClientRequestId,ActivityId,SubActivityId,ParentActivityId,Level,LevelName,StatusCode,StatusCodeName,EventType,EventTypeName,Payload" {
		t.Errorf("QueryCompletionInformation columns = %v", names)
	}
	levels := map[float64]bool{}
	for _, r := range qci["Rows"].([]any) {
		row := r.([]any)
		levels[row[5].(float64)] = true
		if row[1] != "KNC.execute;abc" {
			t.Errorf("ClientRequestId = %v", row[1])
		}
	}
	if !levels[3] || !levels[4] || levels[2] {
		t.Errorf("levels = %v, want a warning (3) and info (4), no error (2)", levels)
	}
	if frames[4]["HasErrors"] != false {
		t.Errorf("DataSetCompletion = %v", frames[4])
	}
}

func TestV2FragmentedMidStreamError(t *testing.T) {
	srv := newServer(t, wireExecutor())
	status, body, _ := post(t, srv.Client(), srv.URL+"/v2/rest/query",
		`{"db":"db","csl":"Failing","properties":{"Options":{"results_v2_fragment_primary_tables":true}}}`, nil)
	if status != 200 {
		t.Fatalf("status %d", status)
	}
	var frames []map[string]any
	if err := json.Unmarshal(body, &frames); err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, f := range frames {
		kinds = append(kinds, f["FrameType"].(string))
	}
	if strings.Join(kinds, " ") != "DataSetHeader DataTable TableHeader TableFragment TableCompletion DataTable DataSetCompletion" {
		t.Fatalf("frames = %v", kinds)
	}
	if n := len(frames[3]["Rows"].([]any)); n != 3 {
		t.Errorf("fragment has %d rows, want the 3 before the failure", n)
	}
	tc := frames[4]
	if tc["RowCount"].(float64) != 3 {
		t.Errorf("TableCompletion RowCount = %v", tc["RowCount"])
	}
	errs, _ := tc["OneApiErrors"].([]any)
	if len(errs) != 1 || !strings.Contains(string(mustJSON(errs[0])), "disk on fire") {
		t.Errorf("TableCompletion errors = %v", errs)
	}
	dc := frames[6]
	if dc["HasErrors"] != true || len(dc["OneApiErrors"].([]any)) != 1 {
		t.Errorf("DataSetCompletion = %v", dc)
	}
	e := dc["OneApiErrors"].([]any)[0].(map[string]any)["error"].(map[string]any)
	for _, k := range []string{"code", "message", "@type", "@message", "@context", "@permanent"} {
		if _, ok := e[k]; !ok {
			t.Errorf("OneApiError lacks %s: %v", k, e)
		}
	}
	hasErrorLevel := false
	for _, r := range frames[5]["Rows"].([]any) {
		if r.([]any)[5].(float64) == 2 {
			hasErrorLevel = true
		}
	}
	if !hasErrorLevel {
		t.Errorf("QueryCompletionInformation has no Level 2 row (Node counts those as errors)")
	}
}

// TestV2Truncation checks the partial-failure answer for a result over the limit.
func TestV2Truncation(t *testing.T) {
	srv := newServer(t, wireExecutor())
	_, body, _ := post(t, srv.Client(), srv.URL+"/v2/rest/query",
		`{"db":"db","csl":"Ten","properties":{"Options":{"truncationmaxrecords":"5"}}}`, nil)
	var frames []map[string]any
	if err := json.Unmarshal(body, &frames); err != nil {
		t.Fatal(err)
	}
	if n := len(frames[2]["Rows"].([]any)); n != 5 {
		t.Errorf("primary table has %d rows, want 5", n)
	}
	dc := frames[len(frames)-1]
	e := dc["OneApiErrors"].([]any)[0].(map[string]any)["error"].(map[string]any)
	if e["code"] != "LimitsExceeded" || e["@type"] != "Kusto.Data.Exceptions.KustoServicePartialQueryFailureLimitsExceededException" || e["@permanent"] != false ||
		!strings.Contains(e["message"].(string), "E_QUERY_RESULT_SET_TOO_LARGE") {
		t.Errorf("truncation error = %v", e)
	}

	// The size limit too: each row [n,"row"] is 9-10 bytes.
	_, body, _ = post(t, srv.Client(), srv.URL+"/v2/rest/query",
		`{"db":"db","csl":"Ten","properties":{"Options":{"truncationmaxsize":30}}}`, nil)
	frames = nil
	if err := json.Unmarshal(body, &frames); err != nil {
		t.Fatal(err)
	}
	if n := len(frames[2]["Rows"].([]any)); n != 3 {
		t.Errorf("size-truncated table has %d rows, want 3", n)
	}
	if frames[len(frames)-1]["HasErrors"] != true {
		t.Errorf("size truncation not reported")
	}
}

func TestErrorResponses(t *testing.T) {
	srv := newServer(t, wireExecutor())
	cases := []struct {
		name, path, body string
		status           int
		code             string
	}{
		{"not json", "/v2/rest/query", `db=x&csl=y`, 400, kerr.CodeBadRequest},
		{"no csl", "/v1/rest/mgmt", `{"db":"x"}`, 400, kerr.CodeBadRequest},
		{"bad properties", "/v1/rest/query", `{"db":"x","csl":"Ten","properties":[1]}`, 400, kerr.CodeBadRequest},
		{"bad servertimeout", "/v2/rest/query", `{"db":"x","csl":"Ten","properties":{"Options":{"servertimeout":"soon"}}}`, 400, kerr.CodeBadRequest},
		{"semantic", "/v2/rest/query", `{"db":"x","csl":"Bad"}`, 400, kerr.CodeSemantic},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body, hdr := post(t, srv.Client(), srv.URL+c.path, c.body, nil)
			if status != c.status {
				t.Errorf("status = %d, want %d (%s)", status, c.status, body)
			}
			if !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") {
				t.Errorf("content type = %q", hdr.Get("Content-Type"))
			}
			var resp struct {
				Error map[string]any `json:"error"`
			}
			if err := json.Unmarshal(body, &resp); err != nil {
				t.Fatalf("error body is not JSON: %s", body)
			}
			if resp.Error["code"] != c.code {
				t.Errorf("code = %v, want %s", resp.Error["code"], c.code)
			}
			ctx, _ := resp.Error["@context"].(map[string]any)
			for _, k := range []string{"timestamp", "serviceAlias", "machineName", "processName", "processId", "threadId", "clientRequestId", "activityId", "subActivityId", "activityType", "parentActivityId", "activityStack"} {
				if _, ok := ctx[k]; !ok {
					t.Errorf("@context lacks %s", k)
				}
			}
			if resp.Error["@permanent"] != true {
				t.Errorf("a bad request must be permanent")
			}
		})
	}
	_, body, _ := post(t, srv.Client(), srv.URL+"/v2/rest/query", `{"db":"x","csl":"Bad"}`, nil)
	var resp struct {
		Error map[string]any `json:"error"`
	}
	_ = json.Unmarshal(body, &resp)
	if resp.Error["@errorCode"] != "SEM0100" || resp.Error["@line"] != "2" || resp.Error["@pos"] != "3" ||
		resp.Error["@type"] != "Kusto.Data.Exceptions.SemanticException" {
		t.Errorf("semantic error fields = %v", resp.Error)
	}
}

func TestRequestForms(t *testing.T) {
	exec := wireExecutor()
	srv := newServer(t, exec)

	// Legacy string-encoded properties, gzip request body.
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	_, _ = w.Write([]byte(`{"db":"db1","csl":"Ten","properties":"{\"Options\":{\"servertimeout\":\"00:00:30\",\"custom\":1},\"Parameters\":{\"p\":\"int(3)\"}}"}`))
	_ = w.Close()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/rest/query", &gz)
	req.Header.Set("Content-Encoding", "gzip")
	req.Header.Set("x-ms-app", "tester")
	req.Header.Set("x-ms-user", "me")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	got := exec.lastRequest()
	if got.Database != "db1" || got.Parameters["p"] != "int(3)" || got.Options["custom"] != float64(1) ||
		got.Application != "tester" || got.User != "me" || got.ClientRequestID == "" {
		t.Errorf("request = %+v", got)
	}
	if dl, ok := exec.lastCtx.Deadline(); !ok || time.Until(dl) > 30*time.Second || time.Until(dl) < 20*time.Second {
		t.Errorf("servertimeout 00:00:30 gave the executor the deadline %v", dl)
	}
	if status, _, _ := post(t, srv.Client(), srv.URL+"/v1/rest/mgmt", `{"db":"db","csl":"Ten","properties":{"Options":{"norequesttimeout":true}}}`, nil); status != 200 {
		t.Fatalf("norequesttimeout: status %d", status)
	}
	if dl, _ := exec.lastCtx.Deadline(); time.Until(dl) < 50*time.Minute {
		t.Errorf("norequesttimeout gave the deadline %v, want the 1 h maximum", dl)
	}

	// v1 query: result table, QueryProperties, QueryStatus, table of contents.
	var v1 struct {
		Tables []struct {
			TableName string
			Columns   []map[string]string
			Rows      []json.RawMessage
		}
	}
	if err := json.Unmarshal(body, &v1); err != nil {
		t.Fatalf("v1 body: %v", err)
	}
	if len(v1.Tables) != 4 {
		t.Fatalf("v1 query has %d tables, want 4", len(v1.Tables))
	}
	for i, tb := range v1.Tables {
		if tb.TableName != "Table_"+string(rune('0'+i)) {
			t.Errorf("table %d named %s", i, tb.TableName)
		}
	}
	if c := v1.Tables[0].Columns[0]; c["ColumnName"] != "n" || c["DataType"] != "Int64" || c["ColumnType"] != "long" {
		t.Errorf("v1 column = %v", c)
	}
	toc := v1.Tables[3]
	if len(toc.Rows) != 3 || !strings.Contains(string(toc.Rows[0]), `"QueryResult","PrimaryResult"`) ||
		!strings.Contains(string(toc.Rows[2]), `"QueryStatus"`) {
		t.Errorf("table of contents = %s", toc.Rows)
	}

	// GET with query-string parameters.
	resp, err = srv.Client().Get(srv.URL + "/v2/rest/query?db=db2&csl=Ten")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || exec.lastRequest().Database != "db2" {
		t.Errorf("GET: status %d, db %q", resp.StatusCode, exec.lastRequest().Database)
	}
}

func TestV1MidStreamFailure(t *testing.T) {
	srv := newServer(t, wireExecutor())
	_, body, _ := post(t, srv.Client(), srv.URL+"/v1/rest/mgmt", `{"db":"db","csl":"Failing"}`, nil)
	var v1 struct {
		Tables []struct{ Rows []json.RawMessage }
	}
	if err := json.Unmarshal(body, &v1); err != nil {
		t.Fatalf("v1 body: %v (%s)", err, body)
	}
	rows := v1.Tables[0].Rows
	if len(rows) != 4 || !strings.Contains(string(rows[3]), `{"Exceptions":["`) || !strings.Contains(string(rows[3]), "disk on fire") {
		t.Errorf("rows = %s", rows)
	}
}

func TestAuthMetadata(t *testing.T) {
	srv := newServer(t, wireExecutor())
	resp, err := srv.Client().Get(srv.URL + "/v1/rest/auth/metadata")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var md struct{ AzureAD map[string]any }
	if err := json.NewDecoder(resp.Body).Decode(&md); err != nil {
		t.Fatal(err)
	}
	if md.AzureAD["LoginEndpoint"] != "https://login.example" || md.AzureAD["KustoServiceResourceId"] != "https://kusto.example" ||
		md.AzureAD["LoginMfaRequired"] != false || md.AzureAD["KustoClientAppId"] == "" {
		t.Errorf("metadata = %v", md.AzureAD)
	}
}

func TestGzipResponse(t *testing.T) {
	srv := newServer(t, wireExecutor(), func(o *kustoapi.Options) { o.Gzip = true })
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v2/rest/query", strings.NewReader(`{"db":"db","csl":"AllTypes"}`))
	req.Header.Set("Accept-Encoding", "gzip, deflate")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("Content-Encoding = %q", resp.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var frames []map[string]any
	if err := json.NewDecoder(zr).Decode(&frames); err != nil || len(frames) != 5 {
		t.Errorf("gzip body: %d frames, %v", len(frames), err)
	}
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

func TestEmptyAndPanickingExecutors(t *testing.T) {
	exec := &fakeExecutor{answers: map[string]func(context.Context) (*result.Set, error){
		".nothing": func(context.Context) (*result.Set, error) { return nil, nil },
		"Panic":    func(context.Context) (*result.Set, error) { panic("executor bug") },
	}}
	srv := newServer(t, exec)

	status, body, _ := post(t, srv.Client(), srv.URL+"/v1/rest/mgmt", `{"db":"db","csl":".nothing"}`, nil)
	var v1 struct {
		Tables []struct{ Rows []json.RawMessage }
	}
	if err := json.Unmarshal(body, &v1); err != nil || status != 200 || len(v1.Tables) != 1 || len(v1.Tables[0].Rows) != 0 {
		t.Errorf("empty command answer: status %d, %s", status, body)
	}
	status, body, _ = post(t, srv.Client(), srv.URL+"/v2/rest/query", `{"db":"db","csl":".nothing"}`, nil)
	var frames []map[string]any
	if err := json.Unmarshal(body, &frames); err != nil || status != 200 || len(frames) != 4 {
		t.Errorf("empty query answer: status %d, %s", status, body)
	}

	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v2/rest/query", strings.NewReader(`{"db":"db","csl":"Panic"}`))
	if resp, err := srv.Client().Do(req); err == nil {
		resp.Body.Close()
		t.Errorf("a panicking executor answered %d; the connection should be aborted", resp.StatusCode)
	}
	// The server still serves.
	if status, _, _ := post(t, srv.Client(), srv.URL+"/v1/rest/mgmt", `{"db":"db","csl":".nothing"}`, nil); status != 200 {
		t.Errorf("after a panic: status %d", status)
	}
}
