package eventhub

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"odx/internal/connect"
)

// maxPollRecords bounds the events taken per poll, so a flush never waits
// behind a huge poll.
const maxPollRecords = 10000

// finalFlushTimeout bounds the flush when a connection stops.
const finalFlushTimeout = 30 * time.Second

// consumer is one run of one connection.
type consumer struct {
	rt        connect.Runtime
	namespace string
	hub       string
	router    connect.Router
	read      map[string]bool // the record headers take decodes (readProperties)
	start     time.Time       // retrievalStartDate

	mu      sync.Mutex // guards batcher and fatal: the poll loop and the group callbacks share them
	batcher *connect.Batcher
	fatal   error
	client  *kgo.Client // set after NewClient; group callbacks use late
	late    *LateClient

	sources sourceNames // the poll loop's alone
}

// Run consumes the connection's event hub until ctx ends.
func (c *Connector) Run(ctx context.Context, rt connect.Runtime) error {
	ns, hub, err := ParseEventHubID(rt.Spec.Source)
	if err != nil {
		return err
	}
	ep, err := c.resolve(ns)
	if err != nil {
		return err
	}
	base, err := clientOptions(ep)
	if err != nil {
		return fmt.Errorf("event hub namespace %s: %w", ns, err)
	}
	base = append(base, c.o.ClientOptions...)
	if err := prepare(ctx, base, ep, hub); err != nil {
		return fmt.Errorf("event hub %s/%s at %v: %w", ns, hub, ep.Brokers, err)
	}

	start := rt.Spec.RetrievalStart
	if start.IsZero() {
		start = time.Now()
	}
	router := connect.NewRouter(rt.Spec)
	router.Properties = c.o.RoutingProperties
	cs := &consumer{rt: rt, namespace: ns, hub: hub, router: router, start: start, batcher: rt.NewBatcher(), late: NewLateClient(),
		read: readProperties(router, rt.Spec.SystemProperties)}
	opts := append(base,
		kgo.ConsumerGroup(rt.Spec.ConsumerGroup),
		kgo.ConsumeTopics(hub),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		// Positions live with the rows (Checkpoints); the group's own offsets
		// are only a mirror for tools that show consumer lag.
		kgo.AutoCommitMarks(), kgo.AutoCommitInterval(time.Second),
		kgo.AdjustFetchOffsetsFn(cs.adjustOffsets),
		kgo.OnPartitionsRevoked(cs.onRevoked),
		kgo.OnPartitionsLost(cs.onLost),
	)
	instance := ""
	if ep.StaticMembership {
		instance = instanceID(c.o.NodeID, rt.Spec.Key())
		opts = append(opts, kgo.InstanceID(instance))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("event hub %s/%s: %w", ns, hub, err)
	}
	cs.client = cl
	cs.late.Set(cl)
	err = cs.loop(ctx, c.o.PollWait)

	// Stop: commit what was read (best effort) and leave the group. Either
	// way no background commit may outlive the run: the next run loads the
	// positions.
	fctx, cancel := context.WithTimeout(context.Background(), finalFlushTimeout)
	cs.mu.Lock()
	if err == nil && cs.fatal == nil {
		if ferr := cs.batcher.Flush(fctx); ferr != nil {
			rt.Logger.Warn("events read before stopping were not committed; they will be read again", "error", ferr)
		} else {
			cs.markCommitted(cs.client)
		}
	}
	cs.batcher.Settle()
	cs.mu.Unlock()
	cancel()
	cl.Close()
	if instance != "" && ctx.Err() != nil {
		// A static member does not leave on close; on a clean stop leave
		// explicitly, so other nodes of the group take the partitions now.
		leaveGroup(base, rt.Spec.ConsumerGroup, instance, rt.Logger)
	}
	return err
}

// leaveGroup removes a static member from its group.
func leaveGroup(base []kgo.Opt, group, instance string, log *slog.Logger) {
	cl, err := kgo.NewClient(base...)
	if err != nil {
		return
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req := kmsg.NewPtrLeaveGroupRequest()
	req.Group = group
	m := kmsg.NewLeaveGroupRequestMember()
	m.InstanceID = &instance
	req.Members = append(req.Members, m)
	resp, err := req.RequestWith(ctx, cl)
	if err == nil {
		err = kerr.ErrorForCode(resp.ErrorCode)
		for _, mr := range resp.Members {
			if err == nil {
				err = kerr.ErrorForCode(mr.ErrorCode)
			}
		}
	}
	if err != nil && !errors.Is(err, kerr.UnknownMemberID) {
		log.Warn("could not leave the consumer group; its partitions move to other nodes after the session timeout", "group", group, "error", err)
	}
}

// prepare checks that the endpoint answers, and creates the hub on
// endpoints that create hubs on first use.
func prepare(ctx context.Context, base []kgo.Opt, ep Endpoint, hub string) error {
	cl, err := kgo.NewClient(base...)
	if err != nil {
		return err
	}
	defer cl.Close()
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := cl.Ping(pctx); err != nil {
		var unknownCA x509.UnknownAuthorityError
		var hostname x509.HostnameError
		if errors.As(err, &unknownCA) || errors.As(err, &hostname) {
			return fmt.Errorf("the broker's TLS certificate is not trusted (set caFile for the namespace, or check the broker host name): %w", err)
		}
		if ep.SASL != nil {
			return fmt.Errorf("unreachable, or it refused the SASL %s credentials of user %q (brokers often just close the connection): %w", ep.SASL.Mechanism, ep.SASL.Username, err)
		}
		return fmt.Errorf("unreachable: %w", err)
	}
	if !ep.CreateTopics {
		topics, err := kadm.NewClient(cl).ListTopics(pctx, hub)
		if err != nil {
			return fmt.Errorf("reading the event hub's metadata: %w", err)
		}
		if d, ok := topics[hub]; !ok || d.Err != nil {
			return fmt.Errorf("the event hub does not exist in this namespace (Kafka topic %q); create it, or check eventHubResourceId", hub)
		}
		return nil
	}
	if err := CreateEventHub(pctx, cl, hub, ep.Partitions); err != nil {
		return fmt.Errorf("creating the event hub: %w", err)
	}
	return nil
}

// CreateEventHub creates an event hub (Kafka topic) with partitions
// partitions (4 when 0) on the namespace cl is connected to; an existing
// one is left alone.
func CreateEventHub(ctx context.Context, cl *kgo.Client, name string, partitions int32) error {
	if partitions <= 0 {
		partitions = 4
	}
	resp, err := kadm.NewClient(cl).CreateTopic(ctx, partitions, -1, nil, name)
	if err == nil {
		err = resp.Err
	}
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return err
	}
	return nil
}

func (cs *consumer) loop(ctx context.Context, pollWait time.Duration) error {
	for {
		cs.mu.Lock()
		// Background commits that are stored advance the positions.
		fatal := cs.batcher.Collect()
		cs.markCommitted(cs.client)
		wait := cs.batcher.Wait(pollWait)
		if cs.fatal != nil {
			fatal = cs.fatal
		}
		cs.mu.Unlock()
		if fatal != nil {
			return fatal
		}
		if wait > 0 {
			pctx, cancel := context.WithTimeout(ctx, wait)
			fetches := cs.client.PollRecords(pctx, maxPollRecords)
			cancel()
			if ctx.Err() != nil {
				return nil
			}
			if fetches.IsClientClosed() {
				return errors.New("the Kafka client closed unexpectedly")
			}
			if err := fetchError(fetches); err != nil {
				// The client retries by itself and keeps its group membership,
				// so when the broker is back this member resumes at once (a new
				// client would wait for the old member's session to expire).
				cs.rt.Stats.Problem(fmt.Errorf("reading event hub %s/%s: %w", cs.namespace, cs.hub, err), time.Now().Add(pollWait))
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(pollWait):
				}
			} else {
				cs.rt.Stats.Healthy()
			}
			var err error
			names := cs.sources.name(fetches, cs.hub, cs.namespace+"/"+cs.hub)
			cs.mu.Lock()
			fetches.EachPartition(func(p kgo.FetchTopicPartition) {
				if !isHubData(p, cs.hub) {
					return
				}
				cs.rt.Stats.Watermark(p.Partition, p.HighWatermark)
				for _, r := range p.Records {
					if cs.take(ctx, r, names.next()) && err == nil {
						// A table reached its item or size limit: commit now
						// (in the background) rather than after the whole poll.
						err = cs.batcher.Submit(ctx)
					}
				}
			})
			cs.mu.Unlock()
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
		}
		cs.mu.Lock()
		var err error
		if cs.batcher.Due() {
			err = cs.batcher.Submit(ctx)
		}
		cs.mu.Unlock()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
}

// fetchError is the first real error of a poll (not the poll's own timeout).
func fetchError(f kgo.Fetches) error {
	for _, fe := range f.Errors() {
		if errors.Is(fe.Err, context.DeadlineExceeded) || errors.Is(fe.Err, context.Canceled) {
			continue
		}
		return fe.Err
	}
	return nil
}

// take routes one record, named source, into the batcher and reports
// whether its table's batch is full. Called with mu held.
func (cs *consumer) take(ctx context.Context, r *kgo.Record, source string) bool {
	if !cs.batcher.Accept(r.Partition, r.Offset) {
		return false
	}
	ev := connect.Event{
		Partition:      r.Partition,
		Offset:         r.Offset,
		SequenceNumber: r.Offset,
		EnqueuedTime:   r.Timestamp.UTC(),
		PartitionKey:   string(r.Key),
		Body:           r.Value,
	}
	for _, h := range r.Headers {
		if cs.read[h.Key] {
			if ev.Properties == nil {
				ev.Properties = make(map[string]string, 2)
			}
			ev.Properties[h.Key] = headerValue(h.Value)
		}
	}
	route, err := cs.router.Route(ev.Properties)
	var withProps bool
	if err == nil {
		withProps, err = connect.SystemPropertiesFor(route, cs.rt.Spec.SystemProperties)
	}
	if err != nil {
		f := connect.Failure{Source: source, Message: err.Error(), At: time.Now()}
		var re *connect.RouteError
		if errors.As(err, &re) {
			f.Code, f.Message, f.Table = re.Code, re.Message, re.Table
		}
		cs.batcher.Skip(r.Partition, r.Offset, source+": "+err.Error())
		cs.rt.RecordFailure(ctx, f)
		return false
	}
	it := connect.Item{Route: route, Event: ev, Source: source}
	if withProps {
		it.SystemProperties = systemProperties(cs.rt.Spec.SystemProperties, ev)
	}
	return cs.batcher.Add(it)
}

// readProperties are the event properties a connection reads: those its
// router honours and its eventSystemProperties. Only these headers are
// decoded: an IoT hub's events carry about ten system properties that few
// connections ask for, and a map of all of them cost more per event than
// the rest of taking it.
func readProperties(r connect.Router, systemProperties []string) map[string]bool {
	read := map[string]bool{}
	for _, n := range connect.PropertyNames {
		if r.Reads(n) {
			read[n] = true
		}
	}
	for _, n := range systemProperties {
		read[n] = true
	}
	return read
}

// systemProperties are an event's eventSystemProperties values, in the
// connection's order.
func systemProperties(names []string, ev connect.Event) []connect.SystemProperty {
	out := make([]connect.SystemProperty, 0, len(names))
	for _, n := range names {
		var v any
		switch n {
		case "x-opt-enqueued-time":
			v = ev.EnqueuedTime
		case "x-opt-sequence-number":
			v = ev.SequenceNumber
		case "x-opt-offset":
			v = strconv.FormatInt(ev.Offset, 10)
		case "x-opt-partition-key":
			v = ev.PartitionKey
		case "x-opt-publisher":
			v = "" // Kafka has no publisher
		default:
			v = ev.Properties[n] // IoT Hub properties of IoT Central-fed hubs
		}
		out = append(out, connect.SystemProperty{Name: n, Value: v})
	}
	return out
}

// adjustOffsets starts newly assigned partitions at their committed
// positions (Checkpoints, the source of truth), or at retrievalStartDate
// when they have none. The group's own committed offsets are ignored.
func (cs *consumer) adjustOffsets(ctx context.Context, offsets map[string]map[int32]kgo.Offset) (map[string]map[int32]kgo.Offset, error) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	// Background commits first, so the positions loaded include them.
	cs.batcher.Settle()
	pos, err := cs.rt.Checkpoints.Positions(ctx, cs.rt.Spec.Key())
	if err != nil {
		cs.fatal = fmt.Errorf("loading the committed positions: %w", err)
		return nil, cs.fatal
	}
	var starts map[int32]int64 // retrievalStartDate's offsets, listed when needed
	for _, parts := range offsets {
		cs.rt.Logger.Debug("partitions assigned", "hub", cs.hub, "partitions", len(parts))
		for p := range parts {
			if n, ok := pos[p]; ok {
				parts[p] = kgo.NewOffset().At(n)
				cs.batcher.Assign(p, n)
				continue
			}
			if starts == nil {
				if starts, err = StartOffsets(ctx, cs.late, cs.hub, cs.start); err != nil {
					cs.fatal = err
					return nil, err
				}
			}
			n, ok := starts[p]
			if !ok {
				err := fmt.Errorf("listing the offsets of partition %d at retrievalStartDate: no answer", p)
				cs.fatal = err
				return nil, err
			}
			parts[p] = kgo.NewOffset().At(n)
			cs.batcher.Assign(p, -1)
		}
	}
	return offsets, nil
}

// onRevoked commits what was read from the partitions before they go to
// another consumer, which starts from the committed positions.
func (cs *consumer) onRevoked(ctx context.Context, cl *kgo.Client, revoked map[string][]int32) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if len(revoked[cs.hub]) == 0 {
		return
	}
	if err := cs.batcher.Flush(ctx); err != nil && cs.fatal == nil {
		cs.fatal = err
	} else if err == nil {
		cs.markCommitted(cl) // franz-go's own: cs.client may not be set yet
	}
	cs.rt.Logger.Debug("partitions revoked", "hub", cs.hub, "partitions", revoked[cs.hub])
	for _, p := range revoked[cs.hub] {
		cs.batcher.Revoke(p)
	}
}

// onLost drops partitions this consumer no longer owns (its session
// expired): committing them now could duplicate what the new owner ingests.
func (cs *consumer) onLost(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	for _, p := range lost[cs.hub] {
		cs.batcher.Revoke(p)
	}
}

// markCommitted mirrors the committed positions to the group's offsets.
// Called with mu held.
func (cs *consumer) markCommitted(cl *kgo.Client) {
	pos := cs.batcher.Positions()
	if len(pos) == 0 {
		return
	}
	m := map[int32]kgo.EpochOffset{}
	for p, n := range pos {
		m[p] = kgo.EpochOffset{Epoch: -1, Offset: n}
	}
	cl.MarkCommitOffsets(map[string]map[int32]kgo.EpochOffset{cs.hub: m})
}
