package kustoapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"odx/internal/kql/types"
	"odx/internal/kustoapi"
	"odx/internal/result"
)

// fakeExecutor answers by the last line of the request text (the Go client
// puts a `declare query_parameters` line before the query).
type fakeExecutor struct {
	mu      sync.Mutex
	last    *kustoapi.Request
	lastCtx context.Context
	answers map[string]func(ctx context.Context) (*result.Set, error)
}

func (f *fakeExecutor) run(ctx context.Context, req *kustoapi.Request) (*result.Set, error) {
	f.mu.Lock()
	f.last, f.lastCtx = req, ctx
	f.mu.Unlock()
	lines := strings.Split(strings.TrimSpace(req.Text), "\n")
	key := strings.TrimSpace(lines[len(lines)-1])
	answer, ok := f.answers[key]
	if !ok {
		return nil, errors.New("fake executor: no answer for " + key)
	}
	return answer(ctx)
}

func (f *fakeExecutor) Query(ctx context.Context, req *kustoapi.Request) (*result.Set, error) {
	return f.run(ctx, req)
}

func (f *fakeExecutor) Mgmt(ctx context.Context, req *kustoapi.Request) (*result.Set, error) {
	return f.run(ctx, req)
}

func (f *fakeExecutor) lastRequest() *kustoapi.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last
}

// allTypesColumns has one column of every Kusto type.
var allTypesColumns = []result.Column{
	{Name: "b", Type: types.Bool},
	{Name: "i", Type: types.Int},
	{Name: "l", Type: types.Long},
	{Name: "r", Type: types.Real},
	{Name: "d", Type: types.Decimal},
	{Name: "dt", Type: types.DateTime},
	{Name: "ts", Type: types.TimeSpan},
	{Name: "s", Type: types.String},
	{Name: "g", Type: types.Guid},
	{Name: "dyn", Type: types.Dynamic},
}

var sampleTime = time.Date(2024, 2, 29, 13, 14, 15, 123456700, time.UTC)

// ticks: 1 day, 2 h, 3 min, 4.5 s
const sampleTicks = 1*864_000_000_000 + 2*36_000_000_000 + 3*600_000_000 + 45_000_000

func allTypesTable() *result.Static {
	return &result.Static{
		TableName: "PrimaryResult",
		Cols:      allTypesColumns,
		Rows: [][]any{
			{true, int32(-7), int64(1) << 53, 2.5, "12345678901234567890.123", sampleTime, int64(sampleTicks),
				"line1\nline2 \"quoted\" é", "0b2a1b3c-4d5e-4f60-8a7b-9c8d7e6f5a4b", json.RawMessage("{\n  \"a\": [1, 2, {\"b\": null}]\n}")},
			{nil, nil, nil, nil, nil, nil, nil, nil, nil, nil},
			{false, int32(math.MaxInt32), int64(math.MinInt64), math.NaN(), "-0.5", time.Unix(0, 0).UTC(), int64(-sampleTicks),
				"", "00000000-0000-0000-0000-000000000000", "[1,\"x\"]"},
			{false, int32(0), int64(0), math.Inf(1), "0", sampleTime, int64(0), "x", "ffffffff-ffff-ffff-ffff-ffffffffffff", map[string]any{"k": "v"}},
			{false, int32(0), int64(0), math.Inf(-1), "0", sampleTime, int64(1), "y", "ffffffff-ffff-ffff-ffff-ffffffffffff", "plain text"},
		},
	}
}

// counting yields n rows `(n:long, s:string)` and can fail after failAt rows.
type counting struct {
	n, failAt, pos int
	row            []any
}

func (c *counting) Name() string { return "PrimaryResult" }
func (c *counting) Columns() []result.Column {
	return []result.Column{{Name: "n", Type: types.Long}, {Name: "s", Type: types.String}}
}
func (c *counting) Close() error { return nil }
func (c *counting) Next() ([]any, bool, error) {
	if c.failAt > 0 && c.pos == c.failAt {
		return nil, false, errors.New("disk on fire")
	}
	if c.pos >= c.n {
		return nil, false, nil
	}
	if c.row == nil {
		c.row = make([]any, 2)
	}
	c.row[0], c.row[1] = int64(c.pos), "row"
	c.pos++
	return c.row, true, nil
}

// answer builds fresh tables on every call (a table is read only once).
func answer(makers ...func() result.Table) func(context.Context) (*result.Set, error) {
	return func(context.Context) (*result.Set, error) {
		set := &result.Set{}
		for _, m := range makers {
			set.Tables = append(set.Tables, m())
		}
		return set, nil
	}
}

func allTypes() result.Table { return allTypesTable() }

// newServer starts an HTTPS test server (127.0.0.1) running the handler.
func newServer(t *testing.T, exec kustoapi.Executor, tweak ...func(*kustoapi.Options)) *httptest.Server {
	t.Helper()
	opts := kustoapi.Options{Executor: exec, Logger: slog.New(slog.DiscardHandler),
		LoginEndpoint: "https://login.example", ServiceResourceID: "https://kusto.example"}
	for _, f := range tweak {
		f(&opts)
	}
	srv := httptest.NewTLSServer(kustoapi.NewHandler(opts))
	t.Cleanup(srv.Close)
	return srv
}
