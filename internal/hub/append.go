package hub

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Record is one event appended from inside odx.
type Record struct {
	// Key picks the partition (Kafka's murmur2 of the key, as Kafka
	// clients pick it), so records of one key stay in order.
	Key       string
	Value     []byte
	Headers   []Header
	Timestamp time.Time
}

// Header is a record header. Values are strings: odx's own producers
// (the embedded IoT hub) write text properties.
type Header struct{ Key, Value string }

// Appender appends records to the hub's event hubs from inside odx,
// without a Kafka client: the records that arrive while one write is in
// progress go together in the next one (one Produce request, one record
// batch per partition), over an in-memory connection to the hub. A record
// is reported stored only once the hub has written it to its log, as
// with acks=all.
//
// It is made for many small records from many goroutines (devices): per
// record it costs an encoding and a callback, where a Kafka client adds
// promises, per-record buffering, idempotence bookkeeping and a loopback
// round trip per request.
type Appender struct {
	h       *Hub
	timeout time.Duration
	wake    chan struct{}
	stop    chan struct{}
	done    chan struct{}

	mu      sync.Mutex
	pending []pendingRecord
	closed  bool

	// Owned by the writer goroutine.
	conn       net.Conn
	partitions map[string]int32 // topic → partition count
	corr       int32
	formatter  *kmsg.RequestFormatter
	buf        []byte // the request being sent
	batches    []byte // its record batches, before they are copied into buf
	rr         int32  // partition of the next record without a key
}

type pendingRecord struct {
	topic string
	rec   Record
	done  func(error)
}

// ErrAppenderClosed fails records appended to (or pending in) a closed
// Appender.
var ErrAppenderClosed = errors.New("embedded event hub: the appender is closed (odx is stopping)")

// NewAppender starts an appender. A write the hub has not answered within
// timeout (30s when 0) fails its records, and the next write reconnects;
// a record thus hears within two timeouts at worst (it may wait for the
// write before its own). Close the appender when done.
func (h *Hub) NewAppender(timeout time.Duration) *Appender {
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	a := &Appender{h: h, timeout: timeout, wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
		partitions: map[string]int32{}, formatter: kmsg.NewRequestFormatter(kmsg.FormatterClientID("odx-appender"))}
	go a.run()
	return a
}

// Append queues rec for topic (created, with the hub's default partition
// count, if it does not exist) and calls done once it is stored, or with
// the reason it is not. done runs on the appender's callback goroutine
// (on the caller's, at once, if the appender is closed) and must not
// block; records are reported in the order they were appended.
func (a *Appender) Append(topic string, rec Record, done func(error)) {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		done(ErrAppenderClosed)
		return
	}
	a.pending = append(a.pending, pendingRecord{topic, rec, done})
	a.mu.Unlock()
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// Close fails what is still pending and stops the appender.
func (a *Appender) Close() {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		<-a.done
		return
	}
	a.closed = true
	a.mu.Unlock()
	close(a.stop)
	<-a.done
}

func (a *Appender) run() {
	defer close(a.done)
	// Callbacks run on their own goroutine (in write order), so that the
	// next write starts while devices are being acknowledged: a callback
	// typically writes to a network connection.
	completed := make(chan completion, 2)
	// Slices of pending records go round: the writer takes one, the
	// callbacks hand it back emptied (a new one per write was a kilobyte
	// of garbage per record under load).
	recycled := make(chan []pendingRecord, cap(completed)+2)
	callbacksDone := make(chan struct{})
	go func() {
		defer close(callbacksDone)
		for c := range completed {
			for i, p := range c.recs {
				p.done(c.errs[i])
			}
			clear(c.recs) // let the records' memory go
			select {
			case recycled <- c.recs[:0]:
			default:
			}
		}
	}()
	defer func() {
		close(completed)
		<-callbacksDone
	}()
	for {
		select {
		case <-a.wake:
		case <-a.stop:
			a.mu.Lock()
			batch := a.pending
			a.pending = nil
			a.mu.Unlock()
			errs := make([]error, len(batch))
			for i := range errs {
				errs[i] = ErrAppenderClosed
			}
			completed <- completion{batch, errs}
			if a.conn != nil {
				a.conn.Close()
			}
			return
		}
		var next []pendingRecord
		select {
		case next = <-recycled:
		default:
		}
		a.mu.Lock()
		batch := a.pending
		a.pending = next
		a.mu.Unlock()
		if len(batch) == 0 {
			continue
		}
		completed <- completion{batch, a.write(batch)}
	}
}

// completion is a write's records and their outcomes.
type completion struct {
	recs []pendingRecord
	errs []error
}

// partitionBatch is the records of one partition in one write.
type partitionBatch struct {
	topic     string
	partition int32
	records   []int // indexes into the write's records
	answered  bool  // the hub's response named the partition
}

// write stores records with one Produce request and returns each record's
// error (nil: stored).
func (a *Appender) write(recs []pendingRecord) []error {
	errs := make([]error, len(recs))
	failAll := func(err error) []error {
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	var batches []*partitionBatch
	index := map[string]map[int32]*partitionBatch{}
	for i, p := range recs {
		n, err := a.partitionCount(p.topic)
		if err != nil {
			errs[i] = err
			continue
		}
		part := a.partitionFor(p.rec.Key, n)
		byPart := index[p.topic]
		if byPart == nil {
			byPart = map[int32]*partitionBatch{}
			index[p.topic] = byPart
		}
		pb := byPart[part]
		if pb == nil {
			pb = &partitionBatch{topic: p.topic, partition: part}
			byPart[part] = pb
			batches = append(batches, pb)
		}
		pb.records = append(pb.records, i)
	}
	if len(batches) == 0 {
		return errs
	}

	req := kmsg.NewPtrProduceRequest()
	req.Version = 8 // not yet flexible: a plain response header
	req.Acks = -1
	req.TimeoutMillis = int32(a.timeout / time.Millisecond)
	topics := map[string]int{}
	// The batches are encoded into one buffer that every write reuses:
	// AppendRequest copies them into the request, after which they are
	// garbage (a new slice per batch was half a kilobyte per record).
	a.batches = a.batches[:0]
	for _, pb := range batches {
		ti, ok := topics[pb.topic]
		if !ok {
			ti = len(req.Topics)
			topics[pb.topic] = ti
			t := kmsg.NewProduceRequestTopic()
			t.Topic = pb.topic
			req.Topics = append(req.Topics, t)
		}
		p := kmsg.NewProduceRequestTopicPartition()
		p.Partition = pb.partition
		start := len(a.batches)
		a.batches = appendBatch(a.batches, recs, pb.records)
		p.Records = a.batches[start:len(a.batches):len(a.batches)]
		req.Topics[ti].Partitions = append(req.Topics[ti].Partitions, p)
	}

	resp, err := a.roundTrip(req)
	if err != nil {
		if a.conn != nil {
			a.conn.Close()
			a.conn = nil
		}
		return failAll(fmt.Errorf("embedded event hub: %w", err))
	}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			pb := index[t.Topic][p.Partition]
			if pb == nil {
				continue
			}
			pb.answered = true
			if p.ErrorCode == 0 {
				continue
			}
			err := kerr.ErrorForCode(p.ErrorCode)
			if errors.Is(err, kerr.UnknownTopicOrPartition) {
				delete(a.partitions, t.Topic) // deleted meanwhile: look it up (and create it) anew next time
			}
			for _, i := range pb.records {
				errs[i] = fmt.Errorf("embedded event hub did not store the record in %s/%d: %w", pb.topic, pb.partition, err)
			}
		}
	}
	for _, pb := range batches {
		if !pb.answered {
			for _, i := range pb.records {
				errs[i] = fmt.Errorf("embedded event hub did not answer for %s/%d", pb.topic, pb.partition)
			}
		}
	}
	return errs
}

// partitionCount is a topic's partition count, creating the topic if it
// does not exist.
func (a *Appender) partitionCount(topic string) (int32, error) {
	if n, ok := a.partitions[topic]; ok {
		return n, nil
	}
	// kfake answers these on its request loop, which a stopped hub no
	// longer runs: wait for the answer or the hub's end, whichever is first.
	// Once the hub has stopped, ask no more: every record of a new topic
	// comes here, and each question would leave a goroutine waiting forever.
	select {
	case <-a.h.stop:
		return 0, errHubClosed
	default:
	}
	type answer struct {
		n   int32
		err error
	}
	answered := make(chan answer, 1)
	go func() {
		if err := a.h.CreateTopic(topic); err != nil {
			answered <- answer{err: fmt.Errorf("embedded event hub: cannot create event hub %s: %w", topic, err)}
			return
		}
		answered <- answer{n: int32(len(a.h.cluster.PartitionInfos(topic)))}
	}()
	var n int32
	select {
	case r := <-answered:
		if r.err != nil {
			return 0, r.err
		}
		n = r.n
	case <-a.h.stop:
		return 0, errHubClosed
	}
	if n == 0 {
		return 0, fmt.Errorf("embedded event hub: event hub %s has no partitions", topic)
	}
	a.partitions[topic] = n
	return n, nil
}

// partitionFor is Kafka's default partitioner: murmur2 of the key, or
// round robin for records without a key.
func (a *Appender) partitionFor(key string, n int32) int32 {
	if key == "" {
		a.rr = (a.rr + 1) % n
		return a.rr
	}
	return int32(murmur2(key)&0x7fffffff) % n
}

// roundTrip sends one request on the appender's connection to the hub
// (dialled in memory on first use) and reads its response.
func (a *Appender) roundTrip(req *kmsg.ProduceRequest) (*kmsg.ProduceResponse, error) {
	if a.conn == nil {
		c, err := a.h.dialInProcess()
		if err != nil {
			return nil, err
		}
		a.conn = c
	}
	a.corr++
	a.buf = a.formatter.AppendRequest(a.buf[:0], req, a.corr)
	_ = a.conn.SetDeadline(time.Now().Add(a.timeout))
	if _, err := a.conn.Write(a.buf); err != nil {
		return nil, fmt.Errorf("writing to the hub: %w", err)
	}
	var size [4]byte
	if _, err := io.ReadFull(a.conn, size[:]); err != nil {
		return nil, fmt.Errorf("reading the hub's answer: %w", err)
	}
	body := make([]byte, binary.BigEndian.Uint32(size[:]))
	if _, err := io.ReadFull(a.conn, body); err != nil {
		return nil, fmt.Errorf("reading the hub's answer: %w", err)
	}
	if len(body) < 4 || int32(binary.BigEndian.Uint32(body)) != a.corr {
		return nil, errors.New("the hub's answer does not match the request")
	}
	resp := req.ResponseKind().(*kmsg.ProduceResponse)
	if err := resp.ReadFrom(body[4:]); err != nil {
		return nil, fmt.Errorf("reading the hub's answer: %w", err)
	}
	return resp, nil
}

var crc32c = crc32.MakeTable(crc32.Castagnoli)

// appendBatch appends records (by index) to dst as one uncompressed v2
// record batch, without a producer id.
func appendBatch(dst []byte, recs []pendingRecord, idx []int) []byte {
	first, last := recs[idx[0]].rec.Timestamp.UnixMilli(), int64(0)
	for _, i := range idx {
		ts := recs[i].rec.Timestamp.UnixMilli()
		first, last = min(first, ts), max(last, ts)
	}
	size := 61
	for _, i := range idx {
		r := &recs[i].rec
		size += 32 + len(r.Key) + len(r.Value)
		for _, h := range r.Headers {
			size += 10 + len(h.Key) + len(h.Value)
		}
	}
	b := kmsg.RecordBatch{FirstOffset: 0, PartitionLeaderEpoch: -1, Magic: 2, LastOffsetDelta: int32(len(idx) - 1),
		FirstTimestamp: first, MaxTimestamp: last, ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1, NumRecords: int32(len(idx))}
	start := len(dst)
	out := b.AppendTo(slices.Grow(dst, size))
	for n, i := range idx {
		r := &recs[i].rec
		tsDelta := r.Timestamp.UnixMilli() - first
		out = kbin.AppendVarint(out, recordSize(r, int32(n), tsDelta))
		out = appendRecord(out, r, int32(n), tsDelta)
	}
	// Length counts what follows it (offset 12); the CRC (offset 17)
	// covers what follows it (offset 21).
	batch := out[start:]
	binary.BigEndian.PutUint32(batch[8:], uint32(len(batch)-12))
	binary.BigEndian.PutUint32(batch[17:], crc32.Checksum(batch[21:], crc32c))
	return out
}

// recordSize is the length of appendRecord's output, which the record's
// length prefix gives.
func recordSize(r *Record, offsetDelta int32, timestampDelta int64) int32 {
	n := 1 + kbin.VarlongLen(timestampDelta) + kbin.VarintLen(offsetDelta)
	n += bytesSize(len(r.Key), r.Key == "") + bytesSize(len(r.Value), r.Value == nil)
	n += kbin.VarintLen(int32(len(r.Headers)))
	for _, h := range r.Headers {
		n += bytesSize(len(h.Key), false) + bytesSize(len(h.Value), false)
	}
	return int32(n)
}

// bytesSize is the encoded size of varint-length-prefixed bytes (-1 for null).
func bytesSize(n int, null bool) int {
	if null {
		return kbin.VarintLen(-1)
	}
	return kbin.VarintLen(int32(n)) + n
}

// appendRecord appends a record's body (everything after its length).
func appendRecord(dst []byte, r *Record, offsetDelta int32, timestampDelta int64) []byte {
	dst = append(dst, 0) // attributes
	dst = kbin.AppendVarlong(dst, timestampDelta)
	dst = kbin.AppendVarint(dst, offsetDelta)
	if r.Key == "" {
		dst = kbin.AppendVarint(dst, -1)
	} else {
		dst = kbin.AppendVarintString(dst, r.Key)
	}
	if r.Value == nil {
		dst = kbin.AppendVarint(dst, -1)
	} else {
		dst = kbin.AppendVarintBytes(dst, r.Value)
	}
	dst = kbin.AppendVarint(dst, int32(len(r.Headers)))
	for _, h := range r.Headers {
		dst = kbin.AppendVarintString(dst, h.Key)
		dst = kbin.AppendVarintString(dst, h.Value)
	}
	return dst
}

// murmur2 is the 32-bit MurmurHash2 with Kafka's seed, which Kafka's
// default partitioner (and franz-go's) applies to record keys.
func murmur2(key string) uint32 {
	const (
		seed = 0x9747b28c
		m    = 0x5bd1e995
		r    = 24
	)
	n := len(key)
	h := uint32(seed) ^ uint32(n)
	i := 0
	for ; n-i >= 4; i += 4 {
		k := uint32(key[i]) | uint32(key[i+1])<<8 | uint32(key[i+2])<<16 | uint32(key[i+3])<<24
		k *= m
		k ^= k >> r
		k *= m
		h *= m
		h ^= k
	}
	switch n - i {
	case 3:
		h ^= uint32(key[i+2]) << 16
		fallthrough
	case 2:
		h ^= uint32(key[i+1]) << 8
		fallthrough
	case 1:
		h ^= uint32(key[i])
		h *= m
	}
	h ^= h >> 13
	h *= m
	h ^= h >> 15
	return h
}
