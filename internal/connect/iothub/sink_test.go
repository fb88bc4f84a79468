package iothub_test

import (
	"context"
	"testing"
	"time"

	"odx/internal/connect/connecttest"
)

// Over a sink that prepares commits (as the pipeline's does), an IotHub
// connection commits in two steps like an Event Hub connection (decoding
// the next commit while one is stored).
func TestIotHubConnectionPreparesCommits(t *testing.T) {
	s := newStand(t)
	sink := connecttest.NewSink(testPolicy)
	prep := connecttest.Preparing(sink)
	m := s.managerInto(t, prep, sink)
	if err := m.Apply(context.Background(), spec("prep", "plant")); err != nil {
		t.Fatal(err)
	}
	dev := s.device(t, "plant", "press-1")
	send(t, dev, "press-1", "%24.mid=a", `{"rpm":1}`)
	items := sink.WaitItems(t, 1, 20*time.Second)
	if prep.Prepared() == 0 {
		t.Fatal("the IotHub connection did not prepare its commits (its sink hid connect.Preparer)")
	}
	if string(items[0].Event.Body) != `{"rpm":1}` {
		t.Fatalf("item %+v", items[0])
	}
}
