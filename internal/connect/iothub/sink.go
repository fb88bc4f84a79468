package iothub

import (
	"context"
	"slices"

	"odx/internal/connect"
)

// iotSink adapts the Event Hub consumer's output to IoT Hub's rules: IoT Hub
// connections have no Compression and no Tags (ADX ignores those message
// properties), but the Event Hub router honours them, so they are cleared
// before the items reach the pipeline.
type iotSink struct{ connect.Sink }

// wrapSink wraps s, keeping the optional interfaces it implements: a sink
// that prepares commits (connect.Preparer) lets the batcher decode the next
// commit while one is stored, which a plain wrapper would hide.
func wrapSink(s connect.Sink) connect.Sink {
	if p, ok := s.(connect.Preparer); ok {
		return iotPreparingSink{iotSink{s}, p}
	}
	return iotSink{s}
}

// iotRules clears what IoT Hub connections do not have, on a copy of the
// items (the batcher keeps its own for a retry).
func iotRules(c connect.Commit) connect.Commit {
	c.Items = slices.Clone(c.Items)
	for i := range c.Items {
		c.Items[i].Route.Compression = ""
		c.Items[i].Route.Tags = nil
	}
	return c
}

func (s iotSink) Ingest(ctx context.Context, c connect.Commit) (connect.Report, error) {
	return s.Sink.Ingest(ctx, iotRules(c))
}

// RecordFailure keeps the pipeline's failure recording (connect.FailureRecorder).
func (s iotSink) RecordFailure(ctx context.Context, f connect.Failure) {
	if fr, ok := s.Sink.(connect.FailureRecorder); ok {
		fr.RecordFailure(ctx, f)
	}
}

// iotPreparingSink is iotSink over a connect.Preparer.
type iotPreparingSink struct {
	iotSink
	p connect.Preparer
}

func (s iotPreparingSink) Prepare(ctx context.Context, c connect.Commit) (connect.Prepared, error) {
	return s.p.Prepare(ctx, iotRules(c))
}
