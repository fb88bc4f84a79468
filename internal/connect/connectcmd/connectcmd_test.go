package connectcmd_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"
	"time"

	"odx/internal/access"
	"odx/internal/connect"
	"odx/internal/connect/connectcmd"
	"odx/internal/connect/connecttest"
	"odx/internal/result"
)

// oneEvent commits one event on partition 2 per run, then waits.
type oneEvent struct{}

func (oneEvent) Validate(context.Context, connect.Spec) []string { return nil }
func (oneEvent) Run(ctx context.Context, rt connect.Runtime) error {
	b := rt.NewBatcher()
	b.Assign(2, 40)
	b.Add(connect.Item{Route: connect.Route{Database: rt.Spec.Database, Table: "T", Format: "csv"},
		Event: connect.Event{Partition: 2, Offset: 40, Body: []byte("a,b")}})
	rt.Stats.Watermark(2, 45)
	if err := b.Flush(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	return nil
}

func setup(t *testing.T) connectcmd.Command {
	reg := connect.NewRegistry()
	reg.Register("EventHub", oneEvent{})
	sink := connecttest.NewSink(connect.BatchingPolicy{})
	m, err := connect.NewManager(connect.Options{Registry: reg, Sink: sink, Checkpoints: sink, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	for _, db := range []string{"Sales", "Ops"} {
		if err := m.Apply(t.Context(), connect.Spec{ID: "/x/Databases/" + db + "/DataConnections/c-" + db, Database: db, Name: "c-" + db, Kind: "EventHub",
			Source: "/ns/hub", ConsumerGroup: "$Default"}); err != nil {
			t.Fatal(err)
		}
	}
	connecttest.Eventually(t, 5*time.Second, func() bool {
		for _, st := range m.List("") {
			if st.Events != 1 {
				return false
			}
		}
		return true
	}, func() string { return "connections did not commit" })
	return connectcmd.Command{Manager: m, Roles: func(db string, c access.Caller) []string {
		if db == "Sales" && c.Name == "aadapp=monitor" {
			return []string{access.RoleMonitor}
		}
		return nil
	}}
}

func rows(t *testing.T, s *result.Set) (cols []string, out []map[string]any) {
	t.Helper()
	tbl := s.Tables[0].(*result.Static)
	for _, c := range tbl.Cols {
		cols = append(cols, c.Name)
	}
	for _, r := range tbl.Rows {
		m := map[string]any{}
		for i, v := range r {
			m[cols[i]] = v
		}
		out = append(out, m)
	}
	return cols, out
}

func TestShowDataConnections(t *testing.T) {
	cmd := setup(t)
	for _, text := range []string{".show data connections", ".SHOW database ['Sales'] data connections partitions;"} {
		if !connectcmd.Handles(text) {
			t.Fatalf("%q not handled", text)
		}
	}
	for _, text := range []string{".show data", ".show databases", ".show data connections now"} {
		if connectcmd.Handles(text) {
			t.Fatalf("%q handled", text)
		}
	}
	admin := access.Caller{Name: "aadapp=admin", ClusterRoles: []string{access.ClusterAdmin}}
	monitor := access.Caller{Name: "aadapp=monitor"}

	s, err := cmd.Execute(t.Context(), admin, "NetDefaultDB", ".show data connections")
	if err != nil {
		t.Fatal(err)
	}
	_, all := rows(t, s)
	if len(all) != 2 || all[0]["Database"] != "Ops" || all[1]["Name"] != "c-Sales" {
		t.Fatalf("rows %v", all)
	}
	r := all[1]
	if r["State"] != "Running" || r["Events"] != int64(1) || r["Lag"] != int64(4) || r["OwnedPartitions"] != int32(1) || r["LastCommit"] == nil {
		t.Fatalf("row %v", r)
	}
	var parts []map[string]any
	if err := json.Unmarshal(r["Partitions"].(json.RawMessage), &parts); err != nil || len(parts) != 1 || parts[0]["CommittedOffset"] != 41.0 {
		t.Fatalf("partitions %s (%v)", r["Partitions"], err)
	}

	// A database monitor sees only that database; elsewhere it is Forbidden.
	s, err = cmd.Execute(t.Context(), monitor, "", ".show data connections")
	if err != nil {
		t.Fatal(err)
	}
	if _, mine := rows(t, s); len(mine) != 1 || mine[0]["Database"] != "Sales" {
		t.Fatalf("monitor sees %v", mine)
	}
	if _, err := cmd.Execute(t.Context(), monitor, "Ops", ".show data connections"); err == nil {
		t.Fatal("monitor of Sales listed Ops")
	}

	s, err = cmd.Execute(t.Context(), monitor, "Ops", ".show database Sales data connections partitions")
	if err != nil {
		t.Fatal(err)
	}
	_, ps := rows(t, s)
	if len(ps) != 1 || ps[0]["Partition"] != int32(2) || ps[0]["CommittedOffset"] != int64(41) || ps[0]["HighWatermark"] != int64(45) || ps[0]["Lag"] != int64(4) {
		t.Fatalf("partition rows %v", ps)
	}
}
