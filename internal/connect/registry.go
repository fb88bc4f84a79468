package connect

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
)

// Connector runs the connections of one or more kinds.
//
// Run consumes for one connection until ctx is cancelled, then returns nil.
// Any other return is a failure: the manager shows it (state Retrying) and
// calls Run again after a backoff. Run must therefore start from the
// committed positions (rt.Checkpoints) every time, and must deliver events
// only through an rt.Batcher so positions commit with rows.
//
// Validate checks a definition before it is stored and returns one message
// per problem, written for the user who made it.
type Connector interface {
	Validate(ctx context.Context, s Spec) []string
	Run(ctx context.Context, rt Runtime) error
}

// Runtime is what a connector gets for one run.
type Runtime struct {
	Spec        Spec
	Sink        Sink
	Checkpoints Checkpoints
	Stats       *Stats // lives as long as the connection, across runs
	Logger      *slog.Logger
	// EventItemBytes is Options.EventItemBytes, for NewBatcher.
	EventItemBytes int64
}

// NewBatcher makes the run's batcher.
func (rt Runtime) NewBatcher() *Batcher {
	b := NewBatcher(rt.Spec.Key(), rt.Sink, rt.Stats, rt.Logger)
	b.AggregateItems(rt.EventItemBytes)
	return b
}

// RecordFailure counts an event the connector could not route and hands it
// to the Sink when the Sink records failures (FailureRecorder).
func (rt Runtime) RecordFailure(ctx context.Context, f Failure) {
	if f.Connection == "" {
		f.Connection = rt.Spec.Key()
	}
	if f.Database == "" {
		f.Database = rt.Spec.Database
	}
	rt.Logger.Warn("data connection event not ingested", "connection", rt.Spec.Name, "source", f.Source, "code", f.Code, "error", f.Message)
	if fr, ok := rt.Sink.(FailureRecorder); ok {
		fr.RecordFailure(ctx, f)
	}
}

// Registry maps data connection kinds to connectors. Kinds compare
// case-insensitively.
type Registry struct {
	mu    sync.RWMutex
	kinds map[string]Connector
}

// NewRegistry makes an empty registry.
func NewRegistry() *Registry { return &Registry{kinds: map[string]Connector{}} }

// Register serves kind with c. Registering a kind twice is an error (two
// connectors would fight over the same connections).
func (r *Registry) Register(kind string, c Connector) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := strings.ToLower(kind)
	if _, dup := r.kinds[k]; dup {
		return fmt.Errorf("data connection kind %s is registered twice", kind)
	}
	r.kinds[k] = c
	return nil
}

// Lookup returns the connector of a kind.
func (r *Registry) Lookup(kind string) (Connector, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	c, ok := r.kinds[strings.ToLower(kind)]
	return c, ok
}

// Kinds lists the registered kinds (lower case, sorted).
func (r *Registry) Kinds() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.kinds))
	for k := range r.kinds {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
