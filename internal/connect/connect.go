// Package connect runs odx's data connections: it defines the contract
// between connectors (Event Hub, Event Grid, IoT Hub) and the ingestion
// pipeline (Sink, Checkpoints), the connector registry (kind → Connector),
// the exactly-once batcher every connector feeds, and the Manager that turns
// data connection definitions into running consumers with visible state.
//
// connect and its connectors are cgo-free: they never import the ingestion
// pipeline or storage. The composition root (internal/app) hands the
// pipeline's Sink and Checkpoints to the Manager.
package connect

import (
	"context"
	"time"
)

// Event is one message read from a partition of an event hub (Kafka record).
type Event struct {
	Partition      int32
	Offset         int64             // Kafka offset (x-opt-offset)
	SequenceNumber int64             // x-opt-sequence-number (= Kafka offset on Kafka-protocol hubs)
	EnqueuedTime   time.Time         // x-opt-enqueued-time (record timestamp)
	PartitionKey   string            // x-opt-partition-key (record key)
	Properties     map[string]string // record headers that routing or eventSystemProperties read
	Body           []byte
}

// Route says where and how an event's body is ingested (connection defaults
// overridden per event by the Table/Format/IngestionMappingReference/... properties).
type Route struct {
	Database, Table string
	Format          string // ADX format name, lower case: csv, json, multijson, avro, ...
	Mapping         string // ingestion mapping reference, "" for identity
	Compression     string // "", "none" or "gzip"
	Encoding        string // "", "UTF8", "UTF16"
	Tags            []string
}

// SystemProperty is one eventSystemProperties value to add to the event's first record
// (prepended CSV field or JSON field, as ADX places it).
type SystemProperty struct {
	Name  string // e.g. "x-opt-enqueued-time"
	Value any    // time.Time, int64, string
}

// Item is one event routed for ingestion.
type Item struct {
	Route            Route
	Event            Event
	Source           string           // human-readable origin for failures: "<namespace>/<hub>/partition <p>/offset <o>"
	SystemProperties []SystemProperty // in the order the connection lists them
}

// Position is the next offset to read on a partition after a commit.
type Position struct {
	Partition  int32
	NextOffset int64
}

// Commit is a batch of items for ONE target table (all items share Route.Database and
// Route.Table) plus the partition positions they advance to.
type Commit struct {
	Connection string // the data connection's ARM id (lower case)
	Items      []Item
	Positions  []Position
}

// Report says what a commit did.
type Report struct {
	Rows     int64
	Failures []string // one message per item or record that could not be decoded/mapped
}

// BatchingPolicy is the target table's effective ingestion batching policy.
type BatchingPolicy struct {
	MaxDelay time.Duration // MaximumBatchingTimeSpan
	MaxItems int           // MaximumNumberOfItems
	MaxBytes int64         // MaximumRawDataSizeMB in bytes
}

// Sink ingests commits. Ingest decodes and maps every item and commits the rows
// TOGETHER with the positions in one storage transaction, so a crash at any point neither
// loses nor duplicates an event. Items that cannot be decoded or mapped become ingestion
// failures (recorded for `.show ingestion failures`, returned in Report) and never block the
// good items or the positions. A returned error means nothing was committed (retry later).
type Sink interface {
	Ingest(ctx context.Context, c Commit) (Report, error)
	Policy(database, table string) BatchingPolicy
}

// Checkpoints loads the committed positions of a connection (next offset per partition).
type Checkpoints interface {
	Positions(ctx context.Context, connection string) (map[int32]int64, error)
}

// FailureRecorder is optionally implemented by a Sink that wants to record
// the failures connectors detect themselves, before an event reaches the
// Sink: routing errors such as an unknown Format property, or a Database
// property on a single-database connection. Such events are never ingested;
// the partition moves on past them with the next commit.
type FailureRecorder interface {
	RecordFailure(ctx context.Context, f Failure)
}

// Failure is one event a connector could not route.
type Failure struct {
	Connection string // ARM id, lower case
	Database   string // the connection's database
	Table      string // the table the event was meant for, when known
	Source     string // "<namespace>/<hub>/partition <p>/offset <o>"
	Code       string // ADX error code, e.g. BadRequest_FormatNotSupported
	Message    string
	At         time.Time
}

// PositionForgetter is optionally implemented by Checkpoints: the manager
// calls it when a connection is removed, so that a new connection with the
// same id starts from its own retrievalStartDate, not from the old positions.
type PositionForgetter interface {
	ForgetPositions(ctx context.Context, connection string) error
}
