package pipeline

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"sync"
	"time"
)

// docKind is the storage document kind holding ingestion operations.
const docKind = "ingest-operation"

// Operation states, as `.show operations` reports them.
const (
	StateInProgress         = "InProgress"
	StateCompleted          = "Completed"
	StateFailed             = "Failed"
	StatePartiallySucceeded = "PartiallySucceeded"
	StateAbandoned          = "Abandoned"
	StateSkipped            = "Skipped"
)

// Operation is one ingestion command's progress, kept in the store so
// that `.show operations` answers after a restart too.
type Operation struct {
	ID            string    `json:"id"`
	Kind          string    `json:"kind"` // DataIngestPull
	Database      string    `json:"database"`
	Table         string    `json:"table"`
	Principal     string    `json:"principal"`
	StartedOn     time.Time `json:"startedOn"`
	LastUpdatedOn time.Time `json:"lastUpdatedOn"`
	State         string    `json:"state"`
	Status        string    `json:"status"`
	ShouldRetry   bool      `json:"shouldRetry"`
	Rows          int64     `json:"rows"`
}

// operations tracks async ingestion operations.
type operations struct {
	s       *Service
	mu      sync.Mutex
	running map[string]bool
	wg      sync.WaitGroup
}

func newOperations(s *Service) *operations {
	return &operations{s: s, running: map[string]bool{}}
}

func (o *operations) put(ctx context.Context, op Operation) {
	body, _ := json.Marshal(op)
	if err := o.s.store.PutDoc(ctx, docKind, op.ID, body); err != nil {
		o.s.log.Warn("cannot record ingestion operation", "operation", op.ID, "err", err)
	}
}

// start records op as in progress and runs fn in the background, recording
// its outcome when it returns.
func (o *operations) start(op Operation, fn func(ctx context.Context) (Operation, error)) {
	now := o.s.store.Now().UTC()
	op.StartedOn, op.LastUpdatedOn, op.State = now, now, StateInProgress
	o.put(context.Background(), op)
	o.mu.Lock()
	o.running[op.ID] = true
	o.mu.Unlock()
	o.wg.Add(1)
	go func() {
		defer o.wg.Done()
		done, err := fn(context.Background())
		done.ID, done.Kind, done.Database, done.Table, done.Principal, done.StartedOn = op.ID, op.Kind, op.Database, op.Table, op.Principal, op.StartedOn
		done.LastUpdatedOn = o.s.store.Now().UTC()
		if err != nil && done.State == "" {
			done.State, done.Status = StateFailed, err.Error()
		}
		o.put(context.Background(), done)
		o.mu.Lock()
		delete(o.running, op.ID)
		o.mu.Unlock()
	}()
}

func (o *operations) wait() { o.wg.Wait() }

// list returns operations, newest first; id "" lists all. An operation
// left in progress by an earlier run of odx shows as Abandoned.
func (o *operations) list(ctx context.Context, id string) ([]Operation, error) {
	// Read the documents under the lock: an operation finishing meanwhile
	// writes its outcome before it leaves o.running, so a document still in
	// progress here belongs to a running operation or to an earlier odx.
	o.mu.Lock()
	defer o.mu.Unlock()
	docs, err := o.s.store.ListDocs(ctx, docKind, id)
	if err != nil {
		return nil, err
	}
	var out []Operation
	for _, d := range docs {
		var op Operation
		if json.Unmarshal(d.Body, &op) != nil {
			continue
		}
		if id != "" && !strings.EqualFold(op.ID, id) {
			continue
		}
		if op.State == StateInProgress && !o.running[op.ID] {
			op.State, op.Status, op.ShouldRetry = StateAbandoned, "odx stopped before the operation finished; run the command again", true
		}
		out = append(out, op)
	}
	// Newest first, as `.show operations` lists them.
	sort.SliceStable(out, func(i, j int) bool { return out[i].StartedOn.After(out[j].StartedOn) })
	return out, nil
}
