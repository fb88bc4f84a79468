package app

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"

	"odx/internal/arm"
	"odx/internal/blobstore"
	"odx/internal/config"
	"odx/internal/connect"
	"odx/internal/connect/armadapter"
	"odx/internal/connect/eventgrid"
	"odx/internal/connect/eventhub"
	iotconn "odx/internal/connect/iothub"
	"odx/internal/hub"
	"odx/internal/iothub"
)

// Folders of the embedded sources under the data directory.
const (
	EventHubDir = "eventhub" // the embedded event hub's topics
	StorageDir  = "storage"  // embedded blob storage: storage/<account>/<container>/...
)

// dataConnections is the running side of data connections: the embedded
// event hub, the embedded IoT hub's device endpoint, and the connection
// manager with its connectors.
type dataConnections struct {
	hub      *hub.Hub
	devices  *iothub.Server // the embedded IoT hub's device endpoint (MQTT over TLS)
	grid     *eventgrid.Connector
	registry *connect.Registry
	manager  *connect.Manager
}

// startDataConnections starts the embedded event hub on --kafka-listen
// (persisted under DIR/eventhub) and the manager over the pipeline's sink.
func startDataConnections(cfg config.Serve, serverTLS *tls.Config, sink connect.Sink, checkpoints connect.Checkpoints, log *slog.Logger) (_ *dataConnections, err error) {
	d := &dataConnections{registry: connect.NewRegistry()}
	defer func() {
		if err != nil {
			d.close()
		}
	}()
	d.hub, err = hub.Start(hub.Options{Listen: cfg.KafkaListen, DataDir: filepath.Join(cfg.DataDir, EventHubDir), Logger: log})
	if err != nil {
		return nil, err
	}
	opts := eventHubOptions(cfg.File, d.hub.Addr())
	host, _ := os.Hostname()
	opts.NodeID = host + ":" + cfg.DataDir // stable across restarts, distinct between nodes
	hubs := eventhub.New(opts)
	if err := eventhub.Register(d.registry, hubs); err != nil {
		return nil, err
	}
	if err := d.startEventGrid(cfg, hubs, log); err != nil {
		return nil, err
	}
	if err := d.startIoT(cfg, serverTLS, opts.NodeID, log); err != nil {
		return nil, err
	}
	d.manager, err = connect.NewManager(connect.Options{Registry: d.registry, Sink: sink, Checkpoints: checkpoints, Logger: log,
		EventItemBytes: connect.EventItemBytes})
	if err != nil {
		return nil, fmt.Errorf("data connections: %w", err)
	}
	return d, nil
}

// startEventGrid registers the EventGrid connector: notifications come from
// event hubs (the same connector instance resolves them), blobs from the
// config's storage accounts or, for any other account, DIR/storage/<account>.
func (d *dataConnections) startEventGrid(cfg config.Serve, hubs *eventhub.Connector, log *slog.Logger) error {
	accounts := map[string]blobstore.Account{}
	for name, sa := range cfg.File.StorageAccounts {
		accounts[name] = blobstore.Account{BlobEndpoint: sa.BlobEndpoint, AccountKey: sa.AccountKey, SASToken: sa.SASToken}
	}
	blobs := blobstore.New(blobstore.Options{Accounts: accounts, Root: filepath.Join(cfg.DataDir, StorageDir)})
	grid, err := eventgrid.New(eventgrid.Options{Hubs: hubs, Blobs: blobs, Logger: log})
	if err != nil {
		return err
	}
	d.grid = grid
	return eventgrid.Register(d.registry, grid)
}

// startIoT starts the embedded IoT hub's device endpoint on --mqtt-listen,
// writing device messages to the embedded event hub, and registers the
// IotHub connector for embedded and config-bound hubs.
func (d *dataConnections) startIoT(cfg config.Serve, serverTLS *tls.Config, nodeID string, log *slog.Logger) error {
	policies := map[string]map[string]string{}
	bound := map[string]iotconn.BoundHub{}
	for name, ih := range cfg.File.IoTHubs {
		if len(ih.Policies) > 0 {
			policies[name] = ih.Policies
		}
		if k := ih.EventHubEndpoint; len(k.Brokers) > 0 {
			bound[name] = iotconn.BoundHub{Endpoint: kafkaEndpoint(k), EventHubName: ih.EventHubName}
		}
		if ih.MQTT != nil {
			bound[name] = iotconn.BoundHub{Broker: mqttBroker(*ih.MQTT)}
		}
	}
	keys, err := iothub.OpenKeys(cfg.DataDir, policies)
	if err != nil {
		return err
	}
	// Embedded hubs named in the config exist from the start, with their keys.
	for name := range cfg.File.IoTHubs {
		if _, isBound := bound[name]; !isBound {
			if _, err := keys.EnsureHub(name); err != nil {
				return err
			}
		}
	}
	d.devices, err = iothub.Start(iothub.Options{Listen: cfg.MQTTListen, TLS: serverTLS, Keys: keys, EventHub: d.hub, Logger: log})
	if err != nil {
		return err
	}
	return iotconn.Register(d.registry, iotconn.New(iotconn.Options{
		Keys: keys, Hubs: bound, NodeID: nodeID,
		Embedded: &eventhub.Endpoint{Brokers: []string{d.hub.Addr()}, Partitions: hub.DefaultPartitions, StaticMembership: true},
		// Bridged broker messages are appended in-process, as device messages are.
		EmbeddedHub: d.hub,
	}))
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
		o.Namespaces[name] = kafkaEndpoint(ns.Kafka)
	}
	return o
}

// kafkaEndpoint translates a config Kafka endpoint for the connectors.
func kafkaEndpoint(k config.Kafka) eventhub.Endpoint {
	ep := eventhub.Endpoint{Brokers: k.Brokers, TLS: k.TLS, CAFile: k.CAFile}
	if s := k.SASL; s != nil {
		ep.SASL = &eventhub.SASL{Mechanism: s.Mechanism, Username: s.Username, Password: s.Password}
	}
	return ep
}

func (d *dataConnections) armConnections() arm.Connections { return armadapter.New(d.manager) }

func (d *dataConnections) collectors() []prometheus.Collector {
	cs := append(d.manager.Collectors(), d.devices.Collectors()...)
	return append(cs, d.grid.Collector())
}

// close stops taking device messages, then every connection (each commits
// what it read), then the event hub they read from.
func (d *dataConnections) close() {
	if d.devices != nil {
		d.devices.Close()
	}
	if d.manager != nil {
		d.manager.Close()
	}
	if d.hub != nil {
		d.hub.Close()
	}
}
