package eventgrid_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"odx/internal/connect"
)

// failingReader returns its data up to cut bytes, then a read error, as a
// storage connection that drops half way does.
type failingReader struct {
	r   io.Reader
	cut int
	n   int
	err *error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n >= f.cut {
		*f.err = errors.New("connection reset by peer")
		return 0, *f.err
	}
	p = p[:min(len(p), f.cut-f.n)]
	n, err := f.r.Read(p)
	f.n += n
	return n, err
}

func (f *failingReader) Close() error { return nil }

// A blob large enough for several extents whose read breaks half way:
// the extents committed stay, the retry resumes after them, and a later
// notification of the same blob is a duplicate. Every row arrives once.
func TestInterruptedBlobResumesExactlyOnce(t *testing.T) {
	e := newEnv(t, envOptions{chunkRows: 100})
	e.table("db", "T", colsT)
	var body bytes.Buffer
	want := make([]string, 0, 1000)
	for i := range 1000 {
		fmt.Fprintf(&body, "dev-%04d,%d\n", i, i)
		want = append(want, fmt.Sprintf("dev-%04d|%d", i, i))
	}
	data := body.Bytes()
	sink := e.svc.Sink()
	const conn = "/subscriptions/s/resourcegroups/rg/providers/microsoft.kusto/clusters/c/databases/db/dataconnections/resume"
	var readErr error
	cut := len(data) / 2
	blob := connect.Blob{Connection: conn, URL: "https://acct.blob.core.windows.net/c/big.csv", Identity: "https://acct.blob.core.windows.net/c/big.csv#\"0x1\"",
		Route:    connect.Route{Database: "db", Table: "T", Format: "csv", Compression: "none"},
		Position: connect.Position{Partition: 2, NextOffset: 8},
		Open: func(context.Context) (io.ReadCloser, error) {
			readErr = nil
			return &failingReader{r: bytes.NewReader(data), cut: cut, err: &readErr}, nil
		},
		ReadErr: func() error { return readErr },
	}
	ctx := context.Background()
	if _, err := sink.IngestBlob(ctx, blob); err == nil {
		t.Fatal("a read that breaks half way must be an error to retry, not a success or a recorded failure")
	}
	partial := len(e.rows("db", "T"))
	if partial == 0 || partial >= 1000 {
		t.Fatalf("after the broken read %d rows are committed; want some extents but not all (chunks of 100 rows)", partial)
	}
	if pos, _ := sink.Positions(ctx, conn); len(pos) != 0 {
		t.Errorf("the position moved before the blob was complete: %v", pos)
	}
	cut = len(data) + 1 // storage is back
	rep, err := sink.IngestBlob(ctx, blob)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rows != int64(1000-partial) || rep.Duplicate || rep.Failure != "" {
		t.Errorf("resumed ingestion %+v; want the %d rows not committed before", rep, 1000-partial)
	}
	e.waitRows("db", "T", want)
	if pos, _ := sink.Positions(ctx, conn); pos[2] != 8 {
		t.Errorf("position after the blob: %v, want partition 2 at 8", pos)
	}
	rep, err = sink.IngestBlob(ctx, blob)
	if err != nil || !rep.Duplicate {
		t.Errorf("the same blob again: %+v, %v; want a duplicate", rep, err)
	}
	if got := e.rows("db", "T"); len(got) != 1000 {
		t.Errorf("%d rows after the duplicate, want 1000", len(got))
	}
	if f := e.failures(); len(f) != 0 {
		t.Errorf("failures recorded for a storage problem: %+v", f)
	}

	// A rewritten blob (new ETag) is a new blob.
	blob.Identity = strings.Replace(blob.Identity, "0x1", "0x2", 1)
	rep, err = sink.IngestBlob(ctx, blob)
	if err != nil || rep.Rows != 1000 {
		t.Errorf("the rewritten blob: %+v, %v; want its 1000 rows", rep, err)
	}
}
