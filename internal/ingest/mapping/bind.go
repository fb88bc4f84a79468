package mapping

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"odx/internal/columnar"
	"odx/internal/ingest/format"
	"odx/internal/kql/schema"
	"odx/internal/kql/types"
)

// Limits ADX applies to single values (its default encoding policy).
const (
	// MaxStringBytes: a longer string value is truncated to this size.
	MaxStringBytes = 1 << 20
	// MaxDynamicBytes: a longer dynamic value is stored as null.
	MaxDynamicBytes = 1 << 20
	// DefaultMaxErrors caps the value-level errors one Binder reports, so
	// that a file of bad values cannot flood memory; dropped records are
	// always reported.
	DefaultMaxErrors = 1000
)

// Options tune binding.
type Options struct {
	// Source names the input: the SourceLocation value and the source of
	// every RecordError.
	Source string
	// MaxStringBytes and MaxDynamicBytes override the ADX limits when > 0.
	MaxStringBytes, MaxDynamicBytes int
	// MaxErrors caps value-level errors reported; DefaultMaxErrors when 0,
	// unlimited when negative.
	MaxErrors int
}

// Binder turns decoded records into table rows through one mapping. It is
// safe for concurrent use: batches of one source may be bound in parallel.
type Binder struct {
	kind       Kind
	cols       []schema.Column
	kinds      []columnar.Kind // of the block columns
	plans      []columnPlan
	opts       Options
	reported   atomic.Int64
	suppressed atomic.Int64
	// picks are the paths a json decoder may extract for this binder
	// (Picks); nil when the mapping needs whole records.
	picks *format.Picks
}

type columnPlan struct {
	col      schema.Column
	elem     *Element
	constVal any
	drops    []path // DropMappedFields: sibling paths to remove
	slot     int    // index of the element's path in Record.Picked; -1: none
	// memoize: converting this column's text costs more than remembering
	// it (see pickedMemo).
	memoize bool
}

// Bind validates m against the table columns and prepares binding.
// Columns the mapping does not mention are null (empty for strings).
func Bind(m *Mapping, cols []schema.Column, opts Options) (*Binder, error) {
	if err := m.Validate(cols); err != nil {
		return nil, err
	}
	if opts.MaxStringBytes <= 0 {
		opts.MaxStringBytes = MaxStringBytes
	}
	if opts.MaxDynamicBytes <= 0 {
		opts.MaxDynamicBytes = MaxDynamicBytes
	}
	if opts.MaxErrors == 0 {
		opts.MaxErrors = DefaultMaxErrors
	}
	b := &Binder{kind: m.Kind, cols: cols, opts: opts, plans: make([]columnPlan, len(cols)), kinds: columnar.KindsOf(cols)}
	// The binder keeps the mapping's compiled paths; a later change to m
	// does not affect it.
	m = m.clone()
	for i := range m.Elements {
		// Compiles the paths of mappings built in code rather than parsed.
		if err := m.Elements[i].check(m.Kind); err != nil {
			return nil, invalid("mapping element %d (column %s): %v", i+1, m.Elements[i].Column, err)
		}
	}
	byCol := map[string]*Element{}
	for i := range m.Elements {
		byCol[m.Elements[i].Column] = &m.Elements[i]
	}
	for i, c := range cols {
		p := columnPlan{col: c, elem: byCol[c.Name], slot: -1}
		switch c.Type {
		case types.DateTime, types.TimeSpan, types.Guid, types.Decimal:
			p.memoize = true
		}
		if e := p.elem; e != nil {
			if e.HasConst {
				v, _ := fromString(e.Const, c.Type)
				p.constVal = b.limit(v, c.Type)
			}
			if e.Transform == DropMappedFields {
				for _, other := range m.Elements {
					if other.Column != e.Column && e.path.under(other.path) {
						p.drops = append(p.drops, other.path[len(e.path):])
					}
				}
			}
		}
		b.plans[i] = p
	}
	b.picks = b.pickPaths()
	return b, nil
}

// pickPaths assigns each mapped JSON path a slot of Record.Picked and
// compiles them, when every value the mapping reads is at a path of
// property names none of which is inside another (so that the decoder can
// skip the rest of each record); nil otherwise.
func (b *Binder) pickPaths() *format.Picks {
	if b.kind != JSON {
		return nil
	}
	var paths [][]string
	var asText []bool
	for i := range b.plans {
		e := b.plans[i].elem
		if e == nil || e.HasConst || e.Transform == SourceLocation || e.Transform == SourceLineNumber {
			continue
		}
		keys := make([]string, len(e.path))
		for j, st := range e.path {
			if st.isIdx {
				return nil
			}
			keys[j] = st.key
		}
		b.plans[i].slot = len(paths)
		paths = append(paths, keys)
		// A dynamic column stores an object or array as text: the decoder
		// writes that text directly (fromPicked) instead of decoding the
		// value for writeJSON to write it again.
		asText = append(asText, b.plans[i].col.Type == types.Dynamic && e.Transform == NoTransform)
	}
	picks, ok := format.NewPicksWithText(paths, asText)
	if !ok || len(paths) == 0 {
		for i := range b.plans {
			b.plans[i].slot = -1
		}
		return nil
	}
	return picks
}

// Picks is what to pass as format.Options.Picks to a json (JSON Lines)
// decoder whose records this binder binds: the decoder then extracts only
// the mapped values. nil when the mapping needs whole records.
func (b *Binder) Picks() *format.Picks { return b.picks }

// ForSource returns a binder sharing b's compiled plan that names src as
// its source (SourceLocation, RecordError.Source) and counts its own errors
// against MaxErrors. It costs one small allocation, so a caller binding many
// small sources with one mapping (data connection events) binds once and
// takes a view per source.
func (b *Binder) ForSource(src string) *Binder {
	opts := b.opts
	opts.Source = src
	return &Binder{kind: b.kind, cols: b.cols, kinds: b.kinds, plans: b.plans, opts: opts, picks: b.picks}
}

// Block binds a batch: one row per record, a column per table column, of
// the kinds columnar.KindOf gives (see convert.go for the values). errs
// holds the batch's decoding errors followed by value-level problems (a
// value that is not convertible is null, a string over the limit is
// truncated, as ADX does); records are never dropped here.
func (b *Binder) Block(batch *format.Batch) (blk *columnar.Block, errs []format.RecordError) {
	if batch == nil {
		return nil, nil
	}
	errs = append(errs, batch.Errors...)
	blk = columnar.NewBlock(b.kinds, len(batch.Records))
	var memos []pickedMemo
	if len(batch.Records) > 1 && batch.Records[0].Picked != nil {
		memos = make([]pickedMemo, len(b.cols))
	}
	for r := range batch.Records {
		b.bind(&batch.Records[r], blk, r, &errs, memos)
	}
	return blk, errs
}

// pickedMemo is, for one column of a batch, the last picked text converted
// without a problem and the row that holds its value. Consecutive records
// often repeat a value (times, ids); copying the value saves parsing the
// text again. Only columns whose text is costly to convert keep one: for
// strings and numbers remembering costs more than it saves.
type pickedMemo struct {
	// kind is PickedMissing until a value is kept: no picked string or
	// number matches it then.
	kind format.PickedKind
	text string
	row  int
}

// Suppressed is the number of value-level errors not reported because of
// Options.MaxErrors.
func (b *Binder) Suppressed() int { return int(b.suppressed.Load()) }

func (b *Binder) bind(rec *format.Record, blk *columnar.Block, r int, errs *[]format.RecordError, memos []pickedMemo) {
	for i := range b.plans {
		p := &b.plans[i]
		e := p.elem
		if e == nil {
			b.put(blk, i, r, b.empty(p.col.Type))
			continue
		}
		if e.HasConst {
			b.put(blk, i, r, p.constVal)
			continue
		}
		switch e.Transform {
		case SourceLocation:
			b.putText(rec, p, b.opts.Source, errs, blk, i, r)
			continue
		case SourceLineNumber:
			v, _ := fromValue(rec.Number, p.col.Type)
			b.put(blk, i, r, v)
			continue
		}
		if rec.Fields != nil && e.Transform == NoTransform {
			// Tabular fast path: text straight to the column, unboxed.
			if e.Ordinal >= len(rec.Fields) {
				b.put(blk, i, r, b.empty(p.col.Type))
			} else {
				b.putText(rec, p, rec.Fields[e.Ordinal], errs, blk, i, r)
			}
			continue
		}
		if rec.Picked != nil && p.slot >= 0 && e.Transform == NoTransform {
			v := &rec.Picked[p.slot]
			var memo *pickedMemo
			if memos != nil && p.memoize && (v.Kind == format.PickedString || v.Kind == format.PickedNumber) {
				memo = &memos[i]
				if memo.kind == v.Kind && memo.text == v.Text {
					blk.CopyCell(i, memo.row, r)
					continue
				}
			}
			reported, nerrs := b.reported.Load(), len(*errs)
			if b.putPicked(rec, p, v, errs, blk, i, r) {
				// Only a conversion that reported nothing (here or, to be
				// safe, in a concurrent batch) may stand for the next ones.
				if memo != nil && !blk.Cols[i].IsNull(r) && len(*errs) == nerrs && b.reported.Load() == reported {
					*memo = pickedMemo{kind: v.Kind, text: v.Text, row: r}
				}
				continue
			}
		}
		raw, found := b.source(rec, p)
		if !found {
			b.put(blk, i, r, b.empty(p.col.Type)) // a missing field is null, as in ADX
			continue
		}
		b.put(blk, i, r, b.apply(rec, p, raw, errs))
	}
}

// put stores a converted value. The binder's values always fit their
// column's kind; should one not, the cell is null rather than the row lost.
func (b *Binder) put(blk *columnar.Block, c, r int, v any) {
	if err := blk.Set(c, r, v); err != nil {
		blk.SetNull(c, r)
	}
}

// putPicked converts the picked text of a string or number to the
// column's type without boxing it, storing what apply gives for the
// decoded value. It returns false for the other cases, which take apply's
// way.
func (b *Binder) putPicked(rec *format.Record, p *columnPlan, v *format.Picked, errs *[]format.RecordError, blk *columnar.Block, c, r int) bool {
	t := p.col.Type
	switch v.Kind {
	case format.PickedMissing:
		b.put(blk, c, r, b.empty(t)) // a missing field is null, as in ADX
		return true
	case format.PickedString:
		if t == types.Dynamic {
			return false
		}
		// fromValue of a string is fromString for the other types: what
		// putText does for a text field.
		b.putText(rec, p, v.Text, errs, blk, c, r)
		return true
	case format.PickedJSON:
		if t == types.Dynamic {
			// The decoder wrote the text writeJSON writes for the value.
			if s, ok := b.checkString(rec, p, v.Text, errs); ok {
				blk.Cols[c].Strings[r] = s
			} else {
				blk.SetNull(c, r)
			}
			return true
		}
		return false
	case format.PickedTrue, format.PickedFalse:
		if t != types.Bool {
			return false
		}
		blk.Cols[c].Bools[r] = v.Kind == format.PickedTrue
		return true
	case format.PickedNumber:
		col := &blk.Cols[c]
		switch t {
		case types.Real:
			if f, ok := parseReal(v.Text); ok {
				col.Float64s[r] = f
				return true
			}
		case types.Long:
			if x, ok := parseInteger(v.Text); ok {
				col.Int64s[r] = x
				return true
			}
		case types.Int:
			if x, ok := parseInt32(v.Text); ok {
				col.Int32s[r] = x
				return true
			}
		}
		return false // errors and other types: apply's way
	}
	return false
}

// putText converts text (a field, a picked string) to the column's type
// and stores it: what convertText gives, without boxing the common types.
func (b *Binder) putText(rec *format.Record, p *columnPlan, s string, errs *[]format.RecordError, blk *columnar.Block, c, r int) {
	col := &blk.Cols[c]
	t := p.col.Type
	if t == types.String {
		s, _ = b.checkString(rec, p, s, errs)
		col.Strings[r] = s
		return
	}
	switch t {
	case types.Long, types.Int, types.Real, types.Bool, types.DateTime:
		trimmed := strings.TrimSpace(s)
		if trimmed == "" {
			blk.SetNull(c, r) // an empty field is null for every non-string type
			return
		}
		switch t {
		case types.Long:
			if n, ok := parseInteger(trimmed); ok {
				col.Int64s[r] = n
				return
			}
		case types.Int:
			if n, ok := parseInt32(trimmed); ok {
				col.Int32s[r] = n
				return
			}
		case types.Real:
			if f, ok := parseReal(trimmed); ok {
				col.Float64s[r] = f
				return
			}
		case types.Bool:
			if v, ok := parseBool(trimmed); ok {
				col.Bools[r] = v
				return
			}
		case types.DateTime:
			if ticks, ok, inRange := parseDateTimeTicks(trimmed); ok {
				if inRange {
					col.Int64s[r] = ticks
				} else {
					blk.SetNull(c, r) // outside Kusto's datetime range
				}
				return
			}
		}
	}
	// Other types, and text that is not a value of the type (reported).
	b.put(blk, c, r, b.convertText(rec, p, s, errs))
}

// source fetches the mapped input value of a record.
func (b *Binder) source(rec *format.Record, p *columnPlan) (any, bool) {
	e := p.elem
	if rec.Picked != nil && p.slot >= 0 {
		return rec.Picked[p.slot].Any()
	}
	if rec.Fields != nil || b.kind == CSV {
		if e.Ordinal < 0 || e.Ordinal >= len(rec.Fields) {
			return nil, false
		}
		return rec.Fields[e.Ordinal], true
	}
	return e.path.lookup(rec.Value)
}

// apply runs the element's transformation and converts to the column type.
func (b *Binder) apply(rec *format.Record, p *columnPlan, raw any, errs *[]format.RecordError) any {
	e, t := p.elem, p.col.Type
	switch e.Transform {
	case DateTimeFromUnixSeconds, DateTimeFromUnixMilliseconds, DateTimeFromUnixMicroseconds, DateTimeFromUnixNanoseconds:
		if raw == nil || raw == "" {
			return nil
		}
		tm, ok := unixTime(raw, e.Transform)
		if !ok {
			b.report(rec, p, errs, format.CodeValueNotConvertible, fmt.Sprintf("%s needs a number, got %s; stored null", e.Transform, preview(raw)))
			return nil
		}
		return tm
	case DropMappedFields:
		raw = without(raw, p.drops)
	case BytesAsBase64:
		enc, ok := bytesAsBase64(raw)
		if !ok {
			return b.empty(t) // ADX: an invalid byte array is null
		}
		raw = enc
	case PropertyBagArrayToDictionary:
		raw = bagArrayToDictionary(raw)
	}
	if s, ok := raw.(string); ok && (b.kind == CSV || b.kind == W3CLogFile) {
		return b.convertText(rec, p, s, errs)
	}
	v, ok := fromValue(raw, t)
	if !ok {
		b.report(rec, p, errs, format.CodeValueNotConvertible, fmt.Sprintf("%s is not a valid %s; stored null", preview(raw), t))
		return b.empty(t)
	}
	return b.checkLimit(rec, p, v, errs)
}

func (b *Binder) convertText(rec *format.Record, p *columnPlan, s string, errs *[]format.RecordError) any {
	v, ok := fromString(s, p.col.Type)
	if !ok {
		b.report(rec, p, errs, format.CodeValueNotConvertible, fmt.Sprintf("%s is not a valid %s; stored null", preview(s), p.col.Type))
		return nil
	}
	return b.checkLimit(rec, p, v, errs)
}

// checkLimit applies ADX's size rules: strings over the limit are
// truncated, dynamic values over the limit become null.
func (b *Binder) checkLimit(rec *format.Record, p *columnPlan, v any, errs *[]format.RecordError) any {
	s, ok := v.(string)
	if !ok {
		return v
	}
	if s, ok = b.checkString(rec, p, s, errs); !ok {
		return nil
	}
	return s
}

// checkString is checkLimit for a string or dynamic text: ok is false when
// the value must be null.
func (b *Binder) checkString(rec *format.Record, p *columnPlan, s string, errs *[]format.RecordError) (string, bool) {
	if !utf8.ValidString(s) {
		// DuckDB stores only valid UTF-8; a Latin-1 byte would fail the
		// whole batch at commit.
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	switch p.col.Type {
	case types.String:
		if len(s) > b.opts.MaxStringBytes {
			b.report(rec, p, errs, format.CodeValueTruncated, fmt.Sprintf("the string is %d bytes, over the %d-byte limit; truncated", len(s), b.opts.MaxStringBytes))
			return truncateUTF8(s, b.opts.MaxStringBytes), true
		}
	case types.Dynamic:
		if len(s) > b.opts.MaxDynamicBytes {
			b.report(rec, p, errs, format.CodeDynamicTooLarge, fmt.Sprintf("the dynamic value is %d bytes, over the %d-byte limit; stored null", len(s), b.opts.MaxDynamicBytes))
			return "", false
		}
	}
	return s, true
}

// limit applies the size rules to a constant, silently.
func (b *Binder) limit(v any, t types.Type) any {
	if s, ok := v.(string); ok {
		if t == types.String && len(s) > b.opts.MaxStringBytes {
			return truncateUTF8(s, b.opts.MaxStringBytes)
		}
		if t == types.Dynamic && len(s) > b.opts.MaxDynamicBytes {
			return nil
		}
	}
	if v == nil {
		return b.empty(t)
	}
	return v
}

func (b *Binder) empty(t types.Type) any {
	if t == types.String {
		return ""
	}
	return nil
}

func (b *Binder) report(rec *format.Record, p *columnPlan, errs *[]format.RecordError, code, msg string) {
	if b.opts.MaxErrors > 0 && b.reported.Add(1) > int64(b.opts.MaxErrors) {
		b.suppressed.Add(1)
		return
	}
	*errs = append(*errs, format.RecordError{Source: b.opts.Source, Record: rec.Number, Line: rec.Line, Column: p.col.Name, Code: code, Message: msg})
}

func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// preview quotes a value for an error message, shortened.
func preview(v any) string {
	var s string
	switch x := v.(type) {
	case string:
		s = strconv.Quote(abbreviate(x, 60))
	default:
		var buf bytes.Buffer
		writeJSON(&buf, v)
		s = abbreviate(buf.String(), 60)
	}
	return s
}

func abbreviate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return truncateUTF8(s, n) + "..."
}

// unixTime applies DateTimeFromUnix*: a number (or numeric text) of units
// since 1970-01-01 becomes a UTC datetime with 100 ns precision.
func unixTime(v any, t Transform) (time.Time, bool) {
	var ticksPerUnit *big.Rat
	switch t {
	case DateTimeFromUnixSeconds:
		ticksPerUnit = big.NewRat(types.TicksPerSecond, 1)
	case DateTimeFromUnixMilliseconds:
		ticksPerUnit = big.NewRat(types.TicksPerMillisecond, 1)
	case DateTimeFromUnixMicroseconds:
		ticksPerUnit = big.NewRat(types.TicksPerMicrosecond, 1)
	default:
		ticksPerUnit = big.NewRat(1, 100)
	}
	var r *big.Rat
	switch x := v.(type) {
	case int32:
		r = new(big.Rat).SetInt64(int64(x))
	case int64:
		r = new(big.Rat).SetInt64(x)
	case uint64:
		r = new(big.Rat).SetUint64(x)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return time.Time{}, false
		}
		r = new(big.Rat)
		r.SetFloat64(x)
	case json.Number:
		var ok bool
		if r, ok = new(big.Rat).SetString(x.String()); !ok {
			return time.Time{}, false
		}
	case format.Decimal:
		var ok bool
		if r, ok = new(big.Rat).SetString(string(x)); !ok {
			return time.Time{}, false
		}
	case string:
		var ok bool
		if r, ok = new(big.Rat).SetString(x); !ok {
			return time.Time{}, false
		}
	default:
		return time.Time{}, false
	}
	ticks := new(big.Rat).Mul(r, ticksPerUnit)
	q := new(big.Int).Quo(ticks.Num(), ticks.Denom()) // truncate toward zero to whole ticks
	if !q.IsInt64() {
		return time.Time{}, false
	}
	// Kusto's datetime range is 0001-01-01 .. 9999-12-31 23:59:59.9999999.
	n := q.Int64()
	if n < types.MinDateTimeTicks-types.UnixEpochTicks || n > types.MaxDateTimeTicks-types.UnixEpochTicks {
		return time.Time{}, false
	}
	return types.TimeFromTicks(n + types.UnixEpochTicks)
}

// bytesAsBase64 encodes a byte array: []byte (apacheavro bytes and fixed)
// or an array of integers 0–255 (legacy avro).
func bytesAsBase64(v any) (string, bool) {
	switch x := v.(type) {
	case []byte:
		return base64.StdEncoding.EncodeToString(x), true
	case []any:
		buf := make([]byte, len(x))
		for i, e := range x {
			n, ok := fromValue(e, types.Long)
			if !ok || n == nil || n.(int64) < 0 || n.(int64) > 255 {
				return "", false
			}
			buf[i] = byte(n.(int64))
		}
		return base64.StdEncoding.EncodeToString(buf), true
	case string: // already encoded
		return x, true
	}
	return "", false
}

// bagArrayToDictionary turns [{"n1":"v1"},{"n2":"v2"}] into
// {"n1":"v1","n2":"v2"}. Arrays of {"Key":k,"Value":v} pairs (how Avro and
// Parquet maps are often written) merge as k:v. Anything else is unchanged.
func bagArrayToDictionary(v any) any {
	arr, ok := v.([]any)
	if !ok {
		return v
	}
	out := map[string]any{}
	for _, e := range arr {
		obj, ok := e.(map[string]any)
		if !ok {
			return v
		}
		if len(obj) == 2 {
			k, hasK := obj["Key"]
			val, hasV := obj["Value"]
			if ks, isStr := k.(string); hasK && hasV && isStr {
				out[ks] = val
				continue
			}
		}
		for k, x := range obj {
			out[k] = x
		}
	}
	return out
}
