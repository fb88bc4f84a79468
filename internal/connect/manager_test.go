package connect_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"odx/internal/connect"
	"odx/internal/connect/connecttest"
)

// scripted is a connector that commits one event per run, then fails or
// waits for the stop.
type scripted struct {
	runs  atomic.Int32
	fails int32 // the first runs fail
}

func (s *scripted) Validate(context.Context, connect.Spec) []string { return nil }

func (s *scripted) Run(ctx context.Context, rt connect.Runtime) error {
	n := s.runs.Add(1)
	b := rt.NewBatcher()
	b.Assign(0, -1)
	b.Add(item(0, int64(n), rt.Spec.Table))
	b.Skip(0, int64(n)+1000, "ns/hub/partition 0/offset x: bad")
	if err := b.Flush(ctx); err != nil {
		return err
	}
	if n <= s.fails {
		return errors.New("broker says no")
	}
	<-ctx.Done()
	return nil
}

func newManager(t *testing.T, c connect.Connector) (*connect.Manager, *connecttest.Sink) {
	t.Helper()
	reg := connect.NewRegistry()
	if err := reg.Register("EventHub", c); err != nil {
		t.Fatal(err)
	}
	if err := reg.Register("eventhub", c); err == nil {
		t.Fatal("a kind registered twice (case-insensitively) must be refused")
	}
	sink := connecttest.NewSink(connect.BatchingPolicy{MaxDelay: time.Hour})
	m, err := connect.NewManager(connect.Options{Registry: reg, Sink: sink, Checkpoints: sink, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), MinBackoff: 20 * time.Millisecond, MaxBackoff: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m, sink
}

func dcSpec(db, name string) connect.Spec {
	return connect.Spec{ID: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Kusto/Clusters/c/Databases/" + db + "/DataConnections/" + name,
		Database: db, Name: name, Kind: "EventHub", Table: "T", ConsumerGroup: "$Default"}
}

func TestManagerRetriesAndReports(t *testing.T) {
	c := &scripted{fails: 2}
	m, sink := newManager(t, c)
	s := dcSpec("db", "conn")
	if err := m.Apply(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	connecttest.Eventually(t, 5*time.Second, func() bool { return c.runs.Load() == 3 }, func() string { return "not restarted twice" })
	var st connect.Status
	connecttest.Eventually(t, 5*time.Second, func() bool {
		st, _ = m.Status(s.ID)
		return st.State == connect.Running && st.Events == 3
	}, func() string { return "not running with 3 events" })
	if st.Restarts != 2 || st.LastError != "broker says no" || st.Failures != 3 || !strings.Contains(st.LastFailure, "bad") {
		t.Fatalf("status %+v", st)
	}
	if len(st.Partitions) != 1 || st.Partitions[0].Events != 3 {
		t.Fatalf("partitions %+v", st.Partitions)
	}
	// Re-applying the same definition does not restart; a change does.
	if err := m.Apply(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	if c.runs.Load() != 3 {
		t.Fatal("an unchanged definition restarted the connection")
	}
	s.Table = "U"
	if err := m.Apply(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	connecttest.Eventually(t, 5*time.Second, func() bool { return len(sink.Items()) == 4 }, func() string { return "not restarted after a change" })
	if got := sink.Items()[3].Route.Table; got != "U" {
		t.Fatalf("after update the table is %s", got)
	}
}

func TestManagerListAndMetrics(t *testing.T) {
	m, sink := newManager(t, &scripted{})
	for _, s := range []connect.Spec{dcSpec("db1", "b"), dcSpec("db1", "a"), dcSpec("db2", "c")} {
		if err := m.Apply(t.Context(), s); err != nil {
			t.Fatal(err)
		}
	}
	grid := dcSpec("db2", "grid")
	grid.Kind = "EventGrid"
	if err := m.Apply(t.Context(), grid); err != nil {
		t.Fatal(err)
	}
	connecttest.Eventually(t, 5*time.Second, func() bool {
		for _, st := range m.List("") {
			if st.Kind == "EventHub" && st.Events != 1 {
				return false
			}
		}
		return true
	}, func() string { return "connections did not commit" })
	l := m.List("db1")
	if len(l) != 2 || l[0].Name != "a" || l[1].Name != "b" {
		t.Fatalf("list db1: %+v", l)
	}
	if all := m.List(""); len(all) != 4 {
		t.Fatalf("list all: %d", len(all))
	}
	st, _ := m.Status(grid.ID)
	if st.State != connect.Stopped || !strings.Contains(st.LastError, "no connector for EventGrid") {
		t.Fatalf("grid %+v", st)
	}

	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(m.Collectors()...)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	values := map[string]float64{}
	for _, f := range families {
		for _, mt := range f.GetMetric() {
			key := f.GetName()
			for _, l := range mt.GetLabel() {
				key += "," + l.GetName() + "=" + l.GetValue()
			}
			switch {
			case mt.Gauge != nil:
				values[key] = mt.GetGauge().GetValue()
			case mt.Counter != nil:
				values[key] = mt.GetCounter().GetValue()
			}
		}
	}
	check := func(key string, want float64) {
		t.Helper()
		if got, ok := values[key]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", key, got, ok, want)
		}
	}
	check("odx_data_connection_state,connection=a,database=db1,kind=EventHub,state=Running", 1)
	check("odx_data_connection_state,connection=a,database=db1,kind=EventHub,state=Retrying", 0)
	check("odx_data_connection_state,connection=grid,database=db2,kind=EventGrid,state=Stopped", 1)
	check("odx_data_connection_partition_events_total,connection=c,database=db2,partition=0", 1)
	check("odx_data_connection_partition_failures_total,connection=c,database=db2,partition=0", 1)
	// Each run skips a failed event at 1000+run, so the position is past 1000.
	if v := values["odx_data_connection_partition_committed_offset,connection=c,database=db2,partition=0"]; v <= 1000 {
		t.Errorf("committed offset %v", v)
	}

	cKey := dcSpec("db2", "c").Key()
	if pos, _ := sink.Positions(t.Context(), cKey); len(pos) == 0 {
		t.Fatal("no positions before the removal")
	}
	if err := m.Remove(t.Context(), dcSpec("db2", "c").ID); err != nil {
		t.Fatal(err)
	}
	if pos, _ := sink.Positions(t.Context(), cKey); len(pos) != 0 {
		t.Fatalf("positions survive the removal: %v", pos)
	}
	families, _ = reg.Gather()
	for _, f := range families {
		for _, mt := range f.GetMetric() {
			for _, l := range mt.GetLabel() {
				if l.GetName() == "connection" && l.GetValue() == "c" {
					t.Fatalf("removed connection still in %s", f.GetName())
				}
			}
		}
	}
}
