package eventhub

import (
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

func TestSourceNamesFollowTheRecords(t *testing.T) {
	rec := func(p int32, off int64) *kgo.Record { return &kgo.Record{Topic: "hub", Partition: p, Offset: off} }
	f := kgo.Fetches{{Topics: []kgo.FetchTopic{
		{Topic: "hub", Partitions: []kgo.FetchPartition{
			{Partition: 2, Records: []*kgo.Record{rec(2, 7), rec(2, 8)}},
			{Partition: 0, Err: errors.New("injected"), Records: []*kgo.Record{rec(0, 1)}},
			{Partition: 10, Records: []*kgo.Record{rec(10, 12345678901)}},
		}},
		{Topic: "other", Partitions: []kgo.FetchPartition{{Partition: 1, Records: []*kgo.Record{rec(1, 3)}}}},
	}}}
	var s sourceNames
	for round := range 2 { // the buffer is reused by the next poll
		names := s.name(f, "hub", "ns/hub")
		var got []string
		f.EachPartition(func(p kgo.FetchTopicPartition) {
			if isHubData(p, "hub") {
				for range p.Records {
					got = append(got, names.next())
				}
			}
		})
		want := []string{"ns/hub/partition 2/offset 7", "ns/hub/partition 2/offset 8", "ns/hub/partition 10/offset 12345678901"}
		if len(got) != len(want) {
			t.Fatalf("round %d: names %q, want %q", round, got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("round %d: name %d is %q, want %q", round, i, got[i], want[i])
			}
		}
	}
}
