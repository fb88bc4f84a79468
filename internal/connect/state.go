package connect

import (
	"slices"
	"sync"
	"time"
)

// State is a connection's lifecycle state.
type State string

const (
	// Running: the connector is consuming.
	Running State = "Running"
	// Retrying: the connector failed (broker unreachable, sink error, ...)
	// and will start again at NextAttempt, from the committed positions.
	Retrying State = "Retrying"
	// Stopped: the connection is not consuming (manager closed, or no
	// connector serves its kind in this odx).
	Stopped State = "Stopped"
)

// Status is what the manager reports about one connection.
type Status struct {
	ID       string // lower case
	Database string
	Name     string
	Kind     string
	Source   string
	Group    string // consumer group

	State       State
	Since       time.Time // when State was entered
	LastError   string    // the error that put it into Retrying (kept after recovery)
	LastErrorAt time.Time
	NextAttempt time.Time // when Retrying
	Restarts    int64

	Events, Bytes, Failures int64 // totals since odx started
	LastFailure             string
	Partitions              []PartitionStatus
}

// PartitionStatus is one partition of a connection.
type PartitionStatus struct {
	Partition int32
	Owned     bool  // assigned to this odx by the consumer group
	Committed int64 // next offset to read, as committed with the rows; -1 unknown
	// HighWatermark is the partition's end offset last seen; Lag is
	// HighWatermark minus Committed (events on the hub not yet ingested).
	HighWatermark int64
	Lag           int64
	Events        int64 // events committed (ingested or failed in the sink)
	Bytes         int64 // body bytes of those events
	Failures      int64 // events that became ingestion failures
	LastError     string
	LastErrorAt   time.Time
	LastCommit    time.Time
}

// Stats collects a running connection's counters. Connectors and the
// batcher update it; the manager reads snapshots. It is safe for
// concurrent use.
type Stats struct {
	mu         sync.Mutex
	partitions map[int32]*PartitionStatus
	progress   bool // something was committed since the last Progressed call
	lastFail   string

	// A problem the connector is riding out without stopping (a broker
	// outage the Kafka client retries by itself).
	problem     string
	problemAt   time.Time
	retryAt     time.Time
	lastProblem string
	lastProbAt  time.Time
}

// Problem reports that the connector cannot make progress right now and
// is retrying by itself (next try around retryAt): the connection shows as
// Retrying with this error until Healthy is called.
func (s *Stats) Problem(err error, retryAt time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if s.problem == "" {
		s.problemAt = now
	}
	s.problem, s.retryAt = err.Error(), retryAt
	s.lastProblem, s.lastProbAt = s.problem, now
}

// Healthy clears a Problem.
func (s *Stats) Healthy() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.problem = ""
}

// NewStats makes empty stats.
func NewStats() *Stats { return &Stats{partitions: map[int32]*PartitionStatus{}} }

func (s *Stats) part(p int32) *PartitionStatus {
	ps := s.partitions[p]
	if ps == nil {
		ps = &PartitionStatus{Partition: p, Committed: -1, HighWatermark: -1}
		s.partitions[p] = ps
	}
	return ps
}

// Assigned records that the group gave this odx the partition, with its
// committed position (-1 when none).
func (s *Stats) Assigned(p int32, committed int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ps := s.part(p)
	ps.Owned = true
	ps.Committed = committed
	ps.updateLag()
}

// Revoked records that the partition went to another consumer.
func (s *Stats) Revoked(p int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.part(p).Owned = false
}

// Watermark records a partition's end offset.
func (s *Stats) Watermark(p int32, hwm int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ps := s.part(p)
	if hwm > ps.HighWatermark {
		ps.HighWatermark = hwm
	}
	ps.updateLag()
}

// Committed records a commit on a partition: its new position and what the
// commit carried from it.
func (s *Stats) Committed(p int32, next, events, bytes int64, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ps := s.part(p)
	ps.Committed = next
	ps.Events += events
	ps.Bytes += bytes
	ps.LastCommit = at
	ps.updateLag()
	s.progress = true
}

// Failed records one event of the partition that became a failure.
func (s *Stats) Failed(p int32, msg string, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ps := s.part(p)
	ps.Failures++
	ps.LastError = msg
	ps.LastErrorAt = at
	s.lastFail = msg
}

// Progressed reports whether anything was committed since the last call.
func (s *Stats) Progressed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.progress
	s.progress = false
	return p
}

func (ps *PartitionStatus) updateLag() {
	ps.Lag = 0
	if ps.HighWatermark >= 0 && ps.Committed >= 0 && ps.HighWatermark > ps.Committed {
		ps.Lag = ps.HighWatermark - ps.Committed
	}
}

// fill copies the counters into a status.
func (s *Stats) fill(st *Status) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st.Partitions = st.Partitions[:0]
	for _, ps := range s.partitions {
		st.Partitions = append(st.Partitions, *ps)
		st.Events += ps.Events
		st.Bytes += ps.Bytes
		st.Failures += ps.Failures
	}
	st.LastFailure = s.lastFail
	if s.lastProblem != "" && s.lastProbAt.After(st.LastErrorAt) {
		st.LastError, st.LastErrorAt = s.lastProblem, s.lastProbAt
	}
	if s.problem != "" && st.State == Running {
		st.State, st.Since, st.NextAttempt = Retrying, s.problemAt, s.retryAt
	}
	slices.SortFunc(st.Partitions, func(a, b PartitionStatus) int { return int(a.Partition - b.Partition) })
}
