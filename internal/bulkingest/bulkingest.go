// Package bulkingest is `odx ingest`, a bulk loader in the spirit of ADX's
// LightIngest: it ingests local files, globs, directories and URLs into one
// table of a running odx, in parallel, showing progress, and ends with a
// report (rows, extents, failures).
//
// How data travels: line-oriented text files (csv family, txt, JSON lines,
// plain or .gz) are cut on the client at record boundaries into pieces of
// about 8 MB and sent as `.ingest inline` commands over the management
// endpoint (gzip-compressed). Each piece commits at once as one extent, so
// throughput is not held back by the ingestion batching policy nor capped
// by the streaming endpoint's 4 MB limit, and a failed piece is retried
// alone. Files that cannot be cut (Parquet, Avro, multi-line JSON, zip) and
// URLs are ingested with `.ingest into table T ('<path or URL>')`: odx reads
// them itself, so local ones must lie under its ingestAllowedDirs.
package bulkingest

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"odx/internal/ingest/format"
)

// DefaultChunkBytes is the size of one `.ingest inline` piece.
const DefaultChunkBytes = 8 << 20

// Options say what to ingest where.
type Options struct {
	Database, Table string
	Format          string // "" guesses from each name
	Mapping         string // ingestion mapping reference
	CreateTable     bool   // create the table from the first file when missing
	IgnoreFirst     bool   // the files start with a header record
	Tags            []string
	Parallel        int // concurrent requests; 4 when 0
	ChunkBytes      int // DefaultChunkBytes when 0
	Inputs          []string
	// Progress receives the progress display; Terminal says whether it is
	// a terminal (a redrawn bar) or a log (plain lines).
	Progress io.Writer
	Terminal bool
}

// Report is what a run did.
type Report struct {
	Files, FilesFailed int
	Bytes              int64
	Rows               int64
	Extents            int
	Failures           []string // one line per failed piece, file or record
	Took               time.Duration
}

// Failed reports whether anything failed.
func (r Report) Failed() bool { return r.FilesFailed > 0 || len(r.Failures) > 0 }

// job is one request: an inline piece or a whole source odx reads itself.
type job struct {
	src   *source
	data  []byte // inline piece; nil for a remote source
	first bool   // the first piece of its file (gets ignoreFirstRecord)
	lines int
	bytes int64 // source bytes this job accounts for (progress)
}

type run struct {
	opts     Options
	k        *Kusto
	start    time.Time
	total    int64
	done     atomic.Int64
	lines    atomic.Int64
	mu       sync.Mutex
	extents  []string
	opsWithE []string
	failures []string
	failed   map[string]bool
	files    map[*source]*fileState
	nFiles   int
	filesOK  int
}

// fileState counts a file's pieces so that progress knows when it is done.
type fileState struct {
	sent, finished int
	fedAll         bool
}

// Run ingests opts.Inputs through k.
func Run(ctx context.Context, k *Kusto, opts Options) (Report, error) {
	if opts.Database == "" || opts.Table == "" {
		return Report{}, errors.New("--db and --table are required")
	}
	if opts.Parallel <= 0 {
		opts.Parallel = 4
	}
	if opts.ChunkBytes <= 0 {
		opts.ChunkBytes = DefaultChunkBytes
	}
	var forced format.Format
	if opts.Format != "" {
		f, err := format.ParseFormat(opts.Format)
		if err != nil {
			return Report{}, err
		}
		forced = f
	}
	srcs, err := expand(opts.Inputs, forced)
	if err != nil {
		return Report{}, err
	}
	if err := ensureTable(ctx, k, opts, srcs); err != nil {
		return Report{}, err
	}
	r := &run{opts: opts, k: k, start: time.Now(), failed: map[string]bool{}, files: map[*source]*fileState{}, nFiles: len(srcs)}
	for _, s := range srcs {
		r.total += s.size
	}
	jobs := make(chan job, opts.Parallel)
	var wg sync.WaitGroup
	for i := 0; i < opts.Parallel; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				r.do(ctx, j)
			}
		}()
	}
	stopProgress := r.progress()
	for i := range srcs {
		if ctx.Err() != nil {
			break
		}
		r.feed(ctx, &srcs[i], jobs)
	}
	close(jobs)
	wg.Wait()
	stopProgress()

	rep := Report{Files: len(srcs), Bytes: r.done.Load(), Took: time.Since(r.start)}
	rep.FilesFailed = len(r.failed)
	rep.Failures = append(rep.Failures, r.failures...)
	rows, n, err := r.countRows(ctx)
	if err != nil {
		rep.Failures = append(rep.Failures, "cannot count the ingested rows: "+err.Error())
	}
	rep.Rows, rep.Extents = rows, n
	rep.Failures = append(rep.Failures, r.recordFailures(ctx)...)
	if ctx.Err() != nil {
		return rep, ctx.Err()
	}
	return rep, nil
}

// feed turns a source into jobs: pieces of a splittable file, else one job.
func (r *run) feed(ctx context.Context, s *source, jobs chan<- job) {
	defer r.fedAll(s)
	if !s.splittable() {
		r.sent(s)
		jobs <- job{src: s, first: true, bytes: s.size}
		return
	}
	f, err := os.Open(s.path)
	if err != nil {
		r.fail(s, fmt.Sprintf("%s: %v", s.name, err))
		return
	}
	defer f.Close()
	counted := &countingReader{r: f}
	var rd io.Reader = counted
	if s.comp == format.Gzip {
		zr, err := gzip.NewReader(counted)
		if err != nil {
			r.fail(s, fmt.Sprintf("%s: not gzip data: %v", s.name, err))
			return
		}
		defer zr.Close()
		rd = zr
	}
	ch := newChunker(rd, r.opts.ChunkBytes, s.format)
	first := true
	var accounted int64
	for ctx.Err() == nil {
		data, lines, err := ch.next()
		if err == io.EOF {
			return
		}
		if err != nil {
			r.fail(s, fmt.Sprintf("%s: reading failed: %v", s.name, err))
			return
		}
		n := counted.n - accounted
		accounted = counted.n
		r.sent(s)
		jobs <- job{src: s, data: data, first: first, lines: lines, bytes: n}
		first = false
	}
}

func (r *run) state(s *source) *fileState {
	st := r.files[s]
	if st == nil {
		st = &fileState{}
		r.files[s] = st
	}
	return st
}

func (r *run) sent(s *source) {
	r.mu.Lock()
	r.state(s).sent++
	r.mu.Unlock()
}

func (r *run) fedAll(s *source) {
	r.mu.Lock()
	st := r.state(s)
	st.fedAll = true
	r.checkDone(s, st)
	r.mu.Unlock()
}

func (r *run) finished(s *source) {
	r.mu.Lock()
	st := r.state(s)
	st.finished++
	r.checkDone(s, st)
	r.mu.Unlock()
}

// checkDone counts a file as done once every piece of it came back.
func (r *run) checkDone(s *source, st *fileState) {
	if st.fedAll && st.finished == st.sent {
		r.filesOK++
		if !r.opts.Terminal && r.opts.Progress != nil && !r.failed[s.name] {
			fmt.Fprintf(r.opts.Progress, "done %s\n", s.name)
		}
	}
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (r *run) fail(s *source, msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed[s.name] = true
	r.failures = append(r.failures, msg)
	if !r.opts.Terminal && r.opts.Progress != nil {
		fmt.Fprintf(r.opts.Progress, "FAILED %s\n", msg)
	}
}

// props renders the with (...) of a job.
func (r *run) props(j job) string {
	parts := []string{"format='" + string(j.src.format) + "'"}
	if r.opts.Mapping != "" {
		parts = append(parts, "ingestionMappingReference='"+escape(r.opts.Mapping)+"'")
	}
	if r.opts.IgnoreFirst && j.first {
		parts = append(parts, "ignoreFirstRecord=true")
	}
	if len(r.opts.Tags) > 0 {
		q := make([]string, len(r.opts.Tags))
		for i, t := range r.opts.Tags {
			q[i] = `"` + strings.ReplaceAll(escape(t), `"`, `\"`) + `"`
		}
		parts = append(parts, "tags='["+strings.Join(q, ",")+"]'")
	}
	return "with (" + strings.Join(parts, ", ") + ")"
}

func escape(s string) string { return strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), `'`, `\'`) }

func (r *run) do(ctx context.Context, j job) {
	var cmd string
	if j.data != nil {
		cmd = ".ingest inline into table ['" + escape(r.opts.Table) + "'] " + r.props(j) + " <|\n" + string(j.data)
	} else {
		loc := j.src.url
		if loc == "" {
			loc = j.src.path
		}
		cmd = ".ingest into table ['" + escape(r.opts.Table) + "'] (h'" + escape(loc) + "') " + r.props(j)
	}
	var t Table
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		t, err = r.k.Mgmt(ctx, r.opts.Database, cmd)
		var ce *CommandError
		if err == nil || ctx.Err() != nil || (errors.As(err, &ce) && ce.Status < 500) {
			break
		}
		time.Sleep(time.Duration(attempt+1) * 500 * time.Millisecond) // transient: odx busy or restarting
	}
	r.done.Add(j.bytes)
	r.lines.Add(int64(j.lines))
	defer r.finished(j.src)
	if err != nil {
		r.fail(j.src, fmt.Sprintf("%s: %v", j.src.name, err))
		return
	}
	r.mu.Lock()
	idCol, errCol, opCol := t.Col("ExtentId"), t.Col("HasErrors"), t.Col("OperationId")
	for _, row := range t.Rows {
		if idCol >= 0 {
			r.extents = append(r.extents, fmt.Sprint(row[idCol]))
		}
		if errCol >= 0 && row[errCol] == true && opCol >= 0 {
			r.opsWithE = append(r.opsWithE, fmt.Sprint(row[opCol]))
		}
	}
	r.mu.Unlock()
}

// countRows sums the row counts of the extents this run created.
func (r *run) countRows(ctx context.Context) (int64, int, error) {
	if len(r.extents) == 0 {
		return 0, 0, nil
	}
	want := map[string]bool{}
	for _, id := range r.extents {
		want[strings.ToLower(id)] = true
	}
	t, err := r.k.Mgmt(ctx, r.opts.Database, ".show table ['"+escape(r.opts.Table)+"'] extents")
	if err != nil {
		return 0, len(want), err
	}
	idCol, rowsCol := t.Col("ExtentId"), t.Col("RowCount")
	var rows int64
	for _, row := range t.Rows {
		if idCol < 0 || rowsCol < 0 || !want[strings.ToLower(fmt.Sprint(row[idCol]))] {
			continue
		}
		var n int64
		fmt.Sscan(fmt.Sprint(row[rowsCol]), &n)
		rows += n
	}
	return rows, len(want), nil
}

// recordFailures lists the record-level failures odx recorded for the
// operations that reported errors.
func (r *run) recordFailures(ctx context.Context) []string {
	var out []string
	sort.Strings(r.opsWithE)
	seen := map[string]bool{}
	for _, op := range r.opsWithE {
		if seen[op] {
			continue
		}
		seen[op] = true
		t, err := r.k.Mgmt(ctx, r.opts.Database, ".show ingestion failures with (OperationId = '"+escape(op)+"')")
		if err != nil {
			out = append(out, fmt.Sprintf("operation %s had errors (cannot list them: %v)", op, err))
			continue
		}
		dc := t.Col("Details")
		for _, row := range t.Rows {
			if dc >= 0 {
				out = append(out, fmt.Sprint(row[dc]))
			}
		}
	}
	return out
}

// progress draws the progress display until the returned func is called.
func (r *run) progress() func() {
	if r.opts.Progress == nil {
		return func() {}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		every := time.Second
		if !r.opts.Terminal {
			every = 10 * time.Second
		}
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				if r.opts.Terminal {
					fmt.Fprintf(r.opts.Progress, "\r%s\n", r.line())
				}
				return
			case <-tick.C:
				if r.opts.Terminal {
					fmt.Fprintf(r.opts.Progress, "\r%s\x1b[K", r.line())
				} else {
					fmt.Fprintln(r.opts.Progress, r.line())
				}
			}
		}
	}()
	return func() { close(stop); wg.Wait() }
}

// line is one progress line: files, bytes, rows/s, ETA.
func (r *run) line() string {
	el := time.Since(r.start).Seconds()
	done, lines := r.done.Load(), r.lines.Load()
	pct := 0.0
	if r.total > 0 {
		pct = 100 * float64(done) / float64(r.total)
	}
	eta := "?"
	if done > 0 && r.total > done {
		eta = time.Duration(float64(r.total-done) / (float64(done) / el) * float64(time.Second)).Round(time.Second).String()
	} else if r.total > 0 && done >= r.total {
		eta = "0s"
	}
	bar := ""
	if r.opts.Terminal {
		const width = 24
		n := int(pct / 100 * width)
		bar = "[" + strings.Repeat("#", n) + strings.Repeat(".", width-n) + "] "
	}
	r.mu.Lock()
	failed, filesDone := len(r.failed), r.filesOK
	r.mu.Unlock()
	return fmt.Sprintf("%s%5.1f%%  files %d/%d  %s / %s  ~%d rows  %.0f rows/s  %.1f MB/s  ETA %s  failed files %d",
		bar, pct, filesDone, r.nFiles, mb(done), mb(r.total), lines, float64(lines)/el, float64(done)/(1<<20)/el, eta, failed)
}

func mb(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/(1<<20)) }
