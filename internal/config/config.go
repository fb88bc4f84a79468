// Package config is odx's process configuration: the flags of `odx serve` and
// the optional YAML file that binds Azure resource names (event hub
// namespaces, storage accounts, IoT hubs) to real endpoints.
//
// Only cmd and the composition root (internal/app) read it; domain packages
// get their own option structs.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Defaults for `odx serve`, fixed by DESIGN.md.
const (
	DefaultDataDir     = "./odx-data"
	DefaultListen      = "127.0.0.1:8443"
	DefaultKafkaListen = "127.0.0.1:9092"
	DefaultMQTTListen  = "127.0.0.1:8883"
	DefaultEndpoint    = "https://127.0.0.1:8443"
)

// Serve is everything `odx serve` needs.
type Serve struct {
	DataDir     string
	Listen      string
	KafkaListen string
	MQTTListen  string
	File        File // from --config, zero when none
	FilePath    string
}

// File is the YAML configuration file.
type File struct {
	// PublicURL is the https URL clients use to reach odx when it differs from
	// the request's Host (behind a proxy or a DNS name). Used for OpenID
	// discovery, ARM async-operation links and cluster URIs.
	PublicURL string `yaml:"publicURL"`
	// TLSHosts are extra DNS names or IPs for the server certificate.
	TLSHosts []string `yaml:"tlsHosts"`
	// MemoryLimit caps DuckDB's memory, e.g. "8GB".
	MemoryLimit string `yaml:"memoryLimit"`
	// CheckpointThreshold is the write-ahead log size at which DuckDB
	// checkpoints, e.g. "256MB" (engine.DefaultCheckpointThreshold when empty).
	CheckpointThreshold string `yaml:"checkpointThreshold"`
	// RetentionInterval is how often expired extents are dropped (default 1m).
	RetentionInterval Duration `yaml:"retentionInterval"`
	// IngestAllowedDirs are local folders that `.ingest into ... (h'/path')` may read.
	IngestAllowedDirs []string `yaml:"ingestAllowedDirs"`

	EventHubNamespaces map[string]EventHubNamespace `yaml:"eventHubNamespaces"`
	StorageAccounts    map[string]StorageAccount    `yaml:"storageAccounts"`
	IoTHubs            map[string]IoTHub            `yaml:"iotHubs"`
}

// EventHubNamespace binds .../Microsoft.EventHub/namespaces/<name> to a Kafka endpoint.
type EventHubNamespace struct {
	Kafka Kafka `yaml:"kafka"`
}

// Kafka is a Kafka-protocol endpoint (Azure Event Hubs, Kafka, Redpanda).
type Kafka struct {
	Brokers []string `yaml:"brokers"`
	TLS     bool     `yaml:"tls"`
	CAFile  string   `yaml:"caFile"`
	SASL    *SASL    `yaml:"sasl"`
}

// SASL authenticates to a Kafka endpoint. Mechanism is PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512.
type SASL struct {
	Mechanism string `yaml:"mechanism"`
	Username  string `yaml:"username"`
	Password  string `yaml:"password"`
}

// StorageAccount binds .../Microsoft.Storage/storageAccounts/<name> to a blob endpoint.
type StorageAccount struct {
	BlobEndpoint string `yaml:"blobEndpoint"` // e.g. https://acct.blob.core.windows.net or Azurite's http://127.0.0.1:10000/devstoreaccount1
	AccountKey   string `yaml:"accountKey"`
	SASToken     string `yaml:"sasToken"`
}

// IoTHub binds .../Microsoft.Devices/IotHubs/<name> to its built-in Event
// Hub-compatible endpoint, or to an MQTT broker its devices publish to
// (MQTT); with neither, the hub is odx's embedded IoT hub.
type IoTHub struct {
	EventHubEndpoint Kafka             `yaml:"eventHubEndpoint"`
	EventHubName     string            `yaml:"eventHubName"`
	Policies         map[string]string `yaml:"policies"` // extra shared access policies: name → base64 key
	MQTT             *MQTTBroker       `yaml:"mqtt"`
}

// MQTTBroker is an existing MQTT 5 broker (e.g. mosquitto) carrying an IoT
// hub's device messages in IoT Hub's topic layout
// (devices/{deviceId}/messages/events/{property bag}). Each consumer group
// reads it with a shared subscription ($share/<group>/devices/+/messages/events/#).
type MQTTBroker struct {
	Address        string   `yaml:"address"` // host:port
	TLS            bool     `yaml:"tls"`
	CAFile         string   `yaml:"caFile"` // PEM CA to trust with tls (system roots otherwise)
	Username       string   `yaml:"username"`
	Password       string   `yaml:"password"`
	ClientIDPrefix string   `yaml:"clientIdPrefix"` // default "odx-"
	Sessions       int      `yaml:"sessions"`       // MQTT sessions per consumer group (default 2)
	SessionExpiry  Duration `yaml:"sessionExpiry"`  // how long the broker queues for an absent odx (default 24h)
}

// Duration is a time.Duration written as "30s", "5m".
type Duration time.Duration

func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration (use 30s, 5m, 1h)", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// Load reads and validates a config file. `${VAR}` references are replaced by
// environment variables, so secrets such as connection strings stay out of the file.
func Load(path string) (File, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return File{}, fmt.Errorf("cannot read config: %w", err)
	}
	var missing []string
	expanded := envRef.ReplaceAllFunc(raw, func(m []byte) []byte {
		name := string(m[2 : len(m)-1])
		v, ok := os.LookupEnv(name)
		if !ok {
			missing = append(missing, name)
		}
		return []byte(v)
	})
	if len(missing) > 0 {
		return File{}, fmt.Errorf("%s: environment variables not set: %s", path, strings.Join(missing, ", "))
	}
	var f File
	dec := yaml.NewDecoder(bytes.NewReader(expanded))
	dec.KnownFields(true)
	// An empty file decodes to io.EOF: it is a valid, empty configuration.
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return File{}, fmt.Errorf("%s: %w", path, err)
	}
	if err := f.Validate(); err != nil {
		return File{}, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// Validate reports every problem of the file at once.
func (f File) Validate() error {
	var errs []error
	if f.PublicURL != "" && !strings.HasPrefix(f.PublicURL, "https://") {
		errs = append(errs, fmt.Errorf("publicURL %q: must be an https URL (the Azure SDKs refuse http authorities)", f.PublicURL))
	}
	for name, ns := range f.EventHubNamespaces {
		if err := ns.Kafka.validate(); err != nil {
			errs = append(errs, fmt.Errorf("eventHubNamespaces.%s.kafka: %w", name, err))
		}
	}
	for name, sa := range f.StorageAccounts {
		if sa.BlobEndpoint == "" {
			errs = append(errs, fmt.Errorf("storageAccounts.%s: blobEndpoint is required", name))
		}
		if sa.AccountKey == "" && sa.SASToken == "" {
			errs = append(errs, fmt.Errorf("storageAccounts.%s: set accountKey or sasToken", name))
		}
	}
	for name, hub := range f.IoTHubs {
		if hub.MQTT != nil {
			if err := hub.MQTT.validate(); err != nil {
				errs = append(errs, fmt.Errorf("iotHubs.%s.mqtt: %w", name, err))
			}
			if len(hub.EventHubEndpoint.Brokers) > 0 {
				errs = append(errs, fmt.Errorf("iotHubs.%s: set mqtt or eventHubEndpoint, not both", name))
			}
		}
		if len(hub.EventHubEndpoint.Brokers) > 0 {
			if err := hub.EventHubEndpoint.validate(); err != nil {
				errs = append(errs, fmt.Errorf("iotHubs.%s.eventHubEndpoint: %w", name, err))
			}
		}
	}
	return errors.Join(errs...)
}

func (m MQTTBroker) validate() error {
	if _, port, err := net.SplitHostPort(m.Address); err != nil || port == "" {
		return fmt.Errorf("address %q: want host:port (e.g. 127.0.0.1:1883)", m.Address)
	}
	if m.Sessions < 0 || m.Sessions > 64 {
		return fmt.Errorf("sessions %d: use 1 to 64 (0 for the default, 2)", m.Sessions)
	}
	if m.SessionExpiry < 0 {
		return errors.New("sessionExpiry must not be negative")
	}
	if m.CAFile != "" && !m.TLS {
		return errors.New("caFile is set but tls is not: set tls: true")
	}
	if strings.ContainsAny(m.ClientIDPrefix, "/+#") {
		return fmt.Errorf("clientIdPrefix %q: must not contain '/', '+' or '#'", m.ClientIDPrefix)
	}
	return nil
}

func (k Kafka) validate() error {
	if len(k.Brokers) == 0 {
		return errors.New("brokers: at least one host:port is required")
	}
	for _, b := range k.Brokers {
		if _, _, err := net.SplitHostPort(b); err != nil {
			return fmt.Errorf("broker %q: want host:port", b)
		}
	}
	if k.SASL != nil {
		switch strings.ToUpper(k.SASL.Mechanism) {
		case "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512":
		default:
			return fmt.Errorf("sasl.mechanism %q: use PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", k.SASL.Mechanism)
		}
	}
	return nil
}
