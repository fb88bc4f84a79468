// Package eventhub is the Event Hub data connection over the Kafka
// protocol (franz-go): Azure Event Hubs' Kafka endpoint, Kafka, Redpanda, or
// odx's embedded development hub. It reads the connection's consumer group,
// routes each event by ADX's event properties, and feeds a connect.Batcher,
// so positions commit in the same transaction as the rows they carried.
package eventhub

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"odx/internal/connect"
)

// Data connection kinds this connector serves.
const (
	KindEventHub                    = "EventHub"
	KindEventHubWithManagedIdentity = "EventHubWithManagedIdentity"
)

// SystemProperties are the eventSystemProperties an Event Hub connection
// accepts. Over Kafka, x-opt-sequence-number and x-opt-offset are both the
// record offset and x-opt-publisher is empty (Kafka has no publisher).
var SystemProperties = []string{"x-opt-enqueued-time", "x-opt-sequence-number", "x-opt-offset", "x-opt-publisher", "x-opt-partition-key",
	// IoT Central-fed hubs carry the IoT Hub properties as headers.
	"message-id", "iothub-enqueuedtime", "user-id", "iothub-connection-device-id", "iothub-connection-module-id",
	"iothub-connection-auth-generation-id", "iothub-connection-auth-method", "iothub-app-iothub-creation-time-utc",
	"iothub-creation-time-utc", "dt-dataschema", "dt-subject"}

// SASL authenticates to an endpoint: PLAIN (Event Hubs: user
// "$ConnectionString", password the connection string), SCRAM-SHA-256 or
// SCRAM-SHA-512.
type SASL struct {
	Mechanism string
	Username  string
	Password  string
}

// Endpoint is a Kafka-protocol endpoint serving a namespace's event hubs.
type Endpoint struct {
	Brokers []string
	TLS     bool
	CAFile  string // extra CA to trust (PEM); system roots otherwise
	SASL    *SASL
	// CreateTopics creates a missing event hub with Partitions partitions
	// before consuming (the embedded hub creates hubs on first use).
	CreateTopics bool
	Partitions   int32
	// StaticMembership joins consumer groups with a group.instance.id
	// derived from Options.NodeID and the connection, so that an odx
	// restarted after a crash takes its partitions back at once instead of
	// waiting for its old session to time out (45s). Needs Kafka 2.3+
	// semantics; on by default for the embedded hub only.
	StaticMembership bool
}

// Options configure the connector.
type Options struct {
	// Namespaces binds event hub namespaces (by name, case-insensitive) to
	// endpoints, from the configuration file.
	Namespaces map[string]Endpoint
	// Embedded serves every namespace Namespaces does not name; nil means
	// such namespaces are refused.
	Embedded *Endpoint
	// PollWait bounds how long one poll waits, so batching deadlines are
	// honoured when the hub is idle (default 250ms).
	PollWait time.Duration
	// NodeID names this odx among the consumers of a group (static
	// membership); stable across restarts, distinct between nodes.
	// Default: the host name.
	NodeID string
	// ClientOptions are appended to every franz-go client (tests use them
	// for shorter heartbeats).
	ClientOptions []kgo.Opt
	// RoutingProperties are the per-event properties a connection of this
	// connector honours (see connect.Router.Properties); nil means all of
	// them, as for Event Hub. IoT Hub connections honour fewer.
	RoutingProperties []string
}

// Connector runs Event Hub data connections.
type Connector struct{ o Options }

// New makes the connector.
func New(o Options) *Connector {
	if o.PollWait <= 0 {
		o.PollWait = 250 * time.Millisecond
	}
	if o.NodeID == "" {
		o.NodeID, _ = os.Hostname()
	}
	ns := map[string]Endpoint{}
	for k, v := range o.Namespaces {
		ns[strings.ToLower(k)] = v
	}
	o.Namespaces = ns
	return &Connector{o: o}
}

// Register serves the Event Hub kinds with c.
func Register(r *connect.Registry, c *Connector) error {
	return errors.Join(r.Register(KindEventHub, c), r.Register(KindEventHubWithManagedIdentity, c))
}

// ParseEventHubID splits .../providers/Microsoft.EventHub/namespaces/<ns>/eventhubs/<hub>.
func ParseEventHubID(id string) (namespace, hub string, err error) {
	parts := strings.Split(strings.Trim(id, "/"), "/")
	for i := range parts {
		if strings.EqualFold(parts[i], "providers") && len(parts) == i+6 &&
			strings.EqualFold(parts[i+1], "Microsoft.EventHub") && strings.EqualFold(parts[i+2], "namespaces") &&
			strings.EqualFold(parts[i+4], "eventhubs") && parts[i+3] != "" && parts[i+5] != "" {
			return parts[i+3], parts[i+5], nil
		}
	}
	return "", "", fmt.Errorf("eventHubResourceId %q is not an event hub id; want /subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.EventHub/namespaces/<namespace>/eventhubs/<hub>", id)
}

// resolve finds the endpoint of a namespace.
func (c *Connector) resolve(namespace string) (Endpoint, error) {
	if ep, ok := c.o.Namespaces[strings.ToLower(namespace)]; ok {
		return ep, nil
	}
	if c.o.Embedded != nil {
		return *c.o.Embedded, nil
	}
	return Endpoint{}, fmt.Errorf("event hub namespace %q is not bound in the configuration file (eventHubNamespaces) and the embedded event hub is off", namespace)
}

// Validate checks an Event Hub connection definition.
func (c *Connector) Validate(_ context.Context, s connect.Spec) []string {
	var problems []string
	ns, hub, err := ParseEventHubID(s.Source)
	if err != nil {
		problems = append(problems, err.Error())
	} else if ep, err := c.resolve(ns); err != nil {
		problems = append(problems, err.Error())
	} else if path := entityPath(ep); path != "" && !strings.EqualFold(path, hub) {
		problems = append(problems, fmt.Sprintf("the connection string of namespace %q is for event hub %q (EntityPath), not %q; use a namespace-level connection string or the matching hub", ns, path, hub))
	}
	if s.ConsumerGroup == "" {
		problems = append(problems, "consumerGroup is required ($Default is allowed)")
	} else if len(s.ConsumerGroup) > 256 {
		problems = append(problems, "consumerGroup is longer than 256 characters, which Event Hubs does not allow")
	}
	if f := strings.ToLower(s.Format); f != "" {
		if !slices.Contains(connect.Formats, f) {
			problems = append(problems, fmt.Sprintf("dataFormat %q is not an ADX format; use one of %s", s.Format, strings.Join(connect.Formats, ", ")))
		} else if f == "raw" {
			problems = append(problems, "dataFormat RAW is not supported by Event Hub data connections; use TXT")
		}
	}
	switch connect.NormalizeCompression(s.Compression) {
	case "", "none", "gzip":
	default:
		problems = append(problems, fmt.Sprintf("compression %q: use None or GZip", s.Compression))
	}
	for _, p := range s.SystemProperties {
		if !slices.Contains(SystemProperties, p) {
			problems = append(problems, fmt.Sprintf("eventSystemProperties: %q is not an Event Hub system property; use %s", p, strings.Join(SystemProperties[:5], ", ")))
		}
	}
	return problems
}

// entityPath is the EntityPath of an Event Hubs connection string used as
// the SASL PLAIN password, "" when there is none.
func entityPath(ep Endpoint) string {
	if ep.SASL == nil || ep.SASL.Username != "$ConnectionString" {
		return ""
	}
	for _, kv := range strings.Split(ep.SASL.Password, ";") {
		k, v, ok := strings.Cut(kv, "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), "EntityPath") {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// instanceID is the static group member id of a connection on this node.
func instanceID(node, connection string) string {
	sum := sha256.Sum256([]byte(node + "|" + connection))
	return "odx-" + hex.EncodeToString(sum[:8])
}

// clientOptions are the franz-go options that reach an endpoint.
func clientOptions(ep Endpoint) ([]kgo.Opt, error) {
	if len(ep.Brokers) == 0 {
		return nil, errors.New("no brokers configured")
	}
	opts := []kgo.Opt{kgo.SeedBrokers(ep.Brokers...)}
	if ep.TLS || ep.CAFile != "" {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12}
		if ep.CAFile != "" {
			pem, err := os.ReadFile(ep.CAFile)
			if err != nil {
				return nil, fmt.Errorf("cannot read caFile: %w", err)
			}
			pool, err := x509.SystemCertPool()
			if err != nil || pool == nil {
				pool = x509.NewCertPool()
			}
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("caFile %s holds no PEM certificate", ep.CAFile)
			}
			cfg.RootCAs = pool
		}
		opts = append(opts, kgo.DialTLSConfig(cfg))
	}
	if s := ep.SASL; s != nil {
		switch strings.ToUpper(s.Mechanism) {
		case "PLAIN":
			opts = append(opts, kgo.SASL(plain.Auth{User: s.Username, Pass: s.Password}.AsMechanism()))
		case "SCRAM-SHA-256":
			opts = append(opts, kgo.SASL(scram.Auth{User: s.Username, Pass: s.Password}.AsSha256Mechanism()))
		case "SCRAM-SHA-512":
			opts = append(opts, kgo.SASL(scram.Auth{User: s.Username, Pass: s.Password}.AsSha512Mechanism()))
		default:
			return nil, fmt.Errorf("SASL mechanism %q is not supported; use PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", s.Mechanism)
		}
	}
	return opts, nil
}
