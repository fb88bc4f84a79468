package eventhub

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
)

// StartOffsets lists, per partition of hub, where a consumer without
// committed positions starts: the first event stamped at or after start
// (a connection's retrievalStartDate).
//
// franz-go's AfterMilli (and kadm's listing) answers "no event that late
// yet" with an end offset taken in a second request, so events appended
// between the two requests were skipped: a new connection could lose the
// first events sent to it. Listing the end first and taking the smaller of
// the two offsets can only start earlier, never skip: an event appended
// after the end listing is read, and one stamped at or after start that was
// already there is found by the timestamp listing.
//
// It runs in group callbacks, so it takes the consumer's client as a
// LateClient (see there).
func StartOffsets(ctx context.Context, late *LateClient, hub string, start time.Time) (map[int32]int64, error) {
	cl, err := late.Get(ctx)
	if err != nil {
		return nil, err
	}
	adm := kadm.NewClient(cl)
	ends, err := adm.ListEndOffsets(ctx, hub)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("listing the end offsets of event hub %s: %w", hub, err)
	}
	byTime, err := adm.ListOffsetsAfterMilli(ctx, start.UnixMilli(), hub)
	if err == nil {
		err = byTime.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("listing the offsets of event hub %s at the retrieval start: %w", hub, err)
	}
	out := map[int32]int64{}
	ends.Each(func(e kadm.ListedOffset) {
		out[e.Partition] = e.Offset
		if t, ok := byTime.Lookup(e.Topic, e.Partition); ok && t.Offset >= 0 && t.Offset < e.Offset {
			out[e.Partition] = t.Offset
		}
	})
	return out, nil
}
