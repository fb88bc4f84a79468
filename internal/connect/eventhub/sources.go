package eventhub

import (
	"strconv"

	"github.com/twmb/franz-go/pkg/kgo"
)

// sourceNames names the events of a poll as failures show them:
// "<namespace>/<hub>/partition <p>/offset <o>". Every event carries its
// name (connect.Item.Source), so the names of one poll are written into
// one buffer and made one string, instead of a few allocations per event.
// The names share that string, which lives as long as the poll's events.
type sourceNames struct {
	buf  []byte
	ends []int
}

// polledNames hands out a poll's names in the order of its records.
type polledNames struct {
	all  string
	ends []int
	i    int
}

// isHubData reports whether a fetched partition holds records of the hub
// (not an injected client error).
func isHubData(p kgo.FetchTopicPartition, hub string) bool {
	return p.Topic == hub && p.Partition >= 0 && p.Err == nil
}

// name writes the names of the hub's records of f (isHubData), in the
// order EachPartition and Records visit them.
func (s *sourceNames) name(f kgo.Fetches, hub, prefix string) *polledNames {
	s.buf, s.ends = s.buf[:0], s.ends[:0]
	f.EachPartition(func(p kgo.FetchTopicPartition) {
		if !isHubData(p, hub) {
			return
		}
		for _, r := range p.Records {
			s.buf = append(s.buf, prefix...)
			s.buf = append(s.buf, "/partition "...)
			s.buf = strconv.AppendInt(s.buf, int64(r.Partition), 10)
			s.buf = append(s.buf, "/offset "...)
			s.buf = strconv.AppendInt(s.buf, r.Offset, 10)
			s.ends = append(s.ends, len(s.buf))
		}
	})
	return &polledNames{all: string(s.buf), ends: s.ends}
}

// next is the name of the next record.
func (n *polledNames) next() string {
	from := 0
	if n.i > 0 {
		from = n.ends[n.i-1]
	}
	n.i++
	return n.all[from:n.ends[n.i-1]]
}
