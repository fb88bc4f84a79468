// Package hub is odx's embedded development event hub: a Kafka-protocol
// broker (franz-go's kfake) that serves every event hub namespace the
// configuration does not bind to a real endpoint. Topics are event hub
// names, created on first use (by a data connection or by any producer,
// such as kcat) with four partitions, and persisted under the data
// directory so events survive a restart. odx's own producers (the embedded
// IoT hub) append through an Appender, in process, rather than through a
// Kafka client.
package hub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DefaultRetention is how long the embedded hub keeps events.
const DefaultRetention = 7 * 24 * time.Hour

// DefaultPartitions is the partition count of event hubs created on first
// use (Event Hubs' default is 4 as well).
const DefaultPartitions = 4

// Options configure the embedded hub.
type Options struct {
	// Listen is the Kafka listener address, e.g. 127.0.0.1:9092 (port 0
	// picks a free port; see Addr).
	Listen string
	// Advertise is the host:port the hub tells clients to connect to, when
	// it differs from the listener's address (Listen on 0.0.0.0, clients on
	// other machines). Kafka clients reconnect to the advertised address
	// after their first metadata request, so it must be reachable by them.
	Advertise string
	// DataDir holds the hub's log segments and group offsets; "" keeps
	// everything in memory (tests).
	DataDir string
	// Partitions of auto-created topics; DefaultPartitions when 0.
	Partitions int32
	// Retention is how long events are kept (by their record timestamp);
	// 0 means 7 days, Event Hubs Standard's maximum; negative keeps them
	// forever.
	Retention time.Duration
	// SyncWrites fsyncs every produced batch: slower, but produced events
	// then survive a machine crash, not only a process crash.
	SyncWrites bool
	Logger     *slog.Logger
}

// Hub is a running embedded event hub.
type Hub struct {
	stop       chan struct{}
	done       chan struct{}
	cluster    *kfake.Cluster
	addr       string
	listener   *inProcessListener // also serves Appender's in-memory connections
	partitions int32
	log        *slog.Logger
	creating   sync.Map // topic → struct{}: auto-creations in flight
}

// Start runs the hub. Stop it with Close, which also saves its state.
func Start(o Options) (*Hub, error) {
	if o.Listen == "" {
		o.Listen = "127.0.0.1:9092"
	}
	if o.Advertise != "" {
		if _, _, err := net.SplitHostPort(o.Advertise); err != nil {
			return nil, fmt.Errorf("embedded event hub: advertised address %q: want host:port", o.Advertise)
		}
	}
	if o.Partitions <= 0 {
		o.Partitions = DefaultPartitions
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Retention == 0 {
		o.Retention = DefaultRetention
	}
	// kfake builds its listen address itself (always 127.0.0.1); listen on
	// the configured address instead, so --kafka-listen is honoured.
	var ln *inProcessListener
	listen := func(network, _ string) (net.Listener, error) {
		l, err := net.Listen(network, o.Listen)
		if err != nil {
			return nil, err
		}
		if o.Advertise != "" {
			l = advertised{Listener: l, addr: advertiseAddr(o.Advertise)}
		}
		ln = newInProcessListener(l)
		return ln, nil
	}
	opts := []kfake.Opt{
		kfake.NumBrokers(1), kfake.Ports(0), kfake.ListenFn(listen),
		kfake.ClusterID("odx-embedded-event-hub"),
		kfake.DefaultNumPartitions(int(o.Partitions)),
		kfake.WithLogger(slogLogger{o.Logger}),
	}
	if o.Retention > 0 {
		opts = append(opts, kfake.BrokerConfigs(map[string]string{"log.retention.ms": strconv.FormatInt(o.Retention.Milliseconds(), 10)}))
	}
	if o.DataDir != "" {
		if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("embedded event hub: cannot create %s: %w", o.DataDir, err)
		}
		opts = append(opts, kfake.DataDir(o.DataDir))
		if o.SyncWrites {
			opts = append(opts, kfake.SyncWrites())
		}
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		var addrErr *net.OpError
		if errors.As(err, &addrErr) {
			return nil, fmt.Errorf("embedded event hub cannot listen on %s: %w (is another odx or Kafka running? pick another --kafka-listen)", o.Listen, err)
		}
		return nil, fmt.Errorf("embedded event hub: %w", err)
	}
	h := &Hub{cluster: c, addr: ln.Addr().String(), listener: ln, partitions: o.Partitions, log: o.Logger,
		stop: make(chan struct{}), done: make(chan struct{})}
	c.ControlKey(int16(kmsg.Metadata), h.observeMetadata)
	go h.enforceRetention(o.Retention)
	o.Logger.Info("embedded event hub ready", "kafka", h.addr, "data", o.DataDir)
	return h, nil
}

// observeMetadata creates the topics a client asks to auto-create.
//
// kfake can auto-create topics itself, but it records such topics on disk
// only at a clean shutdown, so a crash would orphan their events. Creating
// them through CreateTopic persists them at once; the client gets
// UNKNOWN_TOPIC_OR_PARTITION for this request and finds the topic on its
// next metadata refresh (franz-go and librdkafka retry within ~100ms).
//
// It runs on kfake's request loop, which CreateTopic needs, so the
// creation happens on another goroutine.
func (h *Hub) observeMetadata(req kmsg.Request) (kmsg.Response, error, bool) {
	h.cluster.KeepControl()
	mr, ok := req.(*kmsg.MetadataRequest)
	if !ok || !mr.AllowAutoTopicCreation {
		return nil, nil, false
	}
	for _, t := range mr.Topics {
		if t.Topic == nil || *t.Topic == "" {
			continue
		}
		name := *t.Topic
		if _, busy := h.creating.LoadOrStore(name, struct{}{}); busy {
			continue
		}
		go func() {
			defer h.creating.Delete(name)
			if err := h.CreateTopic(name); err != nil {
				h.log.Warn("embedded event hub: cannot create event hub on first use", "hub", name, "err", err)
			}
		}()
	}
	return nil, nil, false
}

// dialInProcess connects to the hub without a socket.
func (h *Hub) dialInProcess() (net.Conn, error) {
	select {
	case <-h.stop:
		return nil, errHubClosed
	default:
	}
	return h.listener.dial()
}

// Addr is the Kafka bootstrap address (host:port).
func (h *Hub) Addr() string { return h.addr }

// CreateTopic creates an event hub with the default partition count; an
// existing one is left alone.
func (h *Hub) CreateTopic(name string) error {
	if h.cluster.TopicInfo(name) != nil {
		return nil
	}
	err := h.cluster.CreateTopic(name, h.partitions, nil)
	if err != nil && strings.Contains(err.Error(), "already exists") {
		return nil
	}
	return err
}

// HighWatermarks returns the end offset of each partition of an event
// hub, nil when it does not exist.
func (h *Hub) HighWatermarks(name string) map[int32]int64 {
	if h.cluster.TopicInfo(name) == nil {
		return nil
	}
	out := map[int32]int64{}
	for _, p := range h.cluster.PartitionInfos(name) {
		out[p.Partition] = p.HighWatermark
	}
	return out
}

// enforceRetention drops expired events now and then: kfake applies
// retention by itself only to topics with an explicit retention config.
func (h *Hub) enforceRetention(retention time.Duration) {
	defer close(h.done)
	if retention <= 0 {
		<-h.stop
		return
	}
	t := time.NewTicker(min(max(retention/10, 10*time.Millisecond), time.Hour))
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
			h.cluster.ApplyRetention()
		}
	}
}

// Close stops the hub and writes its state to the data directory.
func (h *Hub) Close() error {
	select {
	case <-h.stop:
		return nil // already closed
	default:
	}
	close(h.stop)
	<-h.done
	h.cluster.Close()
	return nil
}

// advertised is a listener that reports the advertised address, which kfake
// puts into its metadata responses.
type advertised struct {
	net.Listener
	addr net.Addr
}

func (a advertised) Addr() net.Addr { return a.addr }

type advertiseAddr string

func (a advertiseAddr) Network() string { return "tcp" }
func (a advertiseAddr) String() string  { return string(a) }

type slogLogger struct{ l *slog.Logger }

func (s slogLogger) Logf(level kfake.LogLevel, msg string, args ...any) {
	var lv slog.Level
	switch level {
	case kfake.LogLevelError:
		lv = slog.LevelError
	case kfake.LogLevelWarn:
		lv = slog.LevelWarn
	default:
		return // kfake's info and debug output is per request: too chatty for odx's log
	}
	s.l.Log(context.Background(), lv, "embedded event hub: "+fmt.Sprintf(msg, args...))
}
