package connecttest

import (
	"context"
	"slices"
	"sync"

	"odx/internal/connect"
)

// PreparingSink is a Sink that commits in two steps (connect.Preparer), as
// the pipeline's sink does, so that batchers commit in the background:
// Prepare keeps a copy of the commit and Store ingests it with every check
// of Sink.Ingest (positions that do not advance show stores out of order).
type PreparingSink struct {
	*Sink
	mu    sync.Mutex
	gate  chan struct{} // when set, Store waits for it to close
	stage int           // Prepare calls so far
}

var _ connect.Preparer = (*PreparingSink)(nil)

// Preparing wraps s.
func Preparing(s *Sink) *PreparingSink { return &PreparingSink{Sink: s} }

// Hold makes Store calls wait until the returned function is called, so a
// test can observe commits that are prepared and not yet stored.
func (p *PreparingSink) Hold() (release func()) {
	gate := make(chan struct{})
	p.mu.Lock()
	p.gate = gate
	p.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			p.mu.Lock()
			p.gate = nil
			p.mu.Unlock()
			close(gate)
		})
	}
}

// Prepared is the number of Prepare calls so far.
func (p *PreparingSink) Prepared() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stage
}

// Prepare implements connect.Preparer.
func (p *PreparingSink) Prepare(_ context.Context, c connect.Commit) (connect.Prepared, error) {
	p.mu.Lock()
	p.stage++
	p.mu.Unlock()
	c.Items = slices.Clone(c.Items)
	c.Positions = slices.Clone(c.Positions)
	return &prepared{p: p, c: c}, nil
}

type prepared struct {
	p *PreparingSink
	c connect.Commit
}

func (s *prepared) Store(ctx context.Context) (connect.Report, error) {
	s.p.mu.Lock()
	gate := s.p.gate
	s.p.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return connect.Report{}, ctx.Err()
		}
	}
	return s.p.Sink.Ingest(ctx, s.c)
}
