package eventhub

// Hooks for connectors that read notifications from an event hub without
// being Event Hub connections (Event Grid: blob notifications delivered to
// an event hub). They resolve and reach hubs exactly as Event Hub
// connections do, so one configuration serves both.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Endpoint returns the endpoint serving an event hub namespace: the one the
// configuration binds, else the embedded hub.
func (c *Connector) Endpoint(namespace string) (Endpoint, error) { return c.resolve(namespace) }

// ExtraClientOptions are the franz-go options the connector was given for
// every client (tests use them for shorter heartbeats).
func (c *Connector) ExtraClientOptions() []kgo.Opt { return c.o.ClientOptions }

// ClientOptions are the franz-go options that reach an endpoint (brokers,
// TLS, SASL).
func ClientOptions(ep Endpoint) ([]kgo.Opt, error) { return clientOptions(ep) }

// PrepareHub checks that the endpoint answers and creates the hub on
// endpoints that create hubs on first use (the embedded hub).
func PrepareHub(ctx context.Context, base []kgo.Opt, ep Endpoint, hub string) error {
	return prepare(ctx, base, ep, hub)
}
