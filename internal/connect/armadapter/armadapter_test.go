package armadapter_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"odx/internal/arm"
	"odx/internal/connect"
	"odx/internal/connect/armadapter"
	"odx/internal/connect/connecttest"
)

const dcID = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Kusto/Clusters/c1/Databases/Metrics/DataConnections/weather"

func resource() arm.DataConnectionResource {
	props := []string{"x-opt-enqueued-time", "x-opt-offset"}
	return arm.DataConnectionResource{
		ID: dcID, Name: "c1/Metrics/weather", Kind: "EventHub",
		Properties: arm.DataConnectionProperties{
			EventHubResourceID:    "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.EventHub/namespaces/ns1/eventhubs/hub1",
			ConsumerGroup:         "$Default",
			TableName:             "Weather",
			MappingRuleName:       "WeatherMapping",
			DataFormat:            "MULTIJSON",
			EventSystemProperties: &props,
			Compression:           "None",
			DatabaseRouting:       "Multi",
			RetrievalStartDate:    "2022-07-29T12:00:00.6554616Z",
		},
	}
}

func TestSpecFromResource(t *testing.T) {
	s, err := armadapter.Spec(resource())
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2022, 7, 29, 12, 0, 0, 655461600, time.UTC)
	if s.ID != dcID || s.Database != "Metrics" || s.Name != "weather" || s.Kind != "EventHub" ||
		!strings.HasSuffix(s.Source, "/eventhubs/hub1") || s.ConsumerGroup != "$Default" || s.Table != "Weather" ||
		s.Mapping != "WeatherMapping" || s.Format != "MULTIJSON" || s.Compression != "None" || !s.MultiDatabase ||
		!s.RetrievalStart.Equal(want) || len(s.SystemProperties) != 2 || s.SystemProperties[1] != "x-opt-offset" {
		t.Fatalf("spec %+v", s)
	}
	r := resource()
	r.Properties.RetrievalStartDate = "yesterday"
	if _, err := armadapter.Spec(r); err == nil || !strings.Contains(err.Error(), "RFC 3339") {
		t.Fatalf("bad date accepted: %v", err)
	}
}

// blocking is a connector whose runs wait for the stop, or fail when told.
type blocking struct{ fail error }

func (b blocking) Validate(_ context.Context, s connect.Spec) []string {
	if s.ConsumerGroup == "" {
		return []string{"consumerGroup is required"}
	}
	return nil
}

func (b blocking) Run(ctx context.Context, _ connect.Runtime) error {
	if b.fail != nil {
		return b.fail
	}
	<-ctx.Done()
	return nil
}

func manager(t *testing.T, c connect.Connector) *connect.Manager {
	reg := connect.NewRegistry()
	if err := reg.Register("EventHub", c); err != nil {
		t.Fatal(err)
	}
	sink := connecttest.NewSink(connect.BatchingPolicy{})
	m, err := connect.NewManager(connect.Options{Registry: reg, Sink: sink, Checkpoints: sink, MinBackoff: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m
}

func TestConnectionsLifecycle(t *testing.T) {
	conns := armadapter.New(manager(t, blocking{}))
	ctx := t.Context()
	bad := resource()
	bad.Properties.ConsumerGroup = ""
	if p := conns.Validate(ctx, bad); len(p) != 1 {
		t.Fatalf("validate: %v", p)
	}
	if st := conns.Status(dcID); st.State != "Unknown" {
		t.Fatalf("before apply: %+v", st)
	}
	if err := conns.Apply(ctx, resource()); err != nil {
		t.Fatal(err)
	}
	if st := conns.Status(strings.ToLower(dcID)); st.State != "Running" {
		t.Fatalf("after apply: %+v", st)
	}
	grid := resource()
	grid.ID = dcID + "2"
	grid.Kind = "EventGrid"
	if err := conns.Apply(ctx, grid); err != nil {
		t.Fatal(err)
	}
	if st := conns.Status(grid.ID); st.State != "Stopped" || !strings.Contains(st.Message, "no connector for EventGrid") {
		t.Fatalf("kind without a connector: %+v", st)
	}
	if err := conns.Remove(ctx, strings.ToUpper(dcID)); err != nil {
		t.Fatal(err)
	}
	if st := conns.Status(dcID); st.State != "Unknown" {
		t.Fatalf("after remove: %+v", st)
	}
}

func TestFailedShowsRetry(t *testing.T) {
	conns := armadapter.New(manager(t, blocking{fail: context.DeadlineExceeded}))
	if err := conns.Apply(t.Context(), resource()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		st := conns.Status(dcID)
		if st.State == "Failed" {
			if !strings.Contains(st.Message, "deadline exceeded") || !strings.Contains(st.Message, "retrying at") {
				t.Fatalf("failed status %+v", st)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("never failed: %+v", st)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
