// Package iothub is the IotHub data connection. An IoT hub exposes its
// device-to-cloud messages on a built-in, Event Hub-compatible endpoint, and
// so does odx: this connector resolves the connection's IoT hub to that
// endpoint (the embedded IoT hub's event hub on odx's embedded Kafka hub, or
// a hub bound in the configuration file) and consumes it with the Event Hub
// connector, so routing, batching, exactly-once positions, failures and
// state are the same as for Event Hub connections. The IoT system
// properties travel as record headers and are placed as ADX places them.
package iothub

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"odx/internal/connect"
	"odx/internal/connect/eventhub"
	iot "odx/internal/iothub"
)

// Kind is the data connection kind this connector serves.
const Kind = "IotHub"

// RoutingProperties are the application properties that route a device
// message, as ADX documents them for IoT Hub: no Compression (device
// messages are never compressed) and no Tags.
var RoutingProperties = []string{connect.PropTable, connect.PropFormat, connect.PropMapping, connect.PropEncoding, connect.PropDatabase}

// PolicyProperty is the ARM property (connect.Spec.Extra key) naming the
// shared access policy the connection reads with.
const PolicyProperty = "sharedAccessPolicyName"

// SystemProperties are the eventSystemProperties an IotHub connection
// accepts: ADX's current list, plus correlation-id (older ADX docs) and
// content-type / content-encoding (IoT Hub routing). Each is read from the
// record header of the same name; iothub-app-iothub-creation-time-utc (set
// by batched sends, which MQTT devices do not make) is empty.
var SystemProperties = []string{
	"message-id", "iothub-enqueuedtime", "user-id", "iothub-connection-device-id", "iothub-connection-module-id",
	"iothub-connection-auth-generation-id", "iothub-connection-auth-method", "iothub-app-iothub-creation-time-utc",
	"iothub-creation-time-utc", "dt-dataschema", "dt-subject", "correlation-id", "content-type", "content-encoding",
}

// BoundHub is an IoT hub bound in the configuration file to its built-in
// endpoint (Event Hub-compatible, Kafka protocol), or to an MQTT broker
// its devices publish to.
type BoundHub struct {
	Endpoint eventhub.Endpoint
	// EventHubName is the endpoint's Event Hub-compatible name; the hub
	// name when empty.
	EventHubName string
	// Broker, when set, is the MQTT broker the hub's devices publish to
	// (Endpoint and EventHubName are then unused): each consumer group
	// reads it with a shared subscription into the embedded event hub
	// (iot.Bridge), and its connections consume that.
	Broker *iot.Broker
}

// Options configure the connector.
type Options struct {
	// Keys are the embedded IoT hubs and their policies; nil turns embedded
	// IoT hubs off (only bound hubs are served).
	Keys *iot.Keys
	// Embedded is odx's embedded event hub, which carries the embedded IoT
	// hubs' built-in endpoints (iot.BuiltInEventHub).
	Embedded *eventhub.Endpoint
	// EmbeddedHub, when set, is that embedded event hub itself (*hub.Hub):
	// bridges from MQTT brokers then hand it their messages in process
	// (hub.Appender) rather than producing them to Embedded over Kafka.
	EmbeddedHub iot.EventHub
	// Hubs binds IoT hubs (by name, case-insensitive) to real endpoints.
	Hubs map[string]BoundHub
	// PollWait, NodeID and ClientOptions are passed to the Event Hub
	// consumer (see eventhub.Options).
	PollWait      time.Duration
	NodeID        string
	ClientOptions []kgo.Opt
}

// Connector runs IotHub data connections.
type Connector struct {
	o       Options
	bridges bridges
}

// New makes the connector.
func New(o Options) *Connector {
	hubs := map[string]BoundHub{}
	for k, v := range o.Hubs {
		hubs[strings.ToLower(k)] = v
	}
	o.Hubs = hubs
	return &Connector{o: o}
}

// Register serves the IotHub kind with c.
func Register(r *connect.Registry, c *Connector) error { return r.Register(Kind, c) }

// ParseIotHubID reads .../providers/Microsoft.Devices/IotHubs/<hub>.
func ParseIotHubID(id string) (string, error) {
	parts := strings.Split(strings.Trim(id, "/"), "/")
	for i := range parts {
		if strings.EqualFold(parts[i], "providers") && len(parts) == i+4 &&
			strings.EqualFold(parts[i+1], "Microsoft.Devices") && strings.EqualFold(parts[i+2], "IotHubs") && parts[i+3] != "" {
			return parts[i+3], nil
		}
	}
	return "", fmt.Errorf("iotHubResourceId %q is not an IoT hub id; want /subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.Devices/IotHubs/<hub>", id)
}

// source is where a hub's messages are read.
type source struct {
	hub      string
	endpoint eventhub.Endpoint
	topic    string
	policies []iot.Policy // nil: unknown (a bound hub without configured policies)
	broker   *iot.Broker  // a hub on an MQTT broker: endpoint and topic come from its bridge
}

// resolve finds a hub's built-in endpoint. An embedded hub is created on
// first use, as creating an IoT hub in Azure precedes its connections.
func (c *Connector) resolve(hub string) (source, error) {
	if b, ok := c.o.Hubs[strings.ToLower(hub)]; ok {
		s := source{hub: hub, endpoint: b.Endpoint, topic: b.EventHubName, broker: b.Broker}
		if s.broker != nil {
			if c.o.Embedded == nil || len(c.o.Embedded.Brokers) == 0 {
				return source{}, fmt.Errorf("IoT hub %s is bound to the MQTT broker %s, whose messages odx keeps in its embedded event hub, which is off", hub, s.broker.Address)
			}
			s.endpoint = *c.o.Embedded
			s.endpoint.CreateTopics = true
		}
		if s.topic == "" {
			s.topic = hub
		}
		if c.o.Keys != nil {
			s.policies = c.o.Keys.ConfigPolicies(hub)
		}
		if len(s.policies) == 0 {
			s.policies = nil
		}
		return s, nil
	}
	if c.o.Keys == nil || c.o.Embedded == nil {
		return source{}, fmt.Errorf("IoT hub %q is not bound in the configuration file (iotHubs) and the embedded IoT hub is off", hub)
	}
	h, err := c.o.Keys.EnsureHub(hub)
	if err != nil {
		return source{}, err
	}
	ep := *c.o.Embedded
	ep.CreateTopics = true
	return source{hub: h.Name, endpoint: ep, topic: iot.BuiltInEventHub(h.Name), policies: h.Policies}, nil
}

// checkPolicy says why the connection's policy cannot read the hub, "" when it can.
func (s source) checkPolicy(name string) string {
	if name == "" {
		return "sharedAccessPolicyName is required (a policy with ServiceConnect, such as iothubowner or service)"
	}
	if s.policies == nil {
		return ""
	}
	for _, p := range s.policies {
		if strings.EqualFold(p.Name, name) {
			if !p.Can(iot.ServiceConnect) {
				return fmt.Sprintf("shared access policy %q of IoT hub %s cannot read device messages (it lacks ServiceConnect); use iothubowner or service", p.Name, s.hub)
			}
			return ""
		}
	}
	names := make([]string, len(s.policies))
	for i, p := range s.policies {
		names[i] = p.Name
	}
	return fmt.Sprintf("IoT hub %s has no shared access policy %q; it has %s", s.hub, name, strings.Join(names, ", "))
}

// Validate checks an IotHub connection definition.
func (c *Connector) Validate(_ context.Context, s connect.Spec) []string {
	var problems []string
	hub, err := ParseIotHubID(s.Source)
	if err != nil {
		problems = append(problems, err.Error())
	} else if src, err := c.resolve(hub); err != nil {
		problems = append(problems, err.Error())
	} else if p := src.checkPolicy(s.Extra[PolicyProperty]); p != "" {
		problems = append(problems, p)
	}
	if s.ConsumerGroup == "" {
		problems = append(problems, "consumerGroup is required ($Default is allowed)")
	} else if len(s.ConsumerGroup) > 256 {
		problems = append(problems, "consumerGroup is longer than 256 characters, which IoT Hub does not allow")
	}
	if f := strings.ToLower(s.Format); f != "" {
		if !slices.Contains(connect.Formats, f) {
			problems = append(problems, fmt.Sprintf("dataFormat %q is not an ADX format; use one of %s", s.Format, strings.Join(connect.Formats, ", ")))
		} else if f == "raw" {
			problems = append(problems, "dataFormat RAW is not supported by IoT Hub data connections; use TXT")
		}
	}
	if cmp := connect.NormalizeCompression(s.Compression); cmp != "" && cmp != "none" {
		problems = append(problems, "IoT Hub data connections have no compression setting; device messages are read as sent")
	}
	for _, p := range s.SystemProperties {
		if !slices.Contains(SystemProperties, p) {
			problems = append(problems, fmt.Sprintf("eventSystemProperties: %q is not an IoT Hub system property; use %s", p, strings.Join(SystemProperties, ", ")))
		}
	}
	return problems
}

// Run consumes the hub's built-in endpoint until ctx ends. It runs the
// Event Hub consumer on the endpoint, with the connection's own id (so
// positions and commits are the connection's).
func (c *Connector) Run(ctx context.Context, rt connect.Runtime) error {
	hub, err := ParseIotHubID(rt.Spec.Source)
	if err != nil {
		return err
	}
	src, err := c.resolve(hub)
	if err != nil {
		return err
	}
	if p := src.checkPolicy(rt.Spec.Extra[PolicyProperty]); p != "" {
		return fmt.Errorf("%s", p)
	}
	if src.broker != nil {
		br, release, err := c.acquireBridge(ctx, rt, src.hub, *src.broker)
		if err != nil {
			return err
		}
		defer release()
		src.topic = br.Topic()
	}
	eh := eventhub.New(eventhub.Options{
		Namespaces:        map[string]eventhub.Endpoint{src.hub: src.endpoint},
		PollWait:          c.o.PollWait,
		NodeID:            c.o.NodeID,
		ClientOptions:     c.o.ClientOptions,
		RoutingProperties: RoutingProperties,
	})
	inner := rt
	inner.Spec.Source = "/providers/Microsoft.EventHub/namespaces/" + src.hub + "/eventhubs/" + src.topic
	inner.Spec.Compression = "" // IoT Hub connections have none; RoutingProperties keeps messages from setting it
	return eh.Run(ctx, inner)
}
