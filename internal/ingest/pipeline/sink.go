package pipeline

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"odx/internal/columnar"
	"odx/internal/connect"
	"odx/internal/engine"
	"odx/internal/ingest/format"
	"odx/internal/ingest/mapping"
	"odx/internal/ingest/props"
	"odx/internal/kerr"
	"odx/internal/kql/types"
	"odx/internal/storage"
)

// ConnectionSink is the pipeline as the data connections see it: it
// implements connect.Sink, connect.Checkpoints and connect.FailureRecorder.
type ConnectionSink struct{ s *Service }

var (
	_ connect.Sink            = (*ConnectionSink)(nil)
	_ connect.Preparer        = (*ConnectionSink)(nil)
	_ connect.Checkpoints     = (*ConnectionSink)(nil)
	_ connect.FailureRecorder = (*ConnectionSink)(nil)
)

// Sink returns the data connections' view of the pipeline.
func (s *Service) Sink() *ConnectionSink { return &ConnectionSink{s: s} }

// Policy is the table's effective ingestionbatching policy.
func (c *ConnectionSink) Policy(database, table string) connect.BatchingPolicy {
	p := c.s.Batching(database, table)
	return connect.BatchingPolicy{MaxDelay: p.MaxDelay, MaxItems: p.MaxItems, MaxBytes: p.MaxBytes}
}

// Positions loads a connection's committed positions.
func (c *ConnectionSink) Positions(ctx context.Context, connection string) (map[int32]int64, error) {
	return c.s.store.Positions(ctx, connection)
}

// ForgetPositions deletes a connection's positions, for when the data
// connection is deleted (a new one of the same id starts afresh).
func (c *ConnectionSink) ForgetPositions(ctx context.Context, connection string) error {
	return c.s.store.DeletePositions(ctx, connection)
}

// RecordFailure records an event a connector could not route.
func (c *ConnectionSink) RecordFailure(ctx context.Context, f connect.Failure) {
	at := f.At
	if at.IsZero() {
		at = c.s.store.Now()
	}
	code := f.Code
	if code == "" {
		code = "Unknown"
	}
	err := c.s.store.RecordFailures(ctx, []storage.IngestionFailure{{
		OperationID: newID(), Database: f.Database, Table: f.Table, FailedOn: at.UTC(), IngestionSourcePath: f.Source,
		Details: f.Message, FailureKind: "Permanent", RootActivityID: f.Connection, OperationKind: KindDataConnection,
		ErrorCode: code, Principal: f.Connection, NumberOfSources: 1,
	}})
	if err != nil {
		c.s.log.Warn("cannot record data connection failure", "connection", f.Connection, "source", f.Source, "err", err)
	}
}

// Ingest decodes and maps every item of the commit and commits the good
// rows, the items' failures and the positions in one transaction. An item
// that cannot be decoded is not ingested at all (its failure is recorded)
// and does not hold back the others or the positions. When nothing could be
// committed an error is returned and nothing changed.
func (c *ConnectionSink) Ingest(ctx context.Context, cm connect.Commit) (connect.Report, error) {
	p, err := c.Prepare(ctx, cm)
	if err != nil {
		return connect.Report{}, err
	}
	return p.Store(ctx)
}

// preparedCommit is a commit decoded and mapped, waiting for its
// transaction (connect.Preparer).
type preparedCommit struct {
	c         *ConnectionSink
	conn      string
	db, table string
	blocks    []*columnar.Block
	fails     []storage.IngestionFailure
	tags      []string
	positions []storage.SourcePosition
	rep       connect.Report
	empty     bool // no items and no positions: nothing to store
}

// Prepare decodes and maps every item of the commit without storing
// anything (connect.Preparer): the Event Hub connector decodes its next
// commit while this one is stored.
func (c *ConnectionSink) Prepare(ctx context.Context, cm connect.Commit) (connect.Prepared, error) {
	var rep connect.Report
	if len(cm.Items) == 0 && len(cm.Positions) == 0 {
		return &preparedCommit{c: c, empty: true}, nil
	}
	opID := newID()
	var rows blockRows
	var fails []storage.IngestionFailure
	var tags []string
	seenTag := map[string]bool{}
	var db, table string
	targets := map[routeKey]*target{}
	// An item's Request names it in failures; most items have none.
	request := func(it *connect.Item) Request {
		return Request{Database: it.Route.Database, Table: it.Route.Table, Source: it.Source, OperationID: opID,
			OperationKind: KindDataConnection, Principal: cm.Connection}
	}
	// Routes are resolved in order (cheap, cached per route); the events'
	// bodies are then decoded in parallel, each into its own slot, and the
	// slots are merged in event order so that rows and failures come out as
	// a serial decode would produce them.
	decoded := make([]decodedItem, len(cm.Items))
	for i := range cm.Items {
		it := &cm.Items[i]
		if db == "" {
			db, table = it.Route.Database, it.Route.Table
		}
		if it.Route.Database != db || it.Route.Table != table {
			// The contract says one table per commit; never mix tables in one extent.
			decoded[i].misrouted = fmt.Sprintf("%s: the event targets %s.%s but its batch is for %s.%s; it was not ingested", it.Source, it.Route.Database, it.Route.Table, db, table)
			continue
		}
		decoded[i].target, decoded[i].err = c.target(targets, db, table, it)
	}
	c.decodeAll(cm.Items, decoded)
	for i := range cm.Items {
		it, d := &cm.Items[i], &decoded[i]
		if d.misrouted != "" {
			f := c.s.failure(request(it), "BadRequest", d.misrouted)
			fails = append(fails, f)
			rep.Failures = append(rep.Failures, f.Details)
			continue
		}
		if d.err != nil {
			ke := kerr.As(d.err)
			f := c.s.failure(request(it), ke.Code, prefixSource(it.Source, ke.Error()))
			fails = append(fails, f)
			rep.Failures = append(rep.Failures, f.Details)
			continue
		}
		if len(d.errs) > 0 {
			budget := c.s.opts.MaxFailuresPerSource
			for _, f := range c.s.recordFailures(request(it), d.errs, &budget) {
				fails = append(fails, f)
				rep.Failures = append(rep.Failures, f.Details)
			}
		}
		if d.shared != nil {
			rows.add(d.shared, d.row, d.row+1)
		}
		for _, blk := range d.blocks {
			rows.add(blk, 0, blk.Len)
		}
		for _, tg := range it.Route.Tags {
			if !seenTag[tg] {
				seenTag[tg] = true
				tags = append(tags, tg)
			}
		}
	}
	positions := make([]storage.SourcePosition, len(cm.Positions))
	for i, p := range cm.Positions {
		positions[i] = storage.SourcePosition{Partition: p.Partition, NextOffset: p.NextOffset}
	}
	return &preparedCommit{c: c, conn: cm.Connection, db: db, table: table, blocks: rows.blocks(), fails: fails, tags: tags,
		positions: positions, rep: rep}, nil
}

// Store commits the prepared rows, failures and positions in one
// transaction; on error nothing is stored.
func (p *preparedCommit) Store(ctx context.Context) (connect.Report, error) {
	if p.empty {
		return connect.Report{}, nil
	}
	rows := columnar.RowCount(p.blocks)
	if rows == 0 {
		if err := p.c.s.store.CommitBookkeeping(ctx, p.conn, p.positions, p.fails); err != nil {
			return connect.Report{}, err
		}
		return p.rep, nil
	}
	_, err := p.c.s.store.Ingest(ctx, storage.IngestBatch{Database: p.db, Table: p.table, Blocks: p.blocks, Tags: p.tags, Source: p.conn,
		Extra: func(tx *engine.Tx) error {
			if err := storage.PutPositionsTx(tx, p.conn, p.positions); err != nil {
				return err
			}
			return storage.InsertFailuresTx(tx, p.fails)
		}})
	if err != nil {
		return connect.Report{}, err
	}
	rep := p.rep
	rep.Rows = int64(rows)
	return rep, nil
}

// blockRows collects a commit's rows, in event order, as row ranges of
// blocks: consecutive events' rows of one shared block make one range.
type blockRows struct {
	ranges []blockRange
}

type blockRange struct {
	block    *columnar.Block
	from, to int
}

func (b *blockRows) add(blk *columnar.Block, from, to int) {
	if n := len(b.ranges); n > 0 && b.ranges[n-1].block == blk && b.ranges[n-1].to == from {
		b.ranges[n-1].to = to
		return
	}
	b.ranges = append(b.ranges, blockRange{blk, from, to})
}

// blocks are the ranges as blocks, whole blocks as they are.
func (b *blockRows) blocks() []*columnar.Block {
	out := make([]*columnar.Block, len(b.ranges))
	for i, r := range b.ranges {
		out[i] = r.block
		if r.from != 0 || r.to != r.block.Len {
			out[i] = r.block.Slice(r.from, r.to)
		}
	}
	return out
}

func prefixSource(src, msg string) string {
	if src == "" || strings.HasPrefix(msg, src) {
		return msg
	}
	return src + ": " + msg
}

// decodedItem is one event of a commit: its resolved route, then its rows
// and record errors, or the error that drops it. Its rows are blocks of
// its own, or one row of a block that a run of events shares (see
// sink_lines.go).
type decodedItem struct {
	target *target
	blocks []*columnar.Block
	shared *columnar.Block
	row    int // of shared
	errs   []format.RecordError
	err    error
	// misrouted: the event targets another table than its commit.
	misrouted string
}

// minEventsPerWorker keeps small commits on one goroutine: below it the
// hand-off costs more than the decoding.
const minEventsPerWorker = 512

// decodeAll decodes the items whose route resolved, on up to GOMAXPROCS
// goroutines over contiguous ranges of items. Each goroutine has its own
// JSON shapes (they are not safe for concurrent use); binders are.
func (c *ConnectionSink) decodeAll(items []connect.Item, out []decodedItem) {
	workers := min(runtime.GOMAXPROCS(0), len(items)/minEventsPerWorker)
	if workers <= 1 {
		decodeRange(items, out)
		return
	}
	var wg sync.WaitGroup
	per := (len(items) + workers - 1) / workers
	for lo := 0; lo < len(items); lo += per {
		hi := min(lo+per, len(items))
		wg.Go(func() { decodeRange(items[lo:hi], out[lo:hi]) })
	}
	wg.Wait()
}

func decodeRange(items []connect.Item, out []decodedItem) {
	shapes := map[*target]*format.JSONShape{}
	var lines lineDecoder
	ready := func(i int) bool { d := &out[i]; return d.err == nil && d.misrouted == "" && d.target != nil }
	for i := 0; i < len(items); {
		d := &out[i]
		if !ready(i) {
			i++
			continue
		}
		shape := shapes[d.target]
		if shape == nil {
			shape = format.NewJSONShape()
			shapes[d.target] = shape
		}
		// A run of same-route one-line JSON or CSV-family events decodes as
		// one source (sink_lines.go); the rest, and runs with a problem,
		// event by event.
		end := i + 1
		if lines.targetFits(d.target) && eventFits(&items[i]) {
			for end < len(items) && end-i < linesRun && ready(end) && out[end].target == d.target && eventFits(&items[end]) {
				end++
			}
			if end-i > 1 && lines.decode(d.target, shape, items[i:end], out[i:end]) {
				i = end
				continue
			}
		}
		for ; i < end; i++ {
			out[i].blocks, out[i].errs, out[i].err = decodeItem(out[i].target, shape, &items[i])
		}
	}
}

// routeKey is what distinguishes the targets of one commit's events.
type routeKey struct{ format, mapping, compression string }

// target resolves an event's route (format, compression, mapping) into
// db.table and compiles its binding, once per distinct route of a commit.
func (c *ConnectionSink) target(cache map[routeKey]*target, db, table string, it *connect.Item) (*target, error) {
	r := it.Route
	key := routeKey{r.Format, r.Mapping, r.Compression}
	t := cache[key]
	if t == nil {
		p := &props.Properties{MappingReference: r.Mapping, Validation: props.DefaultValidationPolicy}
		f, err := format.ParseFormat(r.Format)
		if r.Format == "" {
			f, err = format.CSV, nil
		}
		if err != nil {
			return nil, err
		}
		p.Format = f
		comp, err := format.ParseCompression(r.Compression)
		if err != nil {
			return nil, err
		}
		if comp == format.Zip {
			return nil, kerr.New(kerr.BadRequest, format.CodePropertyNotSupported, "event hub events may be gzip-compressed only, not zip")
		}
		if comp != format.None && f.Binary() {
			return nil, kerr.New(kerr.BadRequest, format.CodePropertyNotSupported,
				"compression is not supported for the binary format %s (it compresses internally); send the events uncompressed", f)
		}
		p.Compression = comp
		if t, err = c.s.resolve(Request{Database: db, Table: table, Props: p}); err != nil {
			return nil, err
		}
		// Binding is compiled once per route of the commit; each event
		// takes a view naming itself (see below).
		if t.binder, err = mapping.Bind(t.mapping, t.columns, mapping.Options{}); err != nil {
			return nil, err
		}
		cache[key] = t
	}
	return t, nil
}

// decodeItem decodes one event body by its resolved route. The item is all
// or nothing: a fatal decoding error drops every record of it.
func decodeItem(t *target, shape *format.JSONShape, it *connect.Item) ([]*columnar.Block, []format.RecordError, error) {
	r := it.Route
	body := it.Event.Body
	if enc := strings.ToUpper(strings.ReplaceAll(r.Encoding, "-", "")); enc != "" && enc != "UTF8" {
		if t.format.Binary() || t.compression != format.None {
			return nil, nil, kerr.New(kerr.BadRequest, format.CodePropertyNotSupported, "a custom encoding is not supported with binary formats or compressed data")
		}
		var err error
		if body, err = toUTF8(body, enc); err != nil {
			return nil, nil, err
		}
	}
	sys := it.SystemProperties
	if len(sys) > 0 {
		if t.compression != format.None {
			return nil, nil, kerr.New(kerr.BadRequest, format.CodePropertyNotSupported,
				"event system properties cannot be embedded in compressed events (as in ADX); the event was not ingested: send it uncompressed or drop eventSystemProperties")
		}
		if !embedsSystemProperties(t.format) {
			sys = nil // ADX ingests the data and ignores the properties for other formats
		}
	}
	var blocks []*columnar.Block
	var errs []format.RecordError
	err := format.Unpack(bytes.NewReader(body), t.compression, "", func(_ string, rd io.Reader) error {
		opts := format.Options{Source: it.Source, CheckFieldCount: true, JSONShape: shape}
		if len(sys) == 0 {
			// Only the mapped values are extracted (json); system
			// properties need whole records to be placed in.
			opts.Picks = t.binder.Picks()
		}
		dec, err := format.NewDecoder(t.format, rd, opts)
		if err != nil {
			return err
		}
		defer format.Close(dec)
		binder := t.binder.ForSource(it.Source)
		first := true
		for {
			b, err := dec.Next()
			if b != nil && len(b.Records) > 0 && first {
				first = false
				addSystemProperties(&b.Records[0], sys)
			}
			if b != nil {
				blk, e := binder.Block(b)
				if blk.Len > 0 {
					blocks = append(blocks, blk)
				}
				errs = append(errs, e...)
			}
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
		}
	})
	if err != nil {
		return nil, nil, err
	}
	if len(blocks) == 0 && len(errs) == 0 {
		return nil, nil, kerr.New(kerr.BadRequest, format.CodeNoRecords, "the event holds no records in format %s", t.format)
	}
	return blocks, errs, nil
}

// embedsSystemProperties: ADX embeds system properties in JSON and the
// CSV-family formats only.
func embedsSystemProperties(f format.Format) bool {
	return f == format.JSON || f == format.MultiJSON || f.Delimited()
}

// addSystemProperties places system properties in a record as ADX does:
// prepended fields (in the connection's order) for CSV, top-level fields
// named like the property for JSON.
func addSystemProperties(rec *format.Record, sys []connect.SystemProperty) {
	if len(sys) == 0 {
		return
	}
	if rec.Fields != nil {
		fields := make([]string, 0, len(sys)+len(rec.Fields))
		for _, p := range sys {
			fields = append(fields, propertyText(p.Value))
		}
		rec.Fields = append(fields, rec.Fields...)
		return
	}
	obj, ok := rec.Value.(map[string]any)
	if !ok {
		return // a JSON record that is not an object has nowhere to put them
	}
	for _, p := range sys {
		obj[p.Name] = p.Value
	}
}

func propertyText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case time.Time:
		return types.FormatDateTime(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case int32:
		return strconv.FormatInt(int64(x), 10)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

// toUTF8 converts a UTF-16 body (byte order from its BOM, little endian
// without one, as .NET's "Unicode" encoding) to UTF-8.
func toUTF8(body []byte, enc string) ([]byte, error) {
	var order binary.ByteOrder = binary.LittleEndian
	switch enc {
	case "UTF16", "UNICODE", "UTF16LE":
	case "UTF16BE", "BIGENDIANUNICODE":
		order = binary.BigEndian
	default:
		return nil, kerr.New(kerr.BadRequest, format.CodeMalformedProperty, "encoding %q is not supported; use UTF8 or UTF16", enc)
	}
	if len(body) >= 2 {
		switch {
		case body[0] == 0xFF && body[1] == 0xFE:
			order, body = binary.LittleEndian, body[2:]
		case body[0] == 0xFE && body[1] == 0xFF:
			order, body = binary.BigEndian, body[2:]
		}
	}
	if len(body)%2 != 0 {
		return nil, kerr.New(kerr.BadRequest, format.CodeInvalidBlob, "the UTF-16 body has an odd number of bytes")
	}
	units := make([]uint16, len(body)/2)
	for i := range units {
		units[i] = order.Uint16(body[2*i:])
	}
	runes := utf16.Decode(units)
	out := make([]byte, 0, len(runes))
	for _, r := range runes {
		out = utf8.AppendRune(out, r)
	}
	return out, nil
}
