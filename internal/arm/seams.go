package arm

import (
	"context"
	"time"
)

// This file holds the interfaces through which the resource provider reaches
// the rest of odx. The server wiring implements them; tests use fakes.

// Doc is one stored document.
type Doc struct {
	ID   string
	Body []byte
}

// Documents is durable JSON-document storage, one namespace per kind. The
// provider stores clusters, databases, data connections, principal assignments
// and async operations in it, keyed by their lower-cased ARM id (ARM ids are
// case-insensitive), so ListDocs with an id prefix lists the children of a
// resource.
type Documents interface {
	PutDoc(ctx context.Context, kind, id string, body []byte) error
	GetDoc(ctx context.Context, kind, id string) ([]byte, bool, error)
	ListDocs(ctx context.Context, kind, idPrefix string) ([]Doc, error)
	DeleteDoc(ctx context.Context, kind, id string) (bool, error)
}

// DocumentFuncs adapts four functions to Documents, so a store whose ListDocs
// returns its own document type needs only a small conversion closure.
type DocumentFuncs struct {
	Put    func(ctx context.Context, kind, id string, body []byte) error
	Get    func(ctx context.Context, kind, id string) ([]byte, bool, error)
	List   func(ctx context.Context, kind, idPrefix string) ([]Doc, error)
	Delete func(ctx context.Context, kind, id string) (bool, error)
}

func (f DocumentFuncs) PutDoc(ctx context.Context, kind, id string, body []byte) error {
	return f.Put(ctx, kind, id, body)
}
func (f DocumentFuncs) GetDoc(ctx context.Context, kind, id string) ([]byte, bool, error) {
	return f.Get(ctx, kind, id)
}
func (f DocumentFuncs) ListDocs(ctx context.Context, kind, idPrefix string) ([]Doc, error) {
	return f.List(ctx, kind, idPrefix)
}
func (f DocumentFuncs) DeleteDoc(ctx context.Context, kind, id string) (bool, error) {
	return f.Delete(ctx, kind, id)
}

// Document kinds the provider writes.
const (
	KindCluster             = "arm.cluster"
	KindDatabase            = "arm.database"
	KindDataConnection      = "arm.dataconnection"
	KindPrincipalAssignment = "arm.principalassignment"
	KindOperation           = "arm.operation"
)

// DatabaseSpec is a data-plane database as ARM sees it. A zero period means
// the policy is not set (Kusto's default: unlimited retention, everything hot).
type DatabaseSpec struct {
	Name             string
	SoftDeletePeriod time.Duration // retention policy
	HotCachePeriod   time.Duration // caching policy
}

// DatabasePrincipal is one entry of a database's security roles.
type DatabasePrincipal struct {
	Role string // ARM role name: Admin, Ingestor, Monitor, User, UnrestrictedViewer, Viewer
	// FQN is the Kusto principal name: aadapp=<appId>;<tenant>, aaduser=<objectId>;<tenant>
	// or aadgroup=<objectId>;<tenant>.
	FQN string
}

// DataPlane is the Kusto data plane seen from ARM: a database made through
// ARM is the same database KQL sees, and one made with `.create database`
// shows up in ARM's database list.
type DataPlane interface {
	ListDatabases(ctx context.Context) ([]DatabaseSpec, error)
	GetDatabase(ctx context.Context, name string) (DatabaseSpec, bool, error)
	// PutDatabase creates the database when it is missing and sets its
	// retention and caching policies (a zero period removes the policy).
	PutDatabase(ctx context.Context, db DatabaseSpec) error
	// DropDatabase drops the database; a missing database is not an error.
	DropDatabase(ctx context.Context, name string) error
	AddDatabasePrincipal(ctx context.Context, database string, p DatabasePrincipal) error
	DropDatabasePrincipal(ctx context.Context, database string, p DatabasePrincipal) error
	// TableExists reports whether database has table (names are case-sensitive).
	TableExists(ctx context.Context, database, table string) (bool, error)
	// MappingKind returns the kind (Csv, Json, Avro, Parquet, Orc, W3CLogFile,
	// ApacheAvro) of the named ingestion mapping for the table, table scope
	// first, then database scope.
	MappingKind(ctx context.Context, database, table, mapping string) (kind string, found bool, err error)
}

// ConnectionStatus is what the connection manager reports about one
// data connection.
type ConnectionStatus struct {
	State   string // Running, Stopped, Failed, Unknown
	Message string // why, when State is Failed
}

// Connections is the data connection manager: it runs the connections ARM
// defines. Ids are the resources' ARM ids as returned by the API (compare them
// case-insensitively).
type Connections interface {
	// Apply starts the connection, or restarts it with the new definition.
	Apply(ctx context.Context, dc DataConnectionResource) error
	// Remove stops the connection and forgets it; unknown ids are not an error.
	Remove(ctx context.Context, id string) error
	// Validate checks what only the manager knows (the source resolves to a
	// configured or embedded hub, storage account or IoT hub) and returns
	// one message per problem.
	Validate(ctx context.Context, dc DataConnectionResource) []string
	Status(id string) ConnectionStatus
}

// NoopConnections is a Connections that runs nothing and accepts every
// definition. It lets the wiring serve the full resource CRUD until the data
// connection manager exists.
type NoopConnections struct{}

func (NoopConnections) Apply(context.Context, DataConnectionResource) error { return nil }
func (NoopConnections) Remove(context.Context, string) error                { return nil }
func (NoopConnections) Validate(context.Context, DataConnectionResource) []string {
	return nil
}
func (NoopConnections) Status(string) ConnectionStatus {
	return ConnectionStatus{State: "Unknown", Message: "no data connection manager is running"}
}
