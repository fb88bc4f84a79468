package connect

import (
	"slices"
	"strings"
	"time"
)

// Spec is a data connection definition, independent of how it was made
// (ARM today; a config file or a management command could make one too).
type Spec struct {
	ID       string // ARM id as given; compared case-insensitively
	Database string // the connection's database
	Name     string // the connection's name
	Kind     string // EventHub, EventHubWithManagedIdentity, IotHub, EventGrid, ...

	// Source is the resource id of what the connection reads: the event hub
	// (.../Microsoft.EventHub/namespaces/<ns>/eventhubs/<hub>), the IoT hub or
	// the storage account.
	Source        string
	ConsumerGroup string

	// Static routing; each may be overridden per event.
	Table       string
	Format      string // ADX format name, any case (the ARM enum is upper case)
	Mapping     string
	Compression string // None or GZip, any case

	SystemProperties []string // eventSystemProperties, in the connection's order
	MultiDatabase    bool     // databaseRouting: Multi

	// RetrievalStart is where a partition without a committed position
	// starts: events enqueued at or after it. Zero means "now", which is what
	// ADX does at creation (the ARM layer stores the creation time).
	RetrievalStart time.Time

	// Extra holds kind-specific properties that have no field here
	// (e.g. Event Grid's blobStorageEventType), by ARM property name.
	Extra map[string]string
}

// Key is the connection's identity: its id in lower case (ARM ids are
// case-insensitive). Commits and checkpoints use it.
func (s Spec) Key() string { return strings.ToLower(s.ID) }

// Equal reports whether two specs define the same running connection, so
// that re-applying an unchanged definition does not restart it.
func (s Spec) Equal(o Spec) bool {
	if s.Key() != o.Key() || s.Database != o.Database || s.Name != o.Name ||
		!strings.EqualFold(s.Kind, o.Kind) || !strings.EqualFold(s.Source, o.Source) ||
		s.ConsumerGroup != o.ConsumerGroup || s.Table != o.Table ||
		!strings.EqualFold(s.Format, o.Format) || s.Mapping != o.Mapping ||
		!strings.EqualFold(s.Compression, o.Compression) || s.MultiDatabase != o.MultiDatabase ||
		!s.RetrievalStart.Equal(o.RetrievalStart) || !slices.Equal(s.SystemProperties, o.SystemProperties) ||
		len(s.Extra) != len(o.Extra) {
		return false
	}
	for k, v := range s.Extra {
		if o.Extra[k] != v {
			return false
		}
	}
	return true
}
