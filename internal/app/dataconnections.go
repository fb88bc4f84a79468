package app

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"

	"odx/internal/arm"
	"odx/internal/config"
	"odx/internal/connect"
	"odx/internal/connect/armadapter"
	"odx/internal/connect/eventhub"
	"odx/internal/hub"
)

// EventHubDir is the embedded event hub's directory under the data directory.
const EventHubDir = "eventhub"

// dataConnections is the running side of data connections: the embedded
// event hub and the connection manager with its connectors.
//
// Wiring (in New, after the ingestion pipeline exists):
//
//	a.dc, err = startDataConnections(a.cfg, svc.Sink(), svc.Sink(), log)
//	arm.Options{Connections: a.dc.armConnections(), ...}
//	a.metrics.registry.MustRegister(a.dc.collectors()...)
//	a.arm.StartConnections(ctx) // resume every provisioned connection
//
// and in Close, a.dc.close() before the pipeline and the store close.
type dataConnections struct {
	hub      *hub.Hub
	registry *connect.Registry
	manager  *connect.Manager
}

// startDataConnections starts the embedded event hub on --kafka-listen
// (persisted under DIR/eventhub) and the manager over the pipeline's sink.
func startDataConnections(cfg config.Serve, sink connect.Sink, checkpoints connect.Checkpoints, log *slog.Logger) (*dataConnections, error) {
	h, err := hub.Start(hub.Options{Listen: cfg.KafkaListen, DataDir: filepath.Join(cfg.DataDir, EventHubDir), Logger: log})
	if err != nil {
		return nil, err
	}
	reg := connect.NewRegistry()
	opts := eventHubOptions(cfg.File, h.Addr())
	host, _ := os.Hostname()
	opts.NodeID = host + ":" + cfg.DataDir // stable across restarts, distinct between nodes
	if err := eventhub.Register(reg, eventhub.New(opts)); err != nil {
		h.Close()
		return nil, err
	}
	m, err := connect.NewManager(connect.Options{Registry: reg, Sink: sink, Checkpoints: checkpoints, Logger: log})
	if err != nil {
		h.Close()
		return nil, fmt.Errorf("data connections: %w", err)
	}
	return &dataConnections{hub: h, registry: reg, manager: m}, nil
}

// eventHubOptions translates the config file's eventHubNamespaces; every
// other namespace is served by the embedded hub at embeddedAddr.
func eventHubOptions(f config.File, embeddedAddr string) eventhub.Options {
	o := eventhub.Options{
		Namespaces: map[string]eventhub.Endpoint{},
		Embedded: &eventhub.Endpoint{Brokers: []string{embeddedAddr}, CreateTopics: true, Partitions: hub.DefaultPartitions,
			StaticMembership: true},
	}
	for name, ns := range f.EventHubNamespaces {
		ep := eventhub.Endpoint{Brokers: ns.Kafka.Brokers, TLS: ns.Kafka.TLS, CAFile: ns.Kafka.CAFile}
		if s := ns.Kafka.SASL; s != nil {
			ep.SASL = &eventhub.SASL{Mechanism: s.Mechanism, Username: s.Username, Password: s.Password}
		}
		o.Namespaces[name] = ep
	}
	return o
}

func (d *dataConnections) armConnections() arm.Connections { return armadapter.New(d.manager) }

func (d *dataConnections) collectors() []prometheus.Collector { return d.manager.Collectors() }

// close stops every connection (each commits what it read), then the hub.
func (d *dataConnections) close() {
	d.manager.Close()
	d.hub.Close()
}
