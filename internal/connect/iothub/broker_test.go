package iothub_test

import (
	"context"
	"strings"
	"testing"

	iotconn "odx/internal/connect/iothub"
	"odx/internal/iothub"
)

// A hub on an MQTT broker needs the embedded event hub (where each consumer
// group's messages are kept); without it the connection is refused up
// front, naming the broker.
func TestBrokerBoundHubNeedsTheEmbeddedEventHub(t *testing.T) {
	c := iotconn.New(iotconn.Options{Hubs: map[string]iotconn.BoundHub{"yard": {Broker: &iothub.Broker{Address: "127.0.0.1:1883"}}}})
	sp := spec("b", "yard")
	p := c.Validate(context.Background(), sp)
	if len(p) != 1 || !strings.Contains(p[0], "127.0.0.1:1883") || !strings.Contains(p[0], "embedded event hub") {
		t.Fatalf("problems %v", p)
	}
}
