// Package eventgrid is the Event Grid data connection: it reads the blob
// notifications Event Grid delivers to an event hub (Event Grid schema or
// CloudEvents 1.0), and ingests each announced blob of the connection's
// storage account exactly once through the Sink's connect.BlobSink
// extension: the blob's identity (URL and ETag) and the notification's
// position commit with its rows.
//
// Storage accounts the configuration binds are read with azblob (Azure
// Storage or Azurite); any other account is a folder of odx's embedded
// storage, whose new files the connection announces on its own event hub
// as BlobCreated notifications (announce.go), so dropping a file into
// <data dir>/storage/<account>/<container>/ ingests it.
package eventgrid

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"odx/internal/blobstore"
	"odx/internal/connect"
	"odx/internal/connect/eventhub"
)

// Data connection kinds this connector serves.
const (
	KindEventGrid                    = "EventGrid"
	KindEventGridWithManagedIdentity = "EventGridWithManagedIdentity"
)

// Spec.Extra keys an Event Grid connection uses (ARM property names).
// Spec.Source is the event hub the notifications arrive on
// (eventHubResourceId); the storage account is in Extra.
const (
	ExtraStorageAccount       = "storageAccountResourceId"
	ExtraStorageAccountMI     = "storageAccountResourceIdForManagedIdentity"
	ExtraEventHub             = "eventHubResourceId" // accepted when Source holds the storage account instead
	ExtraBlobStorageEventType = "blobStorageEventType"
	ExtraIgnoreFirstRecord    = "ignoreFirstRecord" // "true" or "false"
)

// MaxBlobBytes is ADX's limit on one blob: 6 GB uncompressed.
const MaxBlobBytes = int64(6) << 30

// Error codes of blobs that are not ingested (ADX's error-codes.md).
const (
	CodeFileTooLarge   = "BadRequest_FileTooLarge"
	CodeSourceNotFound = "Download_SourceNotFound"
	CodeInvalidBlob    = "BadRequest_InvalidBlob"
	CodeBadEvent       = "BadRequest_CorruptedMessage"
)

// Options configure the connector.
type Options struct {
	// Hubs resolves event hub namespaces to endpoints exactly as Event Hub
	// connections do (configured namespaces, else the embedded hub).
	Hubs *eventhub.Connector
	// Blobs reads the blobs (configured accounts, else embedded folders).
	Blobs *blobstore.Store
	// MaxBlobBytes is the size limit of one blob; MaxBlobBytes when 0.
	MaxBlobBytes int64
	// PollWait bounds one poll of the notification hub (default 250ms).
	PollWait time.Duration
	// ScanInterval is how often embedded storage folders are scanned for
	// new files (default 1s). A file is announced once it has not changed
	// for one interval, so half-written files are not ingested.
	ScanInterval time.Duration
	// Parallel is how many blobs a connection ingests at a time (default 4).
	Parallel int
	// MinRetry and MaxRetry bound the backoff while storage or the store
	// fails (default 1s and 1m).
	MinRetry, MaxRetry time.Duration
	Logger             *slog.Logger
}

// Connector runs Event Grid data connections.
type Connector struct {
	o Options

	mu       sync.Mutex
	counts   map[string]*blobCounts // by connection key, kept across runs
	watchers map[string]*watcher    // embedded folder announcers by account and hub
}

// New makes the connector. Hubs and Blobs are required.
func New(o Options) (*Connector, error) {
	if o.Hubs == nil || o.Blobs == nil {
		return nil, errors.New("eventgrid: the connector needs Hubs (event hub namespaces) and Blobs (storage accounts)")
	}
	if o.MaxBlobBytes <= 0 {
		o.MaxBlobBytes = MaxBlobBytes
	}
	if o.PollWait <= 0 {
		o.PollWait = 250 * time.Millisecond
	}
	if o.ScanInterval <= 0 {
		o.ScanInterval = time.Second
	}
	if o.Parallel <= 0 {
		o.Parallel = 4
	}
	if o.MinRetry <= 0 {
		o.MinRetry = time.Second
	}
	if o.MaxRetry < o.MinRetry {
		o.MaxRetry = max(time.Minute, o.MinRetry)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Connector{o: o, counts: map[string]*blobCounts{}, watchers: map[string]*watcher{}}, nil
}

// Register serves the Event Grid kinds with c.
func Register(r *connect.Registry, c *Connector) error {
	return errors.Join(r.Register(KindEventGrid, c), r.Register(KindEventGridWithManagedIdentity, c))
}

// config is a connection's definition, parsed.
type config struct {
	namespace, hub string
	accountID      string // the storage account's resource id
	account        string // its name, lower case
	eventType      string // BlobCreated or BlobRenamed
	ignoreFirst    bool
}

func parseSpec(s connect.Spec) (config, []string) {
	var cfg config
	var problems []string
	extra := func(k string) string {
		for kk, v := range s.Extra {
			if strings.EqualFold(kk, k) {
				return v
			}
		}
		return ""
	}
	hubID := s.Source
	cfg.accountID = extra(ExtraStorageAccount)
	if cfg.accountID == "" {
		cfg.accountID = extra(ExtraStorageAccountMI)
	}
	if accountOfTopic(hubID) != "" { // Source holds the storage account
		if cfg.accountID == "" {
			cfg.accountID = hubID
		}
		hubID = extra(ExtraEventHub)
	}
	var err error
	if cfg.namespace, cfg.hub, err = eventhub.ParseEventHubID(hubID); err != nil {
		problems = append(problems, err.Error())
	}
	if cfg.account = accountOfTopic(cfg.accountID); cfg.account == "" {
		problems = append(problems, fmt.Sprintf("storageAccountResourceId %q is not a storage account id; want /subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.Storage/storageAccounts/<account>", cfg.accountID))
	}
	switch t := extra(ExtraBlobStorageEventType); {
	case t == "" || strings.EqualFold(t, BlobCreated):
		cfg.eventType = BlobCreated
	case strings.EqualFold(t, BlobRenamed):
		cfg.eventType = BlobRenamed
	default:
		problems = append(problems, fmt.Sprintf("blobStorageEventType %q: use %s or %s", t, BlobCreated, BlobRenamed))
	}
	if v := extra(ExtraIgnoreFirstRecord); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			problems = append(problems, fmt.Sprintf("ignoreFirstRecord %q: use true or false", v))
		}
		cfg.ignoreFirst = b
	}
	return cfg, problems
}

// Validate checks an Event Grid connection definition.
func (c *Connector) Validate(_ context.Context, s connect.Spec) []string {
	cfg, problems := parseSpec(s)
	if cfg.namespace != "" {
		if _, err := c.o.Hubs.Endpoint(cfg.namespace); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if cfg.account != "" && c.o.Blobs.Embedded(cfg.account) && c.o.Blobs.Root() == "" {
		problems = append(problems, fmt.Sprintf("storage account %s is not bound in the configuration file (storageAccounts) and the embedded storage is off", cfg.account))
	}
	if s.ConsumerGroup == "" {
		problems = append(problems, "consumerGroup is required ($Default is allowed)")
	}
	if f := strings.ToLower(s.Format); f != "" && !slices.Contains(connect.Formats, f) {
		problems = append(problems, fmt.Sprintf("dataFormat %q is not an ADX format; use one of %s", s.Format, strings.Join(connect.Formats, ", ")))
	}
	return problems
}
