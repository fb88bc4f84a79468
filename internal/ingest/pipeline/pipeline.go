// Package pipeline is odx's ingestion pipeline: it decodes a payload in any
// ADX format (after gzip or zip decompression), binds the records to the
// target table through a mapping (a stored one by reference, table scope over
// database scope; an inline one; or the identity mapping), and commits the
// rows as extents through storage.Store.Ingest. Records that cannot be decoded
// or converted are recorded for `.show ingestion failures` while the good
// records still arrive.
//
// Entry points built on it: the streaming ingestion endpoint (streaming.go,
// batched by the table's ingestionbatching policy unless its
// streamingingestion policy is enabled), `.ingest into` from URLs, blobs and
// allowed local folders (command.go, sources.go), `.show operations` and
// `.show ingestion failures` (show.go), and the data connections' connect.Sink
// (sink.go). Everything it acknowledges is committed first.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"odx/internal/columnar"
	"odx/internal/engine"
	"odx/internal/ingest/format"
	"odx/internal/ingest/mapping"
	"odx/internal/ingest/props"
	"odx/internal/kerr"
	"odx/internal/storage"
)

// Operation kinds, as `.show ingestion failures` and `.show operations` name them.
const (
	KindPull           = "DataIngestPull"      // .ingest into (sync or async)
	KindStreaming      = "DataIngestStreaming" // POST /v1/rest/ingest
	KindDataConnection = "DataConnection"      // Event Hub, Event Grid, IoT Hub
)

// StorageAccount gives odx access to an Azure storage account named in blob
// URLs (https://<account>.blob.core.windows.net/...), when the URL carries no SAS.
type StorageAccount struct {
	// BlobEndpoint replaces https://<account>.blob.core.windows.net, e.g.
	// Azurite's http://127.0.0.1:10000/devstoreaccount1. Empty keeps the URL's.
	BlobEndpoint string
	AccountKey   string
	SASToken     string
}

// Options tunes the Service. The zero value is usable.
type Options struct {
	Logger *slog.Logger
	// DefaultBatching is the ingestion batching policy when neither the table
	// nor its database sets one; zero fields take DefaultBatching's values.
	DefaultBatching BatchingPolicy
	// ChunkRows bounds the rows of one extent when a large source is
	// committed in several extents; DefaultChunkRows when 0.
	ChunkRows int
	// AllowedDirs are the local folders `.ingest into` may read (config
	// ingestAllowedDirs). Nothing else on the local disk is readable.
	AllowedDirs []string
	// StorageAccounts are keyed by account name (config storageAccounts).
	StorageAccounts map[string]StorageAccount
	// HTTPClient fetches https sources; nil uses a client with a 30-minute timeout.
	HTTPClient *http.Client
	// AllowHTTP lets `.ingest into` read plain http:// URLs (tests, Azurite).
	AllowHTTP bool
	// MaxFailuresPerSource caps the failure records one source writes;
	// DefaultMaxFailuresPerSource when 0.
	MaxFailuresPerSource int
}

const (
	// DefaultChunkRows keeps a large file's extents at a quarter million
	// rows, which bounds the memory of one commit to about 100 MB while
	// the next chunk decodes.
	DefaultChunkRows = 256 * 1024
	// DefaultMaxFailuresPerSource keeps a file full of bad records from
	// flooding the failures table; one summary line says how many were left out.
	DefaultMaxFailuresPerSource = 100
)

// Service is the ingestion pipeline over one store.
type Service struct {
	store   *storage.Store
	log     *slog.Logger
	opts    Options
	batches *batcher
	ops     *operations
	closeMu sync.Mutex
	closed  bool
}

// New builds the pipeline and creates its bookkeeping tables (failures,
// connection positions) in the store.
func New(ctx context.Context, store *storage.Store, opts Options) (*Service, error) {
	if err := store.EnsureIngestionTables(ctx); err != nil {
		return nil, err
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.ChunkRows <= 0 {
		opts.ChunkRows = DefaultChunkRows
	}
	if opts.MaxFailuresPerSource <= 0 {
		opts.MaxFailuresPerSource = DefaultMaxFailuresPerSource
	}
	opts.DefaultBatching = opts.DefaultBatching.withDefaults(DefaultBatching)
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 30 * time.Minute}
	}
	s := &Service{store: store, log: opts.Logger, opts: opts}
	s.batches = newBatcher(s)
	s.ops = newOperations(s)
	return s, nil
}

// Close commits what the batcher holds and waits for async operations.
func (s *Service) Close() error {
	s.closeMu.Lock()
	if s.closed {
		s.closeMu.Unlock()
		return nil
	}
	s.closed = true
	s.closeMu.Unlock()
	s.batches.close()
	s.ops.wait()
	return nil
}

// Store is the store the pipeline writes to.
func (s *Service) Store() *storage.Store { return s.store }

// Request says where a source goes and how it is read.
type Request struct {
	Database, Table string
	// Props are the ingestion properties (format, mapping, tags, ...); nil
	// means none: csv (or the format the source name says) with the identity mapping.
	Props *props.Properties
	// Source names the input: a file path or a URL without its secret. It is
	// the SourceLocation value, the failures' IngestionSourcePath, and the
	// name format and compression are guessed from when Props does not say.
	Source string
	// OperationID groups failures and `.show operations`; a new id when empty.
	OperationID string
	// OperationKind is KindPull, KindStreaming or KindDataConnection.
	OperationKind string
	// Principal is the caller's FQN, recorded with failures.
	Principal string
	// RawSize is the uncompressed size when known (for batching), else 0.
	RawSize int64
}

// Result says what an ingestion did.
type Result struct {
	OperationID string
	Rows        int64
	Extents     []storage.ExtentInfo
	// Failures are the problems recorded for `.show ingestion failures`:
	// skipped records, null-filled or truncated values, or the source's
	// failure when nothing could be ingested.
	Failures []storage.IngestionFailure
	// Skipped is set when ingestIfNotExists found the tag already ingested.
	Skipped bool
	// Warnings are about properties odx ignored.
	Warnings []string
}

// IngestReader ingests one source read from r, committing it as one extent
// (or several of at most Options.ChunkRows rows for a large source) before it
// returns. A source that yields no row is an error; records that fail while
// others succeed are in Result.Failures and recorded in the store.
func (s *Service) IngestReader(ctx context.Context, req Request, r io.Reader) (Result, error) {
	req = s.normalise(req)
	res := Result{OperationID: req.OperationID}
	if req.Props != nil {
		res.Warnings = req.Props.Warnings()
	}
	t, err := s.resolve(req)
	if err != nil {
		return res, s.failSource(ctx, req, &res, err)
	}
	first := true        // taken by the first extent's commit
	var resMu sync.Mutex // later extents commit two at a time
	commit := func(x *extentParts) error {
		resMu.Lock()
		isFirst := first
		first = false
		resMu.Unlock()
		if !x.hasRows() {
			resMu.Lock()
			res.Failures = append(res.Failures, x.failures...)
			resMu.Unlock()
			return s.store.RecordFailures(ctx, x.failures)
		}
		b := storage.IngestBatch{Database: req.Database, Table: req.Table, Source: req.Source,
			Tags: t.tags, CreationTime: t.creationTime,
			// The failures of the extent's records are known once its
			// rows are all read, which is before Extra runs.
			Extra: func(tx *engine.Tx) error { return storage.InsertFailuresTx(tx, x.failures) }}
		if isFirst {
			// Only the first extent of a source checks ingest-by tags: the
			// following ones carry the tag the first one just wrote.
			b.IngestIfNotExists = t.ifNotExists
		}
		info, err := s.store.IngestParts(ctx, b, x.next)
		if err != nil {
			return err
		}
		resMu.Lock()
		defer resMu.Unlock()
		if info.Skipped && isFirst {
			res.Skipped = true
			return errSkipped
		}
		res.Rows += info.RowCount
		res.Extents = append(res.Extents, info)
		res.Failures = append(res.Failures, x.failures...)
		return nil
	}
	// With ingest-by tags the first extent decides for the whole source,
	// so it commits before the others start.
	order := overlapAll
	if len(t.ifNotExists) > 0 {
		order = overlapAfterFirst
	}
	err = s.streamExtents(ctx, req, t, r, order, commit)
	if errors.Is(err, errSkipped) {
		return res, nil
	}
	if err != nil {
		if res.Rows > 0 {
			// Earlier extents of this source stand (a later part of it was
			// unreadable); say so in the failure.
			err = kerr.Wrap(err, kerr.As(err).Category, kerr.As(err).Code, "%s: ingestion stopped after %d rows", req.Source, res.Rows)
		}
		return res, s.failSource(ctx, req, &res, err)
	}
	if res.Rows == 0 && len(res.Failures) == 0 && len(res.Extents) == 0 {
		return res, s.failSource(ctx, req, &res, kerr.New(kerr.BadRequest, format.CodeNoRecords,
			"%s holds no records in format %s; check the data and the format property", sourceName(req.Source), t.format))
	}
	if res.Rows == 0 {
		return res, kerr.New(kerr.BadRequest, firstCode(res.Failures), "no record of %s could be ingested: %s", sourceName(req.Source), res.Failures[0].Details)
	}
	return res, nil
}

var errSkipped = errors.New("skipped by ingestIfNotExists")

func firstCode(f []storage.IngestionFailure) string {
	if len(f) > 0 && f[0].ErrorCode != "" {
		return f[0].ErrorCode
	}
	return format.CodeNoRecords
}

func sourceName(s string) string {
	if s == "" {
		return "the data"
	}
	return s
}

func (s *Service) normalise(req Request) Request {
	if req.OperationID == "" {
		req.OperationID = newID()
	}
	if req.OperationKind == "" {
		req.OperationKind = KindPull
	}
	return req
}

// failSource records a source-level failure (nothing more of it will be
// ingested) and returns err for the caller.
func (s *Service) failSource(ctx context.Context, req Request, res *Result, err error) error {
	ke := kerr.As(err)
	f := s.failure(req, ke.Code, ke.Error())
	f.ShouldRetry = !isPermanent(ke)
	if f.ShouldRetry {
		f.FailureKind = "Transient"
	}
	res.Failures = append(res.Failures, f)
	if rerr := s.store.RecordFailures(ctx, []storage.IngestionFailure{f}); rerr != nil {
		s.log.Warn("cannot record ingestion failure", "source", req.Source, "err", rerr)
	}
	return err
}

func isPermanent(e *kerr.Error) bool {
	switch e.Category {
	case kerr.Internal, kerr.Timeout, kerr.Unavailable:
		return false
	}
	return true
}

func (s *Service) failure(req Request, code, details string) storage.IngestionFailure {
	if code == "" {
		code = "Unknown"
	}
	return storage.IngestionFailure{
		OperationID: req.OperationID, Database: req.Database, Table: req.Table, FailedOn: s.store.Now().UTC(),
		IngestionSourcePath: req.Source, Details: details, FailureKind: "Permanent", RootActivityID: req.OperationID,
		OperationKind: req.OperationKind, ErrorCode: code, Principal: req.Principal, User: req.Principal,
		IngestionProperties: describeProps(req.Props), NumberOfSources: 1,
	}
}

// describeProps renders the ingestion properties as ADX shows them in
// failures: "Format=Csv, IngestionMappingReference=m".
func describeProps(p *props.Properties) string {
	if p == nil {
		return ""
	}
	var parts []string
	if p.Format != "" {
		parts = append(parts, "Format="+string(p.Format))
	}
	if p.MappingReference != "" {
		parts = append(parts, "IngestionMappingReference="+p.MappingReference)
	}
	if p.InlineMapping != "" {
		parts = append(parts, "IngestionMapping=(inline)")
	}
	if len(p.Tags) > 0 {
		parts = append(parts, "Tags="+strings.Join(p.Tags, ";"))
	}
	return strings.Join(parts, ", ")
}

// recordFailures turns record errors into failure rows, at most max of them
// plus one line saying how many more there were.
func (s *Service) recordFailures(req Request, errs []format.RecordError, budget *int) []storage.IngestionFailure {
	var out []storage.IngestionFailure
	for _, e := range errs {
		if *budget == 0 {
			continue
		}
		if *budget == 1 {
			// The last slot says the list is cut, and why.
			*budget = 0
			out = append(out, s.failure(req, e.Code, fmt.Sprintf("%s; further problems of this source are not listed (at most %d per source)", e.Error(), s.opts.MaxFailuresPerSource)))
			continue
		}
		*budget--
		out = append(out, s.failure(req, e.Code, e.Error()))
	}
	return out
}

// stream decodes r and calls commit with its rows in chunks of at most
// ChunkRows rows (a chunk is the blocks of its parts), the next chunk
// decoding while the previous one commits. It is for callers that need a
// chunk whole (batching, resumable blobs); IngestReader streams its extents
// with streamExtents instead.
func (s *Service) stream(ctx context.Context, req Request, t *target, r io.Reader, commit func([]*columnar.Block, []storage.IngestionFailure) error) error {
	return s.streamExtents(ctx, req, t, r, oneAtATime, func(x *extentParts) error {
		var blocks []*columnar.Block
		for {
			blk, err := x.next()
			if err != nil {
				return err
			}
			if blk == nil {
				return commit(blocks, x.failures)
			}
			blocks = append(blocks, blk)
		}
	})
}

// part is one decoded batch of a source, bound to the table's columns, with
// the failures of its records.
type part struct {
	block *columnar.Block
	fails []storage.IngestionFailure
}

// commitOrder says whether a source's extents commit one after the other.
type commitOrder int

const (
	oneAtATime        commitOrder = iota
	overlapAfterFirst             // the first alone, then extent k commits while k+1 appends
	overlapAll
)

// Parts are small and few are decoded ahead of the commit, so that memory
// holds a few batches of a large source, not a whole extent.
const (
	partRows      = 16 * 1024
	partsInFlight = 4
)

// streamExtents decodes r in one goroutine and binds its records in others
// (see decodeParts) while commit appends them: commit is called once per extent of at most
// ChunkRows rows and reads its rows as they are decoded (extentParts.next).
// Unless order is oneAtATime, commit is called from its own goroutine for
// each extent, and the next extent starts reading rows while the previous
// one commits (so commit must be safe for concurrent use); with
// overlapAfterFirst the first extent commits before the second starts.
// A decoding error ends the extent being read with that error, so its rows
// are not committed; the extents before it stand.
func (s *Service) streamExtents(ctx context.Context, req Request, t *target, r io.Reader, order commitOrder, commit func(*extentParts) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	src := s.decodeParts(ctx, req, t, r)
	// abort stops decoding after a failed commit and waits for it to end.
	abort := func(err error) error {
		cancel()
		for range src.parts {
		}
		return err
	}
	if order == oneAtATime {
		for {
			x := src.extent(s.opts.ChunkRows)
			if !x.peek() {
				return src.err // peek reads on until a row or the source's end
			}
			if err := commit(x); err != nil {
				return abort(err)
			}
			if src.ended {
				return src.err
			}
		}
	}
	// Overlapping: extent k commits while extent k+1 appends.
	var previous chan error // the commit before the current one, nil if none
	fail := func(err error) error {
		cancel() // an extent still reading parts gets the context's error
		if previous != nil {
			<-previous
		}
		return abort(err)
	}
	for first := true; ; first = false {
		x := src.extent(s.opts.ChunkRows)
		if !x.peek() {
			break
		}
		done := make(chan error, 1)
		go func() { done <- commit(x) }()
		if first && order == overlapAfterFirst {
			if err := <-done; err != nil {
				return fail(err)
			}
			done = nil
		} else {
			select {
			case <-x.read: // the source is free for the next extent
			case err := <-done:
				if err != nil {
					return fail(err)
				}
				done = nil
			}
		}
		if previous != nil {
			err := <-previous
			previous = done
			if err != nil {
				return fail(err)
			}
		} else {
			previous = done
		}
		if src.ended {
			break
		}
	}
	if previous != nil {
		err := <-previous
		previous = nil // received: fail must not wait for it again
		if err != nil {
			return fail(err)
		}
	}
	return src.err
}

// decodeParts decodes r in one goroutine and binds its batches in up to
// bindersInFlight others, sending parts of at most partRows rows in the
// source's order from a third, until the source ends, an error, or ctx is
// done.
func (s *Service) decodeParts(ctx context.Context, req Request, t *target, r io.Reader) *partSource {
	parts := make(chan part, partsInFlight)
	decodeErr := make(chan error, 1)
	go func() {
		defer close(parts)
		budget := s.opts.MaxFailuresPerSource
		send := func(p part) bool {
			select {
			case parts <- p:
				return true
			case <-ctx.Done():
				return false
			}
		}
		decodeErr <- format.Unpack(r, t.compression, t.zipPattern, func(name string, body io.Reader) error {
			src := req.Source
			if name != "" {
				src = req.Source + "/" + name
			}
			// The binder tells a json decoder which paths to pick; a
			// decoder error still takes precedence over a mapping error.
			// Its errors are not capped: two batches are bound at once, so
			// a cap counted by the binder would keep whichever errors the
			// goroutines reached first; recordFailures caps them in source
			// order, a batch at a time.
			binder, bindErr := mapping.Bind(t.mapping, t.columns, mapping.Options{Source: req.Source, MaxErrors: -1})
			var picks *format.Picks
			if bindErr == nil {
				picks = binder.Picks()
			}
			dec, err := format.NewDecoder(t.format, body, format.Options{Source: src, IgnoreFirstRecord: t.ignoreFirst,
				BatchSize:       min(s.opts.ChunkRows, partRows),
				CheckFieldCount: t.validation.Options == props.ValidateCsvInputConstantColumns,
				Picks:           picks, DeferPicking: true})
			if err != nil {
				return err
			}
			defer format.Close(dec)
			if bindErr != nil {
				return bindErr
			}
			// Decoding runs in one goroutine and binding (with the json
			// decoder's picking, left to Batch.Finish) in up to
			// bindersInFlight more, and appending in another, so that a
			// source keeps every core busy. Parts are sent in order.
			decCtx, stopDecoding := context.WithCancel(ctx)
			batches := decodeAhead(decCtx, dec)
			defer func() {
				stopDecoding()
				for range batches { // let the decoding goroutine finish before Close
				}
			}()
			var binding []*boundBatch // in decoding order
			sendOldest := func() bool {
				bb := binding[0]
				binding = binding[1:]
				<-bb.done
				return send(part{block: bb.block, fails: s.recordFailures(req, bb.errs, &budget)})
			}
			defer func() {
				for _, bb := range binding { // a bind still running must not outlive the decoder
					<-bb.done
				}
			}()
			for d := range batches {
				b, err := d.batch, d.err
				if b != nil && (len(b.Records) > 0 || len(b.Errors) > 0) {
					if t.validation.Implications == props.FailOnError {
						for _, e := range b.Errors {
							if e.Code == format.CodeWrongNumberOfFields {
								return kerr.New(kerr.BadRequest, e.Code, "%s (the validationPolicy fails the whole source on this)", e.Error())
							}
						}
					}
					if len(binding) == bindersInFlight && !sendOldest() {
						return ctx.Err()
					}
					binding = append(binding, bindBatch(binder, b))
				}
				if err != nil {
					// The records decoded before the end (or the problem)
					// go first.
					for len(binding) > 0 {
						if !sendOldest() {
							return ctx.Err()
						}
					}
					if err == io.EOF {
						return nil
					}
					return err
				}
			}
			return ctx.Err()
		})
	}()
	return &partSource{parts: parts, decodeErr: decodeErr}
}

// bindersInFlight is how many decoded batches of a source are bound at
// once: as many as the cores of a small machine.
const bindersInFlight = 2

// boundBatch is a decoded batch being finished and bound in its own
// goroutine; block and errs are set when done is closed.
type boundBatch struct {
	block *columnar.Block
	errs  []format.RecordError
	done  chan struct{}
}

func bindBatch(binder *mapping.Binder, b *format.Batch) *boundBatch {
	bb := &boundBatch{done: make(chan struct{})}
	go func() {
		defer close(bb.done)
		b.Finish()
		bb.block, bb.errs = binder.Block(b)
	}()
	return bb
}

// partSource is the decoded parts of a source, read by one extent after
// the other.
type partSource struct {
	parts     <-chan part
	decodeErr <-chan error
	ended     bool  // the parts are all read
	err       error // why decoding stopped early, once ended
}

// extent starts the next extent of at most limit rows.
func (p *partSource) extent(limit int) *extentParts {
	return &extentParts{src: p, limit: limit, read: make(chan struct{})}
}

func (p *partSource) receive() (part, bool) {
	if p.ended {
		return part{}, false
	}
	got, ok := <-p.parts
	if !ok {
		p.ended, p.err = true, <-p.decodeErr
	}
	return got, ok
}

// extentParts is one extent's rows as they are decoded: at most limit rows
// (a part is never split), and the failures of the records read for it.
type extentParts struct {
	src      *partSource
	limit    int
	rows     int
	head     *columnar.Block // a part read by peek, not yet returned by next
	failures []storage.IngestionFailure
	read     chan struct{} // closed when next has returned the extent's end
	ended    bool
}

// peek reads parts until one has rows or the source ends; it reports
// whether the extent has anything (rows or failures) to commit.
func (x *extentParts) peek() bool {
	x.fill()
	return x.head != nil || len(x.failures) > 0
}

// fill reads parts, keeping their records' failures, until one has rows
// (held in head) or the source ends.
func (x *extentParts) fill() {
	for x.head == nil {
		p, ok := x.src.receive()
		if !ok {
			return
		}
		x.failures = append(x.failures, p.fails...)
		if p.block != nil && p.block.Len > 0 {
			x.head = p.block
		}
	}
}

// hasRows reports whether the extent has rows (after peek).
func (x *extentParts) hasRows() bool { return x.head != nil }

// next returns the extent's next part, nil at its end, or the error that
// stopped decoding before the extent was whole.
func (x *extentParts) next() (*columnar.Block, error) {
	if x.rows < x.limit {
		x.fill()
	}
	if x.head == nil {
		if x.src.ended && x.src.err != nil {
			return nil, x.src.err
		}
		if !x.ended {
			x.ended = true
			close(x.read) // the source is the next extent's now
		}
		return nil, nil
	}
	blk := x.head
	x.head = nil
	x.rows += blk.Len
	return blk, nil
}

type decoded struct {
	batch *format.Batch
	err   error
}

// decodeAhead runs dec in its own goroutine, a couple of batches ahead of
// the reader of the returned channel, until the input ends, an error, or
// ctx is done; it closes the channel when it stops.
func decodeAhead(ctx context.Context, dec format.Decoder) <-chan decoded {
	out := make(chan decoded, 2)
	go func() {
		defer close(out)
		for ctx.Err() == nil {
			b, err := dec.Next()
			select {
			case out <- decoded{b, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return out
}

// newID is a new operation id, a random GUID as ADX's are.
func newID() string { return uuid.NewString() }
