package eventgrid

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"odx/internal/blobstore"
	"odx/internal/connect"
	"odx/internal/connect/eventhub"
)

// maxPollRecords bounds the notifications taken per poll: a poll's blobs
// are ingested before the next poll, and a rebalance waits for them.
const maxPollRecords = 128

// finalCommitTimeout bounds the position commit of a stopping connection.
const finalCommitTimeout = 10 * time.Second

// bufferedBlobBytes: blobs up to this size are read into memory before
// decoding (at most Parallel of them at a time); larger ones stream.
const bufferedBlobBytes = 16 << 20

// run is one run of one connection.
type run struct {
	c      *Connector
	rt     connect.Runtime
	cfg    config
	sink   connect.BlobSink
	router connect.Router
	counts *blobCounts
	client *kgo.Client // set after NewClient; group callbacks use late
	late   *eventhub.LateClient
	start  time.Time

	mu   sync.Mutex
	next map[int32]int64 // next offset expected per owned partition; -1 unknown
}

// Run reads the connection's notifications until ctx ends.
func (c *Connector) Run(ctx context.Context, rt connect.Runtime) error {
	cfg, problems := parseSpec(rt.Spec)
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	sink, ok := rt.Sink.(connect.BlobSink)
	if !ok {
		return errors.New("this odx's ingestion pipeline cannot ingest blobs (its Sink is not a connect.BlobSink)")
	}
	ep, err := c.o.Hubs.Endpoint(cfg.namespace)
	if err != nil {
		return err
	}
	base, err := eventhub.ClientOptions(ep)
	if err != nil {
		return fmt.Errorf("event hub namespace %s: %w", cfg.namespace, err)
	}
	base = append(base, c.o.Hubs.ExtraClientOptions()...)
	if err := eventhub.PrepareHub(ctx, base, ep, cfg.hub); err != nil {
		return fmt.Errorf("event hub %s/%s at %v: %w", cfg.namespace, cfg.hub, ep.Brokers, err)
	}
	counts := c.countsFor(rt.Spec.ID, rt.Spec.Database, rt.Spec.Name)
	counts.update(func(st *BlobStatus) { st.Active, st.Pending = true, 0 })
	defer counts.update(func(st *BlobStatus) { st.Active, st.Pending = false, 0 })

	if c.o.Blobs.Embedded(cfg.account) {
		if c.o.Blobs.Root() == "" {
			return fmt.Errorf("storage account %s is not bound in the configuration file (storageAccounts) and the embedded storage is off", cfg.account)
		}
		stop, err := c.watch(cfg, base, rt.Logger)
		if err != nil {
			return err
		}
		defer stop()
	}

	router := connect.NewRouter(rt.Spec)
	router.RawFormat = true
	// Blob metadata routes by table, format, mapping, database and tags;
	// compression comes from the blob's name.
	router.Properties = []string{connect.PropTable, connect.PropFormat, connect.PropMapping, connect.PropDatabase, connect.PropTags}
	start := rt.Spec.RetrievalStart
	if start.IsZero() {
		start = time.Now()
	}
	r := &run{c: c, rt: rt, cfg: cfg, sink: sink, router: router, counts: counts, start: start, next: map[int32]int64{},
		late: eventhub.NewLateClient()}
	opts := append(slices.Clone(base),
		kgo.ConsumerGroup(rt.Spec.ConsumerGroup),
		kgo.ConsumeTopics(cfg.hub),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		// Rebalances happen between polls only, when no blob is half done.
		kgo.BlockRebalanceOnPoll(),
		// Positions live with the rows; the group's offsets only mirror them.
		kgo.AutoCommitMarks(), kgo.AutoCommitInterval(time.Second),
		kgo.AdjustFetchOffsetsFn(r.adjustOffsets),
		kgo.OnPartitionsRevoked(r.forget),
		kgo.OnPartitionsLost(r.forget),
	)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("event hub %s/%s: %w", cfg.namespace, cfg.hub, err)
	}
	r.client = cl
	r.late.Set(cl)
	defer cl.Close()
	return r.loop(ctx)
}

func (r *run) loop(ctx context.Context) error {
	for {
		pctx, cancel := context.WithTimeout(ctx, r.c.o.PollWait)
		fetches := r.client.PollRecords(pctx, maxPollRecords)
		cancel()
		if ctx.Err() != nil {
			r.client.AllowRebalance()
			return nil
		}
		if fetches.IsClientClosed() {
			return errors.New("the Kafka client closed unexpectedly")
		}
		if err := fetchError(fetches); err != nil {
			// The client retries by itself; records of the partitions that
			// did answer are still handled below.
			r.rt.Stats.Problem(fmt.Errorf("reading notifications from event hub %s/%s: %w", r.cfg.namespace, r.cfg.hub, err), time.Now().Add(r.c.o.PollWait))
			if fetches.NumRecords() == 0 {
				r.client.AllowRebalance()
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(r.c.o.PollWait):
				}
				continue
			}
		} else {
			r.rt.Stats.Healthy()
		}
		// The poll's blobs are ingested side by side (Parallel at a time);
		// then each partition's position moves past its notifications. A
		// crash before that re-reads them: the blobs committed meanwhile are
		// recognised by their identity and not ingested again.
		// Blob commits carry no position (they would all update the same
		// row, and a conflict would redo a whole blob's transaction).
		var jobs []job
		ends := map[int32]int64{}
		fetches.EachPartition(func(p kgo.FetchTopicPartition) {
			r.rt.Stats.Watermark(p.Partition, p.HighWatermark)
			for _, rec := range p.Records {
				if !r.accept(rec.Partition, rec.Offset) {
					continue
				}
				jobs = append(jobs, r.jobs(ctx, rec, connect.Position{Partition: p.Partition, NextOffset: -1})...)
				ends[p.Partition] = rec.Offset + 1
			}
		})
		if r.runJobs(ctx, jobs) {
			// Every blob of the poll is committed: move the positions on,
			// also when the connection is stopping, so that a clean restart
			// does not read these notifications again.
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalCommitTimeout)
			for p, next := range ends {
				if r.commitPosition(cctx, connect.Position{Partition: p, NextOffset: next}) {
					r.advance(p, next)
				}
			}
			cancel()
			r.mirror()
		}
		r.client.AllowRebalance()
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

// accept reports whether a record is new for its partition (a re-fetch
// after a rebalance can return records already handled).
func (r *run) accept(p int32, offset int64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	n, ok := r.next[p]
	return ok && (n < 0 || offset >= n)
}

// position is a partition's committed position, -1 when it has none.
func (r *run) position(p int32) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if n, ok := r.next[p]; ok {
		return n
	}
	return -1
}

func (r *run) advance(p int32, next int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.next[p]; ok {
		r.next[p] = next
	}
}

// adjustOffsets starts assigned partitions at their committed positions
// (Checkpoints, the source of truth), or at the connection's start time.
func (r *run) adjustOffsets(ctx context.Context, offsets map[string]map[int32]kgo.Offset) (map[string]map[int32]kgo.Offset, error) {
	pos, err := r.rt.Checkpoints.Positions(ctx, r.rt.Spec.Key())
	if err != nil {
		return nil, fmt.Errorf("loading the committed positions: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rt.Logger.Debug("notification partitions assigned", "hub", r.cfg.hub, "positions", pos)
	var starts map[int32]int64 // the start time's offsets, listed when needed
	for _, parts := range offsets {
		for p := range parts {
			if n, ok := pos[p]; ok {
				parts[p] = kgo.NewOffset().At(n)
				r.next[p] = n
				r.rt.Stats.Assigned(p, n)
				continue
			}
			if starts == nil {
				if starts, err = eventhub.StartOffsets(ctx, r.late, r.cfg.hub, r.start); err != nil {
					return nil, err
				}
			}
			n, ok := starts[p]
			if !ok {
				return nil, fmt.Errorf("listing the offsets of partition %d at the connection's start: no answer", p)
			}
			parts[p] = kgo.NewOffset().At(n)
			r.next[p] = -1
			r.rt.Stats.Assigned(p, -1)
		}
	}
	return offsets, nil
}

// forget drops partitions that went to another consumer. Nothing is in
// flight (rebalances wait for the poll's blobs), and every blob handled is
// committed already.
func (r *run) forget(_ context.Context, _ *kgo.Client, gone map[string][]int32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rt.Logger.Debug("notification partitions gone", "hub", r.cfg.hub, "partitions", gone[r.cfg.hub])
	for _, p := range gone[r.cfg.hub] {
		delete(r.next, p)
		r.rt.Stats.Revoked(p)
	}
}

// mirror copies the committed positions to the group's offsets, for tools
// that show consumer lag.
func (r *run) mirror() {
	r.mu.Lock()
	m := map[int32]kgo.EpochOffset{}
	for p, n := range r.next {
		if n >= 0 {
			m[p] = kgo.EpochOffset{Epoch: -1, Offset: n}
		}
	}
	r.mu.Unlock()
	if len(m) > 0 {
		r.client.MarkCommitOffsets(map[string]map[int32]kgo.EpochOffset{r.cfg.hub: m})
	}
}

// job is one blob to ingest.
type job struct {
	n      Notice
	pos    connect.Position // committed with the blob; NextOffset -1: none
	source string
}

// jobs parses one notification into the blobs the connection ingests.
func (r *run) jobs(ctx context.Context, rec *kgo.Record, safe connect.Position) []job {
	p, off := rec.Partition, rec.Offset
	source := fmt.Sprintf("%s/%s/partition %d/offset %d", r.cfg.namespace, r.cfg.hub, p, off)
	if kind := header(rec, "aeg-event-type"); kind != "" && !strings.EqualFold(kind, "Notification") {
		return nil // SubscriptionValidation / SubscriptionDeletion: nothing to ingest
	}
	notices, err := ParseNotification(rec.Value)
	if err != nil {
		r.rt.RecordFailure(ctx, connect.Failure{Source: source, Code: CodeBadEvent, At: time.Now(),
			Message: "the notification was not ingested: " + err.Error()})
		r.rt.Stats.Failed(p, source+": "+err.Error(), time.Now())
		return nil
	}
	var out []job
	skipped := int64(0)
	for _, n := range notices {
		if r.wants(n) {
			out = append(out, job{n: n, pos: safe, source: source})
		} else {
			skipped++
		}
	}
	r.counts.update(func(st *BlobStatus) { st.Skipped += skipped; st.Pending += int64(len(out)) })
	return out
}

// runJobs ingests the jobs, Parallel at a time; jobs of one blob URL run
// one after the other (a repeated notification waits for the first and is
// then a duplicate). It returns false when ctx ended before every job was
// committed.
func (r *run) runJobs(ctx context.Context, jobs []job) bool {
	var groups [][]job
	byURL := map[string]int{}
	for _, j := range jobs {
		k := strings.ToLower(j.n.URL)
		if i, ok := byURL[k]; ok {
			groups[i] = append(groups[i], j)
			continue
		}
		byURL[k] = len(groups)
		groups = append(groups, []job{j})
	}
	work := make(chan []job)
	var wg sync.WaitGroup
	var stopped atomic.Bool
	for range min(r.c.o.Parallel, len(groups)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for g := range work {
				for _, j := range g {
					if !r.ingest(ctx, j.n, j.pos, j.source) {
						stopped.Store(true)
						break
					}
				}
			}
		}()
	}
	for _, g := range groups {
		if ctx.Err() != nil {
			stopped.Store(true)
			break
		}
		work <- g
	}
	close(work)
	wg.Wait()
	return !stopped.Load()
}

func header(rec *kgo.Record, key string) string {
	for _, h := range rec.Headers {
		if strings.EqualFold(h.Key, key) {
			return string(h.Value)
		}
	}
	return ""
}

// wants applies ADX's event filter: the connection's event type, its
// storage account, no empty blob, no ADLS CreateFile.
func (r *run) wants(n Notice) bool {
	if !strings.EqualFold(n.Type, r.cfg.eventType) || n.URL == "" {
		return false
	}
	if strings.EqualFold(n.API, "CreateFile") || n.ContentLength == 0 {
		return false // ADLS Gen2 creates files empty; FlushWithClose announces the content
	}
	if a := accountOfTopic(n.Topic); a != "" && a != r.cfg.account {
		return false
	}
	ref, err := r.c.o.Blobs.Parse(n.URL)
	return err != nil || ref.Account == r.cfg.account // unparsable URLs become failures
}

// commitPosition commits a position alone, retrying while the store fails.
func (r *run) commitPosition(ctx context.Context, pos connect.Position) bool {
	c := connect.Commit{Connection: r.rt.Spec.Key(), Positions: []connect.Position{pos}}
	err := r.retry(ctx, func() (error, bool) {
		_, err := r.rt.Sink.Ingest(ctx, c)
		if err != nil {
			return fmt.Errorf("committing the position of partition %d: %w", pos.Partition, err), true
		}
		return nil, false
	})
	if err == nil {
		r.rt.Stats.Committed(pos.Partition, pos.NextOffset, 0, 0, time.Now())
	}
	return err == nil
}

// retry runs fn until it succeeds, fails for good (transient false) or ctx
// ends, backing off between tries and showing the problem in the
// connection's state meanwhile. It returns nil on success.
func (r *run) retry(ctx context.Context, fn func() (err error, transient bool)) error {
	backoff := r.c.o.MinRetry
	for {
		err, transient := fn()
		if err == nil || !transient {
			if err == nil {
				r.rt.Stats.Healthy()
			}
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r.rt.Stats.Problem(err, time.Now().Add(backoff))
		r.rt.Logger.Warn("Event Grid data connection retrying", "error", err, "retryIn", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		backoff = min(backoff*2, r.c.o.MaxRetry)
	}
}

// ingest commits one blob. It returns false when ctx ended first.
func (r *run) ingest(ctx context.Context, n Notice, pos connect.Position, source string) bool {
	b := connect.Blob{Connection: r.rt.Spec.Key(), URL: n.URL, Identity: n.URL, Position: pos, Source: source,
		Route: r.router.Defaults, IgnoreFirstRecord: r.cfg.ignoreFirst}
	var size int64
	ref, err := r.c.o.Blobs.Parse(n.URL)
	if err != nil {
		b.Reject = &connect.RouteError{Code: CodeInvalidBlob, Message: err.Error()}
	} else {
		b.URL = ref.URL
		var props blobstore.Props
		err = r.retry(ctx, func() (error, bool) {
			var err error
			props, err = r.c.o.Blobs.Stat(ctx, ref)
			return err, err != nil && !errors.Is(err, blobstore.ErrNotFound)
		})
		switch {
		case ctx.Err() != nil:
			return false
		case err != nil:
			b.Reject = &connect.RouteError{Code: CodeSourceNotFound, Message: err.Error()}
		case props.Size == 0:
			// An empty blob holds nothing to ingest; ADX discards it. The
			// position moves past it with the rest of the poll.
			r.counts.update(func(st *BlobStatus) { st.Pending--; st.Skipped++ })
			return true
		default:
			size = props.Size
			b.Identity = ref.URL + "#" + props.ETag
			r.route(&b, ref, props)
			b.Open, b.ReadErr = r.opener(ref, props.ETag, props.Size)
		}
	}

	var rep connect.BlobReport
	err = r.retry(ctx, func() (error, bool) {
		var err error
		rep, err = r.sink.IngestBlob(ctx, b)
		if err != nil {
			return fmt.Errorf("ingesting %s: %w", b.URL, err), true
		}
		return nil, false
	})
	if err != nil {
		return false
	}
	now := time.Now()
	// The blob counts for its partition; the position shown stays the
	// committed one until the notification's position commits.
	r.rt.Stats.Committed(pos.Partition, max(pos.NextOffset, r.position(pos.Partition)), 1, size, now)
	r.counts.update(func(st *BlobStatus) {
		st.Pending--
		switch {
		case rep.Duplicate:
			st.Duplicates++
		case rep.Failure != "":
			st.Failed++
			st.LastFailure, st.LastFailureAt = rep.Failure, now
		default:
			st.Ingested++
			st.Rows += rep.Rows
			st.Bytes += size
			st.LastIngest = now
		}
	})
	if rep.Failure != "" {
		r.rt.Stats.Failed(pos.Partition, rep.Failure, now)
		r.rt.Logger.Warn("blob not ingested", "blob", b.URL, "error", rep.Failure)
	}
	return true
}

// route applies the blob's metadata over the connection's defaults.
func (r *run) route(b *connect.Blob, ref blobstore.Ref, props blobstore.Props) {
	md := props.Metadata // lower-case keys
	ev := map[string]string{}
	for prop, key := range map[string]string{connect.PropTable: "kustotable", connect.PropFormat: "kustodataformat",
		connect.PropMapping: "kustoingestionmappingreference", connect.PropDatabase: "kustodatabase", connect.PropTags: "kustoextenttags"} {
		if v := strings.TrimSpace(md[key]); v != "" {
			ev[prop] = v
		}
	}
	name := ref.Path
	compression := "none"
	switch lower := strings.ToLower(name); {
	case strings.HasSuffix(lower, ".gz"):
		compression, name = "gzip", name[:len(name)-3]
	case strings.HasSuffix(lower, ".zip"):
		compression, name = "zip", name[:len(name)-4]
	}
	if ev[connect.PropFormat] == "" && r.router.Defaults.Format == "" {
		ev[connect.PropFormat] = formatOfName(name)
	}
	route, err := r.router.Route(ev)
	b.Route = route
	b.Route.Compression = compression
	if err != nil {
		var re *connect.RouteError
		if !errors.As(err, &re) {
			re = &connect.RouteError{Code: connect.CodeMalformedProperty, Message: err.Error()}
		}
		b.Reject = re
		return
	}
	if v := strings.TrimSpace(md["kustoignorefirstrecord"]); v != "" {
		ig, err := strconv.ParseBool(v)
		if err != nil {
			b.Reject = &connect.RouteError{Code: connect.CodeMalformedProperty, Table: route.Table,
				Message: fmt.Sprintf("blob metadata kustoIgnoreFirstRecord %q: use true or false", v)}
			return
		}
		b.IgnoreFirstRecord = ig
	}
	if v := strings.TrimSpace(md["kustocreationtime"]); v != "" {
		t, err := parseTime(v)
		if err != nil {
			b.Reject = &connect.RouteError{Code: connect.CodeMalformedProperty, Table: route.Table,
				Message: fmt.Sprintf("blob metadata kustoCreationTime %q is not an ISO 8601 time such as 2024-01-31T12:00:00Z", v)}
			return
		}
		b.CreationTime = t
	}
	b.Size = props.Size
	b.RawSize = props.Size
	if compression != "none" {
		b.RawSize = props.Size * 8 // a typical ratio for text; rawSizeBytes says better
	}
	if v := strings.TrimSpace(md["rawsizebytes"]); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
			b.RawSize = n
		}
	}
	limit := r.c.o.MaxBlobBytes
	if props.Size > limit || (b.RawSize > limit && md["rawsizebytes"] != "") {
		b.Reject = &connect.RouteError{Code: CodeFileTooLarge, Table: route.Table, Message: fmt.Sprintf(
			"the blob is %d bytes (uncompressed %d), over the limit of %d bytes for one blob; split it into smaller blobs", props.Size, b.RawSize, limit)}
	}
}

// formatOfName guesses the format from a blob name (after .gz/.zip), csv
// when the name does not say, as ADX does.
func formatOfName(name string) string {
	switch ext := strings.ToLower(strings.TrimPrefix(path.Ext(name), ".")); ext {
	case "jsonl", "ndjson":
		return "json"
	case "log":
		return "w3clogfile"
	case "":
	default:
		if slices.Contains(connect.Formats, ext) {
			return ext
		}
	}
	return "csv"
}

func parseTime(v string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("not a time")
}

// opener opens the blob for the sink and remembers whether reading it
// failed on the storage side (retry) rather than in its content (failure).
func (r *run) opener(ref blobstore.Ref, etag string, size int64) (func(context.Context) (io.ReadCloser, error), func() error) {
	var mu sync.Mutex
	var readErr error
	set := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		readErr = err
	}
	open := func(ctx context.Context) (io.ReadCloser, error) {
		set(nil)
		rc, err := r.c.o.Blobs.Open(ctx, ref, etag)
		if err != nil {
			if !errors.Is(err, blobstore.ErrNotFound) {
				set(err)
			}
			return nil, err
		}
		if size <= bufferedBlobBytes {
			// Small blobs are downloaded whole first: the decoder then never
			// waits on the network, and a dropped download is retried
			// before anything is decoded.
			defer rc.Close()
			data, err := io.ReadAll(rc)
			if err != nil {
				set(fmt.Errorf("reading the blob failed: %w", err))
				return nil, err
			}
			return io.NopCloser(bytes.NewReader(data)), nil
		}
		return &trackedReader{rc: rc, set: set}, nil
	}
	return open, func() error {
		mu.Lock()
		defer mu.Unlock()
		return readErr
	}
}

type trackedReader struct {
	rc  io.ReadCloser
	set func(error)
}

func (t *trackedReader) Read(p []byte) (int, error) {
	n, err := t.rc.Read(p)
	if err != nil && err != io.EOF {
		t.set(fmt.Errorf("reading the blob failed: %w", err))
	}
	return n, err
}

func (t *trackedReader) Close() error { return t.rc.Close() }
