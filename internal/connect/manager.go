package connect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
)

// Options configure a Manager.
type Options struct {
	Registry    *Registry
	Sink        Sink
	Checkpoints Checkpoints
	Logger      *slog.Logger
	// MinBackoff and MaxBackoff bound the wait before a failed connection
	// runs again; it doubles after each failure without progress.
	// Defaults 1s and 1m.
	MinBackoff, MaxBackoff time.Duration
	// EventItemBytes makes an item of the batching policy up to that many
	// bytes of events (ADX's aggregation, EventItemBytes) for connectors
	// that batch events; 0 counts every event as an item.
	EventItemBytes int64
}

// Manager runs data connections: one supervised connector run per
// connection, restarted with backoff when it fails, restarted when its
// definition changes, stopped when it is removed. It is safe for concurrent
// use.
type Manager struct {
	opts    Options
	log     *slog.Logger
	applyMu sync.Mutex // serialises Apply/Remove/Close so restarts do not interleave
	mu      sync.Mutex // guards conns and every entry's status fields
	conns   map[string]*running
	closed  bool
}

type running struct {
	spec   Spec
	conn   Connector // nil when no connector serves the kind
	stats  *Stats
	cancel context.CancelFunc
	done   chan struct{}

	state       State
	since       time.Time
	lastErr     string
	lastErrAt   time.Time
	nextAttempt time.Time
	restarts    int64
}

// NewManager makes a manager. Registry, Sink and Checkpoints are required.
func NewManager(o Options) (*Manager, error) {
	if o.Registry == nil || o.Sink == nil || o.Checkpoints == nil {
		return nil, errors.New("connect: a Manager needs a Registry, a Sink and Checkpoints")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = time.Second
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(time.Minute, o.MinBackoff)
	}
	return &Manager{opts: o, log: o.Logger, conns: map[string]*running{}}, nil
}

// Validate checks a definition with the connector of its kind.
func (m *Manager) Validate(ctx context.Context, s Spec) []string {
	c, ok := m.opts.Registry.Lookup(s.Kind)
	if !ok {
		return nil // accepted; Apply shows it as Stopped with the reason
	}
	return c.Validate(ctx, s)
}

// Apply starts a connection, or restarts it when its definition changed.
// Re-applying an unchanged definition leaves it running.
func (m *Manager) Apply(ctx context.Context, s Spec) error {
	if s.ID == "" {
		return errors.New("connect: a data connection needs an id")
	}
	m.applyMu.Lock()
	defer m.applyMu.Unlock()
	key := s.Key()

	m.mu.Lock()
	if s.RetrievalStart.IsZero() {
		// "Now" is fixed once, so a restart does not skip what arrived
		// while the connection was failing.
		if old := m.conns[key]; old != nil && !old.spec.RetrievalStart.IsZero() {
			s.RetrievalStart = old.spec.RetrievalStart
		} else {
			s.RetrievalStart = time.Now()
		}
	}
	if m.closed {
		m.mu.Unlock()
		return errors.New("connect: the connection manager is shut down")
	}
	old := m.conns[key]
	if old != nil && old.spec.Equal(s) && old.conn != nil {
		m.mu.Unlock()
		return nil
	}
	m.mu.Unlock()

	stats := NewStats()
	if old != nil {
		m.stop(old)
		stats = old.stats // keep the counters across a definition change
	}
	e := &running{spec: s, stats: stats, done: make(chan struct{})}
	c, ok := m.opts.Registry.Lookup(s.Kind)
	m.mu.Lock()
	m.conns[key] = e
	if !ok {
		e.state, e.since = Stopped, time.Now()
		e.lastErr = fmt.Sprintf("this odx has no connector for %s data connections (it serves: %s)", s.Kind, strings.Join(m.opts.Registry.Kinds(), ", "))
		e.lastErrAt = e.since
		close(e.done)
		m.mu.Unlock()
		m.log.Warn("data connection not started", "connection", s.ID, "reason", e.lastErr)
		return nil
	}
	e.conn = c
	runCtx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	e.state, e.since = Running, time.Now()
	m.mu.Unlock()
	m.log.Info("data connection started", "connection", s.ID, "kind", s.Kind, "source", s.Source, "consumerGroup", s.ConsumerGroup)
	go m.supervise(runCtx, e)
	return nil
}

// Remove stops a connection and forgets it. Unknown ids are not an error.
func (m *Manager) Remove(ctx context.Context, id string) error {
	m.applyMu.Lock()
	defer m.applyMu.Unlock()
	key := strings.ToLower(id)
	m.mu.Lock()
	e := m.conns[key]
	delete(m.conns, key)
	m.mu.Unlock()
	if e != nil {
		m.stop(e)
		m.log.Info("data connection removed", "connection", id)
	}
	if f, ok := m.opts.Checkpoints.(PositionForgetter); ok {
		if err := f.ForgetPositions(ctx, key); err != nil {
			return fmt.Errorf("the data connection stopped but its positions could not be deleted (a new connection with this name would resume from them): %w", err)
		}
	}
	return nil
}

// Close stops every connection (each flushes what it can) and waits.
func (m *Manager) Close() {
	m.applyMu.Lock()
	defer m.applyMu.Unlock()
	m.mu.Lock()
	m.closed = true
	all := make([]*running, 0, len(m.conns))
	for _, e := range m.conns {
		all = append(all, e)
	}
	m.mu.Unlock()
	for _, e := range all {
		if e.cancel != nil {
			e.cancel()
		}
	}
	for _, e := range all {
		<-e.done
	}
}

func (m *Manager) stop(e *running) {
	if e.cancel != nil {
		e.cancel()
	}
	<-e.done
}

// supervise runs a connection's connector until ctx ends, restarting it
// with backoff after failures.
func (m *Manager) supervise(ctx context.Context, e *running) {
	defer close(e.done)
	backoff := m.opts.MinBackoff
	for {
		m.setState(e, Running)
		started := time.Now()
		err := e.conn.Run(ctx, Runtime{Spec: e.spec, Sink: m.opts.Sink, Checkpoints: m.opts.Checkpoints, EventItemBytes: m.opts.EventItemBytes,
			Stats: e.stats, Logger: m.log.With("connection", e.spec.Name, "database", e.spec.Database)})
		if ctx.Err() != nil {
			m.setState(e, Stopped)
			return
		}
		if err == nil {
			err = errors.New("the connector stopped without an error")
		}
		if e.stats.Progressed() || time.Since(started) > m.opts.MaxBackoff {
			backoff = m.opts.MinBackoff
		}
		next := time.Now().Add(backoff)
		m.mu.Lock()
		e.state, e.since = Retrying, time.Now()
		e.lastErr, e.lastErrAt, e.nextAttempt = err.Error(), e.since, next
		e.restarts++
		m.mu.Unlock()
		m.log.Warn("data connection failed; retrying", "connection", e.spec.ID, "error", err, "retryIn", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			m.setState(e, Stopped)
			return
		case <-t.C:
		}
		backoff = min(backoff*2, m.opts.MaxBackoff)
	}
}

func (m *Manager) setState(e *running, s State) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e.state != s {
		e.state, e.since = s, time.Now()
	}
	e.nextAttempt = time.Time{}
}

// Status reports one connection.
func (m *Manager) Status(id string) (Status, bool) {
	m.mu.Lock()
	e := m.conns[strings.ToLower(id)]
	if e == nil {
		m.mu.Unlock()
		return Status{}, false
	}
	st := m.statusLocked(e)
	m.mu.Unlock()
	e.stats.fill(&st)
	return st, true
}

// List reports the connections of a database (every connection when
// database is ""), ordered by database and name.
func (m *Manager) List(database string) []Status {
	m.mu.Lock()
	type pair struct {
		st    Status
		stats *Stats
	}
	var ps []pair
	for _, e := range m.conns {
		if database == "" || e.spec.Database == database {
			ps = append(ps, pair{m.statusLocked(e), e.stats})
		}
	}
	m.mu.Unlock()
	out := make([]Status, 0, len(ps))
	for _, p := range ps {
		p.stats.fill(&p.st)
		out = append(out, p.st)
	}
	slices.SortFunc(out, func(a, b Status) int {
		if c := strings.Compare(a.Database, b.Database); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

func (m *Manager) statusLocked(e *running) Status {
	return Status{
		ID: e.spec.Key(), Database: e.spec.Database, Name: e.spec.Name, Kind: e.spec.Kind,
		Source: e.spec.Source, Group: e.spec.ConsumerGroup,
		State: e.state, Since: e.since, LastError: e.lastErr, LastErrorAt: e.lastErrAt,
		NextAttempt: e.nextAttempt, Restarts: e.restarts,
	}
}
