package iothub

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"
)

// Broker is an existing MQTT broker (mosquitto, for example) that carries
// an IoT hub's device messages in IoT Hub's topic layout
// (devices/{deviceId}/messages/events/{property bag}). odx reads it with
// MQTT 5 shared subscriptions, one share group per consumer group.
type Broker struct {
	// Address is host:port.
	Address string
	// TLS connects with TLS, trusting CAFile (PEM) or the system roots.
	TLS    bool
	CAFile string
	// Username and Password authenticate to the broker (both optional).
	Username string
	Password string
	// ClientIDPrefix starts the client ids of odx's sessions (default "odx-").
	ClientIDPrefix string
	// Sessions is the number of MQTT sessions per consumer group, all in
	// the group's shared subscription (default 2).
	Sessions int
	// SessionExpiry is how long the broker keeps a session, and queues its
	// messages, while odx is away (default 24h).
	SessionExpiry time.Duration
}

// Defaults of Broker.
const (
	DefaultClientIDPrefix = "odx-"
	DefaultSessions       = 2
	DefaultSessionExpiry  = 24 * time.Hour
	// brokerReceiveMaximum bounds the messages a session has unacknowledged
	// (MQTT 5 Receive Maximum), which bounds the duplicates a crash can
	// leave and the records the duplicate check must remember.
	brokerReceiveMaximum = 1000
)

// BrokerEventHub is the embedded event hub that holds what a consumer
// group read from a broker-bound IoT hub: "__iothub.<hub>.g-<group>", the
// group reduced to Kafka topic characters plus a hash of it, so that
// groups differing only in case or punctuation stay apart. Hub names have
// no dots, so this never collides with a BuiltInEventHub.
func BrokerEventHub(hub, group string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(group) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '-' {
			b.WriteRune(r)
		}
	}
	sum := sha256.Sum256([]byte(group))
	name := b.String()
	if len(name) > 100 {
		name = name[:100]
	}
	return "__iothub." + strings.ToLower(hub) + ".g-" + name + "-" + hex.EncodeToString(sum[:4])
}

// ShareName is the shared-subscription group for a consumer group: the
// group with the characters MQTT forbids there ('/', '+', '#') replaced.
func ShareName(group string) string {
	return strings.NewReplacer("/", "_", "+", "_", "#", "_").Replace(group)
}

// BridgeOptions configure a Bridge.
type BridgeOptions struct {
	// Hub is the IoT hub's name (its messages' system properties name no
	// hub, but logs and metrics do).
	Hub string
	// Group is the consumer group: the bridge joins $share/<Group>/...
	Group  string
	Broker Broker
	// EventHub is odx's embedded event hub; the bridge writes to Topic
	// (BrokerEventHub(Hub, Group) when empty).
	EventHub EventHub
	Topic    string
	// NodeID tells this odx's sessions from another node's in the same
	// group (the client ids hash it); it must stay the same across
	// restarts, or the broker's queued messages go to a session no one resumes.
	NodeID string
	// StoreTimeout bounds a store into the event hub (default 10s).
	StoreTimeout time.Duration
	// ConnectTimeout bounds how long StartBridge waits for the broker
	// (default 15s); a broker that refuses the credentials fails at once.
	ConnectTimeout time.Duration
	Logger         *slog.Logger
}

// Bridge reads an IoT hub's device messages from an external MQTT broker
// and stores them, with IoT Hub's system properties, in an embedded event
// hub, acknowledging each message to the broker only once stored.
//
// Delivery: QoS 1, persistent sessions (clean start off, session expiry),
// PUBACK only after the event hub stored the record (paho's manual
// acknowledgement, sent in receive order). A crash or lost connection
// before the PUBACK makes the broker deliver the message again (DUP set)
// when the session resumes: nothing acknowledged is lost. Such a
// redelivery is dropped when a record with the same device and message id
// ($.mid) is already among the ones this bridge stored recently (remembered
// in memory, and read back from the event hub's tail at start); messages
// without a message id may be stored twice after a crash (at-least-once).
type Bridge struct {
	o     BridgeOptions
	log   *slog.Logger
	ep    *endpoint
	conns []*autopaho.ConnectionManager
	seen  *recentIDs

	ctx    context.Context
	cancel context.CancelFunc
	once   sync.Once
}

// StartBridge connects the bridge's sessions and subscribes them. It
// returns once every session is connected (or fails when ctx ends first);
// afterwards the sessions reconnect by themselves until Close.
func StartBridge(ctx context.Context, o BridgeOptions) (*Bridge, error) {
	if o.Broker.Address == "" || o.EventHub == nil || o.Hub == "" || o.Group == "" {
		return nil, errors.New("iothub: StartBridge needs a broker address, a hub, a consumer group and an event hub")
	}
	if o.Topic == "" {
		o.Topic = BrokerEventHub(o.Hub, o.Group)
	}
	if o.Broker.ClientIDPrefix == "" {
		o.Broker.ClientIDPrefix = DefaultClientIDPrefix
	}
	if o.Broker.Sessions <= 0 {
		o.Broker.Sessions = DefaultSessions
	}
	if o.Broker.SessionExpiry <= 0 {
		o.Broker.SessionExpiry = DefaultSessionExpiry
	}
	if o.StoreTimeout <= 0 {
		o.StoreTimeout = 10 * time.Second
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 15 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	log := o.Logger.With("hub", o.Hub, "consumerGroup", o.Group, "broker", o.Broker.Address)
	server, tlsCfg, err := o.Broker.dial()
	if err != nil {
		return nil, err
	}
	if err := o.EventHub.CreateTopic(o.Topic); err != nil {
		return nil, fmt.Errorf("creating the event hub %s for IoT hub %s: %w", o.Topic, o.Hub, err)
	}
	ep, err := newEndpoint(o.EventHub, o.StoreTimeout, log)
	if err != nil {
		return nil, err
	}
	window := o.Broker.Sessions * brokerReceiveMaximum
	seen := newRecentIDs(4 * window)
	if err := ep.primeRecentIDs(ctx, o.Topic, window, seen); err != nil {
		ep.close()
		return nil, fmt.Errorf("reading back the event hub %s (to recognise redelivered messages): %w", o.Topic, err)
	}
	b := &Bridge{o: o, log: log, ep: ep, seen: seen}
	// The first connection error of each session, to tell the user why
	// StartBridge gave up; a refusal (CONNACK with an error) ends the wait.
	var (
		errMu    sync.Mutex
		firstErr error
		refused  = make(chan struct{})
		refuse   sync.Once
	)
	b.ctx, b.cancel = context.WithCancel(context.Background())

	share := ShareName(o.Group)
	subscribe := &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{
		{Topic: "$share/" + share + "/devices/+/messages/events/#", QoS: 1},
		{Topic: "$share/" + share + "/devices/+/modules/+/messages/events/#", QoS: 1},
	}}
	node := sha256.Sum256([]byte(o.NodeID))
	for i := range o.Broker.Sessions {
		clientID := fmt.Sprintf("%s%s-%s-%s-%d", o.Broker.ClientIDPrefix, o.Hub, share, hex.EncodeToString(node[:3]), i)
		cfg := autopaho.ClientConfig{
			ServerUrls:                    []*url.URL{server},
			TlsCfg:                        tlsCfg,
			KeepAlive:                     30,
			CleanStartOnInitialConnection: false,
			SessionExpiryInterval:         uint32(o.Broker.SessionExpiry / time.Second),
			ReconnectBackoff:              autopaho.NewConstantBackoff(time.Second),
			ConnectTimeout:                10 * time.Second,
			ConnectUsername:               o.Broker.Username,
			ConnectPassword:               []byte(o.Broker.Password),
			ConnectPacketBuilder: func(cp *paho.Connect, _ *url.URL) (*paho.Connect, error) {
				if cp.Properties == nil {
					cp.Properties = &paho.ConnectProperties{}
				}
				rm := uint16(brokerReceiveMaximum)
				cp.Properties.ReceiveMaximum = &rm
				return cp, nil
			},
			OnConnectionUp: func(cm *autopaho.ConnectionManager, ca *paho.Connack) {
				// A resumed session keeps its subscriptions; subscribing
				// again is harmless and covers a session the broker lost.
				go func() {
					sctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
					defer cancel()
					if _, err := cm.Subscribe(sctx, subscribe); err != nil && b.ctx.Err() == nil {
						log.Error("subscribing to the IoT Hub topics failed; the broker must allow this client to subscribe to $share/<group>/devices/#", "client", clientID, "error", err)
					}
				}()
				log.Debug("connected to the MQTT broker", "client", clientID, "sessionPresent", ca.SessionPresent)
			},
			OnConnectError: func(err error) {
				if b.ctx.Err() != nil {
					return
				}
				log.Warn("cannot connect to the MQTT broker; retrying", "client", clientID, "error", err)
				errMu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				errMu.Unlock()
				var ce *autopaho.ConnackError
				if errors.As(err, &ce) {
					refuse.Do(func() { close(refused) })
				}
			},
			ClientConfig: paho.ClientConfig{
				ClientID:                   clientID,
				EnableManualAcknowledgment: true,
				SendAcksInterval:           5 * time.Millisecond,
				OnPublishReceived:          []func(paho.PublishReceived) (bool, error){b.onPublish},
			},
		}
		cm, err := autopaho.NewConnection(b.ctx, cfg)
		if err != nil {
			b.Close()
			return nil, fmt.Errorf("MQTT broker %s: %w", o.Broker.Address, err)
		}
		b.conns = append(b.conns, cm)
	}
	wctx, cancel := context.WithTimeout(ctx, o.ConnectTimeout)
	defer cancel()
	go func() {
		select {
		case <-refused:
			cancel()
		case <-wctx.Done():
		}
	}()
	for _, cm := range b.conns {
		if err := cm.AwaitConnection(wctx); err != nil {
			b.Close()
			errMu.Lock()
			if firstErr != nil {
				err = firstErr
			}
			errMu.Unlock()
			return nil, fmt.Errorf("MQTT broker %s did not accept a connection for IoT hub %s (check iotHubs.%s.mqtt: address, tls, caFile, username, password): %w", o.Broker.Address, o.Hub, o.Hub, err)
		}
	}
	log.Info("reading IoT hub messages from the MQTT broker", "sessions", len(b.conns), "eventHub", o.Topic)
	return b, nil
}

// Topic is the embedded event hub the bridge writes to.
func (b *Bridge) Topic() string { return b.o.Topic }

// Close disconnects the sessions (the broker keeps them, and queues their
// messages, for SessionExpiry) and stops writing. Messages received but not
// yet acknowledged come again when a session resumes.
func (b *Bridge) Close() error {
	b.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		for _, cm := range b.conns {
			_ = cm.Disconnect(ctx)
		}
		cancel()
		b.cancel()
		for _, cm := range b.conns {
			<-cm.Done()
		}
		b.ep.close()
	})
	return nil
}

// onPublish stores one broker message; paho calls it in receive order, one
// at a time, so it only starts the store.
func (b *Bridge) onPublish(pr paho.PublishReceived) (bool, error) {
	pk, cl := pr.Packet, pr.Client
	ack := func() {
		select {
		case <-cl.Done():
			// The connection is gone: the broker sends the message again
			// on the resumed session (and the duplicate check catches it).
		default:
			_ = cl.Ack(pk)
		}
	}
	device, module, bag, ok := ParseTelemetryTopic(pk.Topic)
	if !ok || len(pk.Payload) > MaxMessageSize {
		// Acknowledged and dropped: storing it could never succeed, and an
		// unacknowledged message would come back forever.
		b.log.Warn("MQTT message dropped: not IoT Hub telemetry, or larger than IoT Hub's limit", "topic", pk.Topic, "bytes", len(pk.Payload))
		ack()
		return true, nil
	}
	app, sys, err := ParsePropertyBag(bag)
	if err != nil {
		b.log.Warn("MQTT message dropped: its topic's property bag is not URL-encoded", "topic", pk.Topic, "error", err)
		ack()
		return true, nil
	}
	if pk.Retain {
		app = append(app, Property{"mqtt-retain", "true"})
	}
	if p := pk.Properties; p != nil {
		for _, up := range p.User {
			app = append(app, Property{up.Key, up.Value})
		}
		sys = withContentType(sys, p.ContentType)
	}
	key := ""
	if mid := sys[PropMessageID]; mid != "" {
		key = recentKey(device, module, mid)
		if pk.Duplicate() && b.seen.has(key) {
			b.log.Debug("redelivered MQTT message already stored; dropped", "device", device, "messageId", mid)
			ack()
			return true, nil
		}
	}
	id := Identity{Hub: b.o.Hub, Device: device, Module: module, GenerationID: GenerationID(b.o.Hub, device)}
	// The endpoint bounds every store by StoreTimeout itself (the appender
	// per write, the Kafka producer with a timer), and fails what is
	// pending when the bridge closes: no deadline per message here.
	b.ep.storeTo(b.ctx, b.o.Topic, id, app, sys, pk.Payload, func(err error) {
		if err != nil {
			// Not acknowledged; the broker resends it only on a new
			// connection, so drop this one (the session stays).
			if b.ctx.Err() == nil {
				b.log.Warn("MQTT message not stored; reconnecting so the broker sends it again", "device", device, "error", err)
				go cl.Disconnect(&paho.Disconnect{ReasonCode: 0x80})
			}
			return
		}
		if key != "" {
			b.seen.add(key)
		}
		ack()
	})
	return true, nil
}

// dial reads the broker's address and TLS settings.
func (br Broker) dial() (*url.URL, *tls.Config, error) {
	scheme := "mqtt"
	var cfg *tls.Config
	if br.TLS {
		scheme = "tls"
		host, _, _ := strings.Cut(br.Address, ":")
		cfg = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
		if br.CAFile != "" {
			pem, err := os.ReadFile(br.CAFile)
			if err != nil {
				return nil, nil, fmt.Errorf("MQTT broker caFile: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, nil, fmt.Errorf("MQTT broker caFile %s holds no PEM certificate", br.CAFile)
			}
			cfg.RootCAs = pool
		}
	}
	u, err := url.Parse(scheme + "://" + br.Address)
	if err != nil || u.Port() == "" {
		return nil, nil, fmt.Errorf("MQTT broker address %q: want host:port", br.Address)
	}
	if _, err := strconv.Atoi(u.Port()); err != nil {
		return nil, nil, fmt.Errorf("MQTT broker address %q: want host:port", br.Address)
	}
	return u, cfg, nil
}

// recentKey is a message's key in recentIDs: a message id is unique per
// device (or module), not across the hub.
func recentKey(device, module, messageID string) string {
	return device + "\x00" + module + "\x00" + messageID
}

// recentIDs remembers the last n keys added (a ring with an index).
type recentIDs struct {
	mu   sync.Mutex
	ring []string
	next int
	set  map[string]int // key → how many times it is in the ring
}

func newRecentIDs(n int) *recentIDs {
	return &recentIDs{ring: make([]string, n), set: make(map[string]int, n)}
}

func (r *recentIDs) add(key string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if old := r.ring[r.next]; old != "" {
		if r.set[old]--; r.set[old] <= 0 {
			delete(r.set, old)
		}
	}
	r.ring[r.next] = key
	r.set[key]++
	r.next = (r.next + 1) % len(r.ring)
}

func (r *recentIDs) has(key string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.set[key] > 0
}
