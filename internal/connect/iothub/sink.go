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

func (s iotSink) Ingest(ctx context.Context, c connect.Commit) (connect.Report, error) {
	c.Items = slices.Clone(c.Items)
	for i := range c.Items {
		c.Items[i].Route.Compression = ""
		c.Items[i].Route.Tags = nil
	}
	return s.Sink.Ingest(ctx, c)
}

// RecordFailure keeps the pipeline's failure recording (connect.FailureRecorder).
func (s iotSink) RecordFailure(ctx context.Context, f connect.Failure) {
	if fr, ok := s.Sink.(connect.FailureRecorder); ok {
		fr.RecordFailure(ctx, f)
	}
}
