// Package connecttest has test doubles of odx's own connect interfaces for
// connector tests: a Sink that stores commits in memory, keeps positions
// with them atomically (as the real pipeline does in one transaction), and
// checks the exactly-once rules every commit must follow.
package connecttest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"odx/internal/connect"
)

// Sink is an in-memory connect.Sink, connect.Checkpoints,
// connect.FailureRecorder and connect.PositionForgetter.
type Sink struct {
	mu         sync.Mutex
	policy     connect.BatchingPolicy
	policies   map[string]connect.BatchingPolicy
	commits    []connect.Commit
	positions  map[string]map[int32]int64
	failures   []connect.Failure
	violations []string
	failNext   int
	failErr    error
	ingested   chan struct{}
}

// NewSink makes a sink whose tables all have policy p.
func NewSink(p connect.BatchingPolicy) *Sink {
	return &Sink{policy: p, policies: map[string]connect.BatchingPolicy{}, positions: map[string]map[int32]int64{},
		ingested: make(chan struct{}, 1)}
}

// SetPolicy sets one table's policy.
func (s *Sink) SetPolicy(database, table string, p connect.BatchingPolicy) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.policies[database+"."+table] = p
}

// FailNext makes the next n Ingest calls fail with err, committing nothing.
func (s *Sink) FailNext(n int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext, s.failErr = n, err
}

// Policy implements connect.Sink.
func (s *Sink) Policy(database, table string) connect.BatchingPolicy {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.policies[database+"."+table]; ok {
		return p
	}
	return s.policy
}

// Ingest implements connect.Sink: it checks the commit against the
// exactly-once rules, then stores items and positions together.
func (s *Sink) Ingest(ctx context.Context, c connect.Commit) (connect.Report, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return connect.Report{}, err
	}
	if s.failNext > 0 {
		s.failNext--
		return connect.Report{}, s.failErr
	}
	if len(c.Items) == 0 {
		s.violations = append(s.violations, "a commit without items")
	}
	stored := s.positions[c.Connection]
	newPos := map[int32]int64{}
	for _, p := range c.Positions {
		if old, ok := stored[p.Partition]; ok && p.NextOffset <= old {
			s.violations = append(s.violations, fmt.Sprintf("partition %d: position %d does not advance past %d", p.Partition, p.NextOffset, old))
		}
		newPos[p.Partition] = p.NextOffset
	}
	for _, it := range c.Items {
		if it.Route.Database != c.Items[0].Route.Database || it.Route.Table != c.Items[0].Route.Table {
			s.violations = append(s.violations, fmt.Sprintf("one commit mixes tables %s and %s", c.Items[0].Route.Table, it.Route.Table))
		}
		p, off := it.Event.Partition, it.Event.Offset
		if old, ok := stored[p]; ok && off < old {
			s.violations = append(s.violations, fmt.Sprintf("%s: committed again (position was %d)", it.Source, old))
		}
		if np, ok := newPos[p]; !ok || off >= np {
			s.violations = append(s.violations, fmt.Sprintf("%s: the commit's position for partition %d does not cover it", it.Source, p))
		}
	}
	if stored == nil {
		stored = map[int32]int64{}
		s.positions[c.Connection] = stored
	}
	for p, n := range newPos {
		stored[p] = n
	}
	c.Items = slices.Clone(c.Items)
	s.commits = append(s.commits, c)
	select {
	case s.ingested <- struct{}{}:
	default:
	}
	return connect.Report{Rows: int64(len(c.Items))}, nil
}

// Positions implements connect.Checkpoints.
func (s *Sink) Positions(_ context.Context, connection string) (map[int32]int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[int32]int64{}
	for p, n := range s.positions[connection] {
		out[p] = n
	}
	return out, nil
}

// ForgetPositions implements connect.PositionForgetter.
func (s *Sink) ForgetPositions(_ context.Context, connection string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.positions, connection)
	return nil
}

// RecordFailure implements connect.FailureRecorder.
func (s *Sink) RecordFailure(_ context.Context, f connect.Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = append(s.failures, f)
}

// Commits returns the stored commits in order.
func (s *Sink) Commits() []connect.Commit {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.commits)
}

// Items returns every committed item, in commit order.
func (s *Sink) Items() []connect.Item {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []connect.Item
	for _, c := range s.commits {
		out = append(out, c.Items...)
	}
	return out
}

// Failures returns the failures connectors recorded.
func (s *Sink) Failures() []connect.Failure {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.failures)
}

// Violations lists the exactly-once rules commits broke.
func (s *Sink) Violations() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.violations)
}

// WaitItems waits until at least n items are committed and returns them.
func (s *Sink) WaitItems(t testing.TB, n int, timeout time.Duration) []connect.Item {
	t.Helper()
	Eventually(t, timeout, func() bool { return len(s.Items()) >= n }, func() string {
		return fmt.Sprintf("want %d committed items, have %d", n, len(s.Items()))
	})
	return s.Items()
}

// Eventually polls cond until it holds or fails the test after timeout.
func Eventually(t testing.TB, timeout time.Duration, cond func() bool, explain func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", timeout, explain())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
