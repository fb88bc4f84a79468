// Package iothub is odx's embedded IoT hub: a device endpoint that speaks
// IoT Hub's MQTT conventions (MQTT 3.1.1 and 5 over TLS, SAS tokens signed
// with shared access policy or device keys, telemetry topics with property
// bags) and writes every device-to-cloud message, with IoT Hub's system
// properties as record headers, to the hub's built-in endpoint: an event
// hub on odx's embedded Kafka-protocol hub (BuiltInEventHub), from which
// IotHub data connections read.
//
// Code structure: keys.go (hubs and shared access policies, DIR/iothub/keys.json),
// sas.go (SAS tokens, device keys), auth.go (CONNECT checks), message.go
// (topics, property bags, system properties), server.go (the MQTT broker and
// its IoT Hub hook), endpoint.go (writing to the built-in endpoint).
package iothub

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/prometheus/client_golang/prometheus"
)

// MaxMessageSize is IoT Hub's device-to-cloud message size limit.
const MaxMessageSize = 256 * 1024

// EventHub is the embedded event hub the built-in endpoints live on
// (*hub.Hub satisfies it).
type EventHub interface {
	Addr() string
	CreateTopic(name string) error
}

// Options configure the embedded IoT hub.
type Options struct {
	// Listen is the MQTT-over-TLS address (default 127.0.0.1:8883; port 0
	// picks a free port, see Addr).
	Listen string
	// TLS serves the device endpoint (odx's pki Bundle.ServerTLS).
	TLS *tls.Config
	// Keys are the hubs and their policies.
	Keys *Keys
	// EventHub receives the messages.
	EventHub EventHub
	// StoreTimeout bounds how long a message may wait for the event hub
	// before the device is told it failed (default 10s).
	StoreTimeout time.Duration
	Logger       *slog.Logger
}

// Server is a running embedded IoT hub device endpoint.
type Server struct {
	o        Options
	log      *slog.Logger
	broker   *mqtt.Server
	addr     string
	endpoint *endpoint
	metrics  *metrics
	sessions sync.Map // *mqtt.Client → *session
	// ctx ends when Close starts, so that no device waits on a store.
	ctx    context.Context
	cancel context.CancelFunc

	closeOnce sync.Once
	closeErr  error
}

// Start listens and serves devices. Stop it with Close.
func Start(o Options) (*Server, error) {
	if o.Listen == "" {
		o.Listen = "127.0.0.1:8883"
	}
	if o.TLS == nil || o.Keys == nil || o.EventHub == nil {
		return nil, errors.New("iothub: Start needs TLS, Keys and an EventHub")
	}
	if o.StoreTimeout <= 0 {
		o.StoreTimeout = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	ep, err := newEndpoint(o.EventHub, o.StoreTimeout, o.Logger)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		ep.close()
		return nil, fmt.Errorf("embedded IoT hub cannot listen on %s: %w (is another odx or MQTT broker running? pick another --mqtt-listen)", o.Listen, err)
	}
	s := &Server{o: o, log: o.Logger, endpoint: ep, metrics: newMetrics(), addr: ln.Addr().String()}
	s.ctx, s.cancel = context.WithCancel(context.Background())

	caps := mqtt.NewDefaultServerCapabilities()
	caps.MinimumProtocolVersion = 4 // IoT Hub speaks MQTT 3.1.1 (and odx 5 too), not 3.1
	caps.RetainAvailable = 0        // IoT Hub does not store retained messages
	caps.SharedSubAvailable = 0
	caps.MaximumPacketSize = MaxMessageSize + 64*1024 // room for the topic's property bag
	s.broker = mqtt.New(&mqtt.Options{
		Capabilities: caps,
		// mochi logs every client disconnect at info; keep odx's log for
		// what operators need.
		Logger: slog.New(discardAbove{o.Logger.Handler(), slog.LevelWarn}),
	})
	if err := s.broker.AddHook(&deviceHook{s: s}, nil); err != nil {
		ln.Close()
		ep.close()
		return nil, err
	}
	tlsCfg := o.TLS.Clone()
	tlsCfg.NextProtos = nil
	if err := s.broker.AddListener(listeners.NewNet("iothub", tls.NewListener(ln, tlsCfg))); err != nil {
		ln.Close()
		ep.close()
		return nil, err
	}
	if err := s.broker.Serve(); err != nil {
		ln.Close()
		ep.close()
		return nil, fmt.Errorf("embedded IoT hub: %w", err)
	}
	o.Logger.Info("embedded IoT hub ready", "mqtt", s.addr, "keys", o.Keys.Path())
	return s, nil
}

// Addr is the MQTT-over-TLS address (host:port).
func (s *Server) Addr() string { return s.addr }

// Close disconnects devices and stops the endpoint. Messages already
// acknowledged are in the event hub. Closing twice is harmless.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.cancel()
		s.closeErr = s.broker.Close()
		s.endpoint.close()
	})
	return s.closeErr
}

// deviceHook applies IoT Hub's rules to the MQTT broker.
type deviceHook struct {
	mqtt.HookBase
	s *Server
}

func (h *deviceHook) ID() string { return "odx-iothub" }

func (h *deviceHook) Provides(b byte) bool {
	switch b {
	case mqtt.OnConnectAuthenticate, mqtt.OnACLCheck, mqtt.OnPublish, mqtt.OnDisconnect, mqtt.OnWill:
		return true
	}
	return false
}

// session is what the hook keeps per connected device: its identity and
// what every one of its messages needs, resolved once at connect.
type session struct {
	id     Identity
	topic  string // the hub's built-in event hub
	stored prometheus.Counter
	bytes  prometheus.Counter
}

// OnConnectAuthenticate checks the client id, username and SAS token.
func (h *deviceHook) OnConnectAuthenticate(cl *mqtt.Client, pk packets.Packet) bool {
	id, err := h.s.o.Keys.Authenticate(cl.ID, string(pk.Connect.Username), string(pk.Connect.Password), time.Now())
	if err != nil {
		h.s.log.Warn("IoT device refused", "client", cl.ID, "remote", cl.Net.Remote, "error", err)
		h.s.metrics.refused.Inc()
		return false
	}
	h.s.sessions.Store(cl, &session{id: id, topic: BuiltInEventHub(id.Hub),
		stored: h.s.metrics.stored.WithLabelValues(id.Hub), bytes: h.s.metrics.bytes.WithLabelValues(id.Hub)})
	h.s.metrics.connected.WithLabelValues(id.Hub).Inc()
	h.s.log.Debug("IoT device connected", "hub", id.Hub, "device", id.Device, "module", id.Module, "scope", id.Scope)
	return true
}

func (h *deviceHook) OnDisconnect(cl *mqtt.Client, _ error, _ bool) {
	if v, ok := h.s.sessions.LoadAndDelete(cl); ok {
		h.s.metrics.connected.WithLabelValues(v.(*session).id.Hub).Dec()
	}
}

// OnWill drops last-will messages: IoT Hub has none.
func (h *deviceHook) OnWill(_ *mqtt.Client, w mqtt.Will) (mqtt.Will, error) {
	return w, errors.New("IoT Hub has no last-will messages")
}

// OnACLCheck lets a device publish only its own telemetry and subscribe
// only to its own cloud-to-device topic (which odx never feeds).
func (h *deviceHook) OnACLCheck(cl *mqtt.Client, topic string, write bool) bool {
	v, ok := h.s.sessions.Load(cl)
	if !ok {
		return false
	}
	id := &v.(*session).id
	if write {
		d, m, _, ok := ParseTelemetryTopic(topic)
		return ok && d == id.Device && m == id.Module
	}
	prefix := "devices/" + id.Device + "/"
	if id.Module != "" {
		prefix += "modules/" + id.Module + "/"
	}
	return topic == prefix+"messages/devicebound/#"
}

// errReject is mochi's "the hook took care of it", boxed once rather than
// for every rejected packet.
var errReject error = packets.ErrRejectPacket

// OnPublish hands the message to the hub's built-in endpoint. A QoS 1
// message is acknowledged (PUBACK, written here rather than by mochi) only
// once the event hub has stored it; messages of one device are stored and
// acknowledged in order, several in flight at a time. A message that
// cannot be stored is never acknowledged: MQTT 5 devices get a failure
// PUBACK, MQTT 3.1.1 devices (which have no negative acknowledgement) are
// disconnected and resend it.
func (h *deviceHook) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	v, ok := h.s.sessions.Load(cl)
	if !ok {
		return pk, errReject
	}
	// The callback below outlives this call: it captures the fields it
	// needs, not pk (a large struct that would be copied to the heap for
	// every message).
	ss := v.(*session)
	m := message{h: h, cl: cl, ss: ss, qos: pk.FixedHeader.Qos, packetID: pk.PacketID, size: len(pk.Payload)}
	if pk.FixedHeader.Qos > 1 {
		// IoT Hub closes the connection of a device that publishes at QoS 2.
		cl.Stop(errors.New("IoT Hub does not support QoS 2"))
		return pk, errReject
	}
	if len(pk.Payload) > MaxMessageSize {
		m.fail(packets.ErrPacketTooLarge, fmt.Sprintf("message of %d bytes exceeds IoT Hub's %d-byte limit", len(pk.Payload), MaxMessageSize))
		return pk, errReject
	}
	_, _, bag, _ := ParseTelemetryTopic(pk.TopicName)
	app, sys, err := ParsePropertyBag(bag)
	if err != nil {
		m.fail(packets.ErrPayloadFormatInvalid, err.Error())
		return pk, errReject
	}
	if pk.FixedHeader.Retain {
		// IoT Hub does not retain; it marks the message instead.
		app = append(app, Property{"mqtt-retain", "true"})
	}
	for _, up := range pk.Properties.User { // MQTT 5 user properties are application properties too
		app = append(app, Property{up.Key, up.Val})
	}
	sys = withContentType(sys, pk.Properties.ContentType)
	// The endpoint fails the store after StoreTimeout, and at once when the server stops.
	h.s.endpoint.storeTo(h.s.ctx, ss.topic, ss.id, app, sys, pk.Payload, m.stored)
	// mochi must neither acknowledge (m.stored does, once stored), retain
	// nor fan the message out (nothing subscribes to telemetry). The
	// packet goes back marked Ignore at QoS 0, which mochi passes over
	// quietly: rejecting it instead costs a debug-log record holding a
	// copy of the packet, built for every message even with debug off.
	pk.FixedHeader.Qos, pk.FixedHeader.Retain, pk.Ignore = 0, false, true
	return pk, nil
}

// message is one device message waiting for the event hub.
type message struct {
	h        *deviceHook
	cl       *mqtt.Client
	ss       *session
	qos      byte
	packetID uint16
	size     int
}

// stored acknowledges the message once the event hub has it, or fails it.
func (m message) stored(err error) {
	if err != nil {
		m.fail(packets.ErrUnspecifiedError, "the message could not be stored: "+err.Error())
		return
	}
	m.ss.stored.Inc()
	m.ss.bytes.Add(float64(m.size))
	if m.qos == 1 {
		_ = m.cl.WritePacket(puback(m.packetID, packets.CodeSuccess, ""))
	}
}

// fail tells the device its message was not stored: a failure PUBACK for
// MQTT 5, a disconnect for MQTT 3.1.1 (which has no negative PUBACK).
func (m message) fail(code packets.Code, why string) {
	id := &m.ss.id
	m.h.s.metrics.failed.WithLabelValues(id.Hub).Inc()
	m.h.s.log.Warn("IoT device message not stored", "hub", id.Hub, "device", id.Device, "reason", why)
	if m.cl.Properties.ProtocolVersion == 5 && m.qos > 0 {
		_ = m.cl.WritePacket(puback(m.packetID, code, why))
		return
	}
	m.cl.Stop(errors.New(why))
}

func puback(id uint16, code packets.Code, reason string) packets.Packet {
	pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Puback}, PacketID: id, ReasonCode: code.Code,
		Created: time.Now().Unix()}
	if code.Code >= packets.ErrUnspecifiedError.Code {
		pk.Properties.ReasonString = reason
	}
	return pk
}

// discardAbove passes only records at or above a level.
type discardAbove struct {
	slog.Handler
	min slog.Level
}

func (d discardAbove) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= d.min && d.Handler.Enabled(ctx, l)
}

func (d discardAbove) WithAttrs(a []slog.Attr) slog.Handler {
	return discardAbove{d.Handler.WithAttrs(a), d.min}
}

func (d discardAbove) WithGroup(g string) slog.Handler {
	return discardAbove{d.Handler.WithGroup(g), d.min}
}
