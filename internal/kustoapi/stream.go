package kustoapi

import (
	"bufio"
	"context"
	"fmt"
	"net/http"

	"odx/internal/kerr"
	"odx/internal/kql/types"
	"odx/internal/result"
)

// ADX's default result limits (see "Query limits" in the Kusto docs).
const (
	DefaultTruncationMaxRecords = 500_000
	DefaultTruncationMaxSize    = 64 << 20
)

// queryResultSetTooLarge is the HRESULT ADX reports with a truncated result.
const (
	queryResultSetTooLargeHRESULT = -2133196797 // 0x80DA0003, E_QUERY_RESULT_SET_TOO_LARGE
)

// limits bound how much a query may return; zero means unlimited.
type limits struct {
	maxRecords int64
	maxBytes   int64
}

// resultLimits works out the truncation limits of a query from its options.
func resultLimits(opts map[string]any) (limits, error) {
	if off, _ := optionBool(opts, OptNoTruncation); off {
		return limits{}, nil
	}
	l := limits{maxRecords: DefaultTruncationMaxRecords, maxBytes: DefaultTruncationMaxSize}
	if n, ok, err := optionInt(opts, OptTruncationMaxRecords); err != nil {
		return l, err
	} else if ok {
		if n < 0 {
			return l, kerr.BadRequestf("client request property truncationmaxrecords must not be negative, got %d", n)
		}
		l.maxRecords = n
	}
	if n, ok, err := optionInt(opts, OptTruncationMaxSize); err != nil {
		return l, err
	} else if ok {
		if n < 0 {
			return l, kerr.BadRequestf("client request property truncationmaxsize must not be negative, got %d", n)
		}
		l.maxBytes = n
	}
	return l, nil
}

// pump pulls rows out of result tables, encodes them and enforces the result
// limits over the whole response. It owns the scratch buffer rows are encoded
// into, so a row that fails to encode never reaches the wire half-written.
type pump struct {
	ctx     context.Context
	limits  limits
	dyn     dynamicMode
	records int64 // rows sent so far, all tables
	bytes   int64 // encoded row bytes sent so far, all tables
	scratch []byte
}

// tableOutcome is how one table's rows ended.
type tableOutcome struct {
	rows int64
	// failure is a query error that ended the table early (truncation, a
	// failing cursor, a timeout); the rows before it were sent.
	failure *kerr.Error
	// writeErr means the client went away: stop without reporting.
	writeErr error
}

// rows streams every row of t through emit, in order. emit gets the encoded
// JSON array of one row; the slice is only valid during the call.
func (p *pump) rows(t result.Table, emit func(row []byte) error) tableOutcome {
	var out tableOutcome
	cols := t.Columns()
	for {
		if out.rows%1024 == 0 {
			if err := p.ctx.Err(); err != nil {
				out.failure = classify(err)
				return out
			}
		}
		row, ok, err := t.Next()
		if err != nil {
			if ctxErr := p.ctx.Err(); ctxErr != nil {
				err = ctxErr
			}
			out.failure = classify(err)
			return out
		}
		if !ok {
			return out
		}
		if p.limits.maxRecords > 0 && p.records >= p.limits.maxRecords {
			out.failure = truncationError(fmt.Sprintf("%d records", p.limits.maxRecords))
			return out
		}
		b, err := p.encodeRow(cols, row)
		if err != nil {
			out.failure = kerr.Wrap(err, kerr.Internal, kerr.CodeInternal, "row %d of table %s cannot be sent", out.rows, t.Name())
			return out
		}
		if p.limits.maxBytes > 0 && p.bytes+int64(len(b)) > p.limits.maxBytes {
			out.failure = truncationError(fmt.Sprintf("%d bytes", p.limits.maxBytes))
			return out
		}
		if err := emit(b); err != nil {
			out.writeErr = err
			return out
		}
		p.records++
		p.bytes += int64(len(b))
		out.rows++
	}
}

func (p *pump) encodeRow(cols []result.Column, row []any) ([]byte, error) {
	if len(row) != len(cols) {
		return nil, fmt.Errorf("the row has %d values for %d columns", len(row), len(cols))
	}
	b := append(p.scratch[:0], '[')
	for i, v := range row {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = appendValue(b, columnType(cols[i].Type), v, p.dyn); err != nil {
			p.scratch = b
			return nil, fmt.Errorf("column %s: %w", cols[i].Name, err)
		}
	}
	b = append(b, ']')
	p.scratch = b
	return b, nil
}

// truncationError is ADX's partial-failure error for an oversized result,
// worded as the real service words it.
func truncationError(limit string) *kerr.Error {
	return kerr.New(kerr.BadRequest, kerr.CodeLimitsExceeded,
		"Query execution has exceeded the allowed limits (80DA0003): The results of this query exceed the set limit of %s, "+
			"so not all records were returned (E_QUERY_RESULT_SET_TOO_LARGE, 0x80DA0003). "+
			"See https://aka.ms/kustoquerylimits for more information and possible solutions "+
			"(reduce the result with take/summarize, or set the notruncation client request property).", limit)
}

// peeked is a table whose first row was pulled before the response started,
// so that an error surfacing on the first fetch is still an HTTP error.
type peeked struct {
	result.Table
	first []any
	has   bool
}

func (p *peeked) Next() ([]any, bool, error) {
	if p.has {
		p.has = false
		return p.first, true, nil
	}
	return p.Table.Next()
}

// peekFirst pulls the first row of the set's first table.
func peekFirst(set *result.Set) error {
	if len(set.Tables) == 0 {
		return nil
	}
	t := set.Tables[0]
	row, ok, err := t.Next()
	if err != nil {
		return err
	}
	pk := &peeked{Table: t}
	if ok {
		// Next may reuse its slice: keep our own copy of the first row.
		pk.first, pk.has = append([]any(nil), row...), true
	}
	set.Tables[0] = pk
	return nil
}

// streamWriter is the buffered response body with explicit flush points.
type streamWriter struct {
	*bufio.Writer
	flusher http.Flusher
}

func newStreamWriter(w http.ResponseWriter) *streamWriter {
	f, _ := w.(http.Flusher)
	return &streamWriter{Writer: bufio.NewWriterSize(w, 64<<10), flusher: f}
}

// flush pushes what is buffered to the client.
func (s *streamWriter) flush() error {
	if err := s.Writer.Flush(); err != nil {
		return err
	}
	if s.flusher != nil {
		s.flusher.Flush()
	}
	return nil
}

// columnType is the type a column is reported with: a column that has no
// valid type is reported as string so that the frame stays parseable.
func columnType(t types.Type) types.Type {
	if t == types.Invalid {
		return types.String
	}
	return t
}
