package eventhub

import (
	"context"

	"github.com/twmb/franz-go/pkg/kgo"
)

// LateClient hands a consumer's franz-go client to its group callbacks.
// franz-go starts the group as soon as kgo.NewClient is called, so a
// callback such as AdjustFetchOffsetsFn can run before NewClient has
// returned the client it would use (with a nil client, listing offsets
// panicked under load).
type LateClient struct {
	ready chan struct{}
	cl    *kgo.Client
}

// NewLateClient returns a LateClient without its client yet.
func NewLateClient() *LateClient { return &LateClient{ready: make(chan struct{})} }

// Set gives the client; call it once, right after kgo.NewClient.
func (l *LateClient) Set(cl *kgo.Client) {
	l.cl = cl
	close(l.ready)
}

// Get waits for the client, or for ctx to end.
func (l *LateClient) Get(ctx context.Context) (*kgo.Client, error) {
	select {
	case <-l.ready:
		return l.cl, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
