package iothub

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"odx/internal/connect"
	"odx/internal/connect/eventhub"
	iot "odx/internal/iothub"
)

// bridges shares one broker bridge per IoT hub and consumer group between
// the connections that read it: connections of one consumer group split a
// hub's messages, as on Event Hubs, so they read one event hub fed by one
// shared subscription.
type bridges struct {
	mu sync.Mutex
	m  map[string]*bridgeRef
}

type bridgeRef struct {
	b    *iot.Bridge
	refs int
}

// acquireBridge starts (or shares) the bridge of hub and group; release it
// when done. resolve made sure the embedded event hub is on.
func (c *Connector) acquireBridge(ctx context.Context, rt connect.Runtime, hub string, b iot.Broker) (*iot.Bridge, func(), error) {
	key := strings.ToLower(hub) + "\x00" + rt.Spec.ConsumerGroup
	c.bridges.mu.Lock()
	defer c.bridges.mu.Unlock()
	if c.bridges.m == nil {
		c.bridges.m = map[string]*bridgeRef{}
	}
	ref, ok := c.bridges.m[key]
	if !ok {
		var eh iot.EventHub = kafkaTopics{addr: c.o.Embedded.Brokers[0], partitions: c.o.Embedded.Partitions}
		if c.o.EmbeddedHub != nil {
			eh = c.o.EmbeddedHub
		}
		br, err := iot.StartBridge(ctx, iot.BridgeOptions{
			Hub: hub, Group: rt.Spec.ConsumerGroup, Broker: b, NodeID: c.o.NodeID, Logger: rt.Logger, EventHub: eh,
		})
		if err != nil {
			return nil, nil, err
		}
		ref = &bridgeRef{b: br}
		c.bridges.m[key] = ref
	}
	ref.refs++
	release := func() {
		c.bridges.mu.Lock()
		defer c.bridges.mu.Unlock()
		if ref.refs--; ref.refs == 0 {
			delete(c.bridges.m, key)
			ref.b.Close()
		}
	}
	return ref.b, release, nil
}

// kafkaTopics creates event hubs on a Kafka-protocol endpoint (the
// embedded event hub) for a bridge.
type kafkaTopics struct {
	addr       string
	partitions int32
}

func (k kafkaTopics) Addr() string { return k.addr }

func (k kafkaTopics) CreateTopic(name string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(k.addr))
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return eventhub.CreateEventHub(ctx, cl, name, k.partitions)
}
