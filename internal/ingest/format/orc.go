package format

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // ORC timestamps are relative to the writer's time zone, which the host may not have
)

// orcDecoder reads Apache ORC files (orc.apache.org/specification/ORCv1)
// one stripe at a time: the streams of one stripe are read and
// decompressed, then rows are decoded batch by batch. Memory is bounded by
// the largest stripe, not by the file.
//
// Why odx has its own reader: the Go ORC module reachable through the proxy
// (github.com/scritchley/orc, last changed 2021) was evaluated against the
// files Apache ORC Java wrote for its own tests. It read
// TestOrcFile.testTimestamp.orc as zero rows without an error, panics on a
// truncated file (slice bounds out of range in the postscript), ignores the
// writer's time zone that ORC timestamps are relative to, reads decimals with
// a scale over 18 wrongly (the scale goes through a float64), and has no
// ZSTD or LZ4. A focused reader of what ingestion needs (no indexes, no
// predicate push-down, no writer) is under two thousand lines; the
// scritchley module remains a test dependency, as an independent writer of
// test files.
//
// Supported: compression NONE, ZLIB, SNAPPY, ZSTD and LZ4 (LZO is refused
// with an error saying so); integer encodings RLE v1 and v2; strings
// direct and dictionary; every ORC type. Values become record values as
// ADX maps ORC types: boolean→bool; tinyint, smallint, int→int32;
// bigint→int64; float, double→float64; string, char, varchar→string;
// binary→[]byte; decimal→Decimal; date→time.Time (midnight UTC);
// timestamp→time.Time with the writer's wall clock (timestamp with local
// time zone: the instant, UTC); struct→map[string]any; list→[]any;
// map→map[string]any (keys as text); union→the value of its branch.
type orcDecoder struct {
	spool   *spooled
	src     io.ReaderAt
	size    int64
	tail    *orcTail
	codec   *orcCodec
	opts    Options
	names   []string // top-level field names
	stripe  int      // index of the next stripe to load
	left    uint64   // rows left in the loaded stripe
	root    orcColumn
	rootVal []any
	records int64
	zones   map[string]*time.Location
	done    bool
}

// sizedReaderAt is random-access input that knows its length (bytes.Reader,
// strings.Reader): used in place, without a temporary copy.
type sizedReaderAt interface {
	io.ReaderAt
	Size() int64
}

func newORC(r io.Reader, opts Options) (*orcDecoder, error) {
	d := &orcDecoder{opts: opts, zones: map[string]*time.Location{}}
	if sr, ok := r.(sizedReaderAt); ok {
		d.src, d.size = sr, sr.Size()
	} else {
		sp, err := spool(r)
		if err != nil {
			return nil, errorf(CodeInvalidBlob, "%s: buffering the ORC data failed: %v", opts.Source, err)
		}
		size, err := sp.size()
		if err != nil {
			sp.Close()
			return nil, errorf(CodeInvalidBlob, "%s: buffering the ORC data failed: %v", opts.Source, err)
		}
		d.spool, d.src, d.size = sp, sp.f, size
	}
	tail, codec, err := readORCTail(d.src, d.size)
	if err != nil {
		d.Close()
		return nil, errorf(CodeInvalidBlob, "%s: not a readable ORC file: %v", opts.Source, err)
	}
	d.tail, d.codec = tail, codec
	root := tail.types[0]
	if root.kind == orcStruct {
		d.names = root.names
	} else {
		d.names = []string{"_col0"}
	}
	if !d.hasLeaf(0) {
		d.Close()
		return nil, errorf(CodeInvalidBlob, "%s: the ORC file has no columns", opts.Source)
	}
	return d, nil
}

// hasLeaf reports whether type id has a column that is not a struct: rows
// of a file without one would cost nothing to claim.
func (d *orcDecoder) hasLeaf(id int) bool {
	t := d.tail.types[id]
	if t.kind != orcStruct {
		return true
	}
	for _, s := range t.subtypes {
		if d.hasLeaf(s) {
			return true
		}
	}
	return false
}

func (d *orcDecoder) Next() (b *Batch, err error) {
	if d.done {
		return nil, io.EOF
	}
	defer func() {
		// Every reader checks its input; this is the last line of defence
		// so that a decoding bug fails one file, not the server.
		if p := recover(); p != nil {
			d.done = true
			b, err = nil, errorf(CodeInvalidBlob, "%s: after record %d: internal error reading the ORC data: %v", d.opts.Source, d.records, p)
		}
	}()
	for d.left == 0 {
		if d.stripe >= len(d.tail.stripes) {
			d.done = true
			return nil, io.EOF
		}
		if d.tail.stripes[d.stripe].rows == 0 { // nothing to read: not even its footer
			d.stripe++
			continue
		}
		if err := d.loadStripe(d.stripe); err != nil {
			d.done = true
			return nil, errorf(CodeInvalidBlob, "%s: stripe %d of %d (after record %d): %v", d.opts.Source, d.stripe+1, len(d.tail.stripes), d.records, err)
		}
		d.stripe++
	}
	n := int(min(d.left, uint64(d.opts.batchSize())))
	vals := scratch(&d.rootVal, n)
	if err := d.root.read(vals); err != nil {
		d.done = true
		return nil, errorf(CodeInvalidBlob, "%s: stripe %d, after record %d: %v", d.opts.Source, d.stripe, d.records, orcErr(err))
	}
	d.left -= uint64(n)
	b = &Batch{Records: make([]Record, n)}
	struct_ := d.tail.types[0].kind == orcStruct
	for i, v := range vals {
		d.records++
		if !struct_ {
			v = map[string]any{d.names[0]: v}
		} else if v == nil { // a null row of the root struct: every field null
			v = map[string]any{}
		}
		b.Records[i] = Record{Number: d.records, Value: v}
		vals[i] = nil
	}
	return b, nil
}

func orcErr(err error) error {
	if err == io.ErrUnexpectedEOF {
		return corruptf("a stream ends before its column's values do")
	}
	return err
}

// Close releases the codec and the temporary copy, if any.
func (d *orcDecoder) Close() error {
	if d.codec != nil {
		d.codec.close()
	}
	if d.spool != nil {
		return d.spool.Close()
	}
	return nil
}

// ORC stream kinds (Stream.Kind).
const (
	orcPresent        = 0
	orcData           = 1
	orcLength         = 2
	orcDictionaryData = 3
	orcSecondary      = 5
)

type orcStreamKey struct{ column, kind int }

// stripeData holds one stripe's decompressed streams and encodings.
type stripeData struct {
	streams   map[orcStreamKey][]byte
	encodings []orcEncoding
	loc       *time.Location // writer's zone; nil for UTC
}

func (d *orcDecoder) loadStripe(i int) error {
	si := d.tail.stripes[i]
	raw := make([]byte, si.footerLength)
	if _, err := d.src.ReadAt(raw, int64(si.offset+si.indexLength+si.dataLength)); err != nil {
		return fmt.Errorf("reading the stripe footer: %v", err)
	}
	fb, err := d.codec.decode(raw)
	if err != nil {
		return err
	}
	sf, err := parseORCStripeFooter(fb)
	if err != nil {
		return err
	}
	sd := &stripeData{streams: map[orcStreamKey][]byte{}, encodings: sf.encodings}
	if tz := sf.timezone; tz != "" && tz != "UTC" && tz != "GMT" && tz != "Etc/UTC" {
		loc, ok := d.zones[tz]
		if !ok {
			if loc, err = time.LoadLocation(tz); err != nil {
				return fmt.Errorf("the writer's time zone %q is unknown: %v", tz, err)
			}
			d.zones[tz] = loc
		}
		sd.loc = loc
	}
	off, end := si.offset, si.offset+si.indexLength+si.dataLength
	for _, s := range sf.streams {
		start := off
		off += s.length
		if off < start || off > end {
			return corruptf("stream of column %d runs past its stripe", s.column)
		}
		switch s.kind {
		case orcPresent, orcData, orcLength, orcDictionaryData, orcSecondary:
		default: // indexes, bloom filters, statistics: not needed to read rows
			continue
		}
		if s.column >= len(d.tail.types) {
			continue
		}
		buf := make([]byte, s.length)
		if _, err := d.src.ReadAt(buf, int64(start)); err != nil {
			return fmt.Errorf("reading a stream of column %d: %v", s.column, err)
		}
		if sd.streams[orcStreamKey{s.column, s.kind}], err = d.codec.decode(buf); err != nil {
			return fmt.Errorf("column %d: %w", s.column, err)
		}
	}
	root, err := d.column(0, sd)
	if err != nil {
		return err
	}
	d.root, d.left = root, si.rows
	return nil
}

// scratch returns (*buf)[:n], allocating *buf anew when it is too small:
// a column reuses its buffers from batch to batch.
func scratch[T any](buf *[]T, n int) []T {
	if cap(*buf) < n {
		*buf = make([]T, n)
	}
	return (*buf)[:n]
}

// orcColumn decodes the next len(dst) values of a column (nil for null).
type orcColumn interface {
	read(dst []any) error
}

// orcValues decodes the next len(dst) non-null values of a column.
type orcValues interface {
	values(dst []any) error
}

// nullable applies a column's PRESENT stream: the values stream holds only
// the non-null values.
type nullable struct {
	present *boolRLE
	mask    []bool
	v       orcValues
}

func (c *nullable) read(dst []any) error {
	if c.present == nil {
		return c.v.values(dst)
	}
	mask := scratch(&c.mask, len(dst))
	if err := c.present.read(mask); err != nil {
		return err
	}
	k := 0
	for _, p := range mask {
		if p {
			k++
		}
	}
	if err := c.v.values(dst[:k]); err != nil {
		return err
	}
	// Spread the k values to their rows, from the end so nothing is
	// overwritten before it moves.
	j := k - 1
	for i := len(dst) - 1; i >= 0; i-- {
		if mask[i] {
			dst[i] = dst[j]
			j--
		} else {
			dst[i] = nil
		}
	}
	return nil
}

func (d *orcDecoder) column(id int, sd *stripeData) (orcColumn, error) {
	t := d.tail.types[id]
	stream := func(kind int) []byte { return sd.streams[orcStreamKey{id, kind}] }
	var enc orcEncoding
	if id < len(sd.encodings) {
		enc = sd.encodings[id]
	}
	v2 := enc.kind == 2 || enc.kind == 3
	dict := enc.kind == 1 || enc.kind == 3
	c := &nullable{}
	if p := stream(orcPresent); p != nil {
		c.present = &boolRLE{bytes: byteRLE{c: byteCursor{buf: p}}}
	}
	switch t.kind {
	case orcBoolean:
		c.v = &boolValues{data: boolRLE{bytes: byteRLE{c: byteCursor{buf: stream(orcData)}}}}
	case orcByte:
		c.v = &byteValues{data: byteRLE{c: byteCursor{buf: stream(orcData)}}}
	case orcShort, orcInt, orcLong:
		c.v = &intValues{data: newIntStream(stream(orcData), v2, true), long: t.kind == orcLong}
	case orcFloat, orcDouble:
		c.v = &floatValues{c: byteCursor{buf: stream(orcData)}, double: t.kind == orcDouble}
	case orcString, orcVarchar, orcChar, orcBinary:
		binary := t.kind == orcBinary
		if dict && !binary {
			sv, err := newDictValues(stream(orcData), stream(orcLength), stream(orcDictionaryData), enc.dictionarySize, v2)
			if err != nil {
				return nil, fmt.Errorf("column %d: %w", id, err)
			}
			c.v = sv
		} else {
			c.v = &directBytes{data: byteCursor{buf: stream(orcData)}, lengths: newIntStream(stream(orcLength), v2, false), binary: binary}
		}
	case orcTimestamp, orcTimestampInstant:
		tv := &timestampValues{secs: newIntStream(stream(orcData), v2, true), nanos: newIntStream(stream(orcSecondary), v2, false), base: orcTimestampBase}
		if t.kind == orcTimestamp && sd.loc != nil {
			tv.loc = sd.loc
			tv.base = time.Date(2015, 1, 1, 0, 0, 0, 0, sd.loc).Unix()
		}
		c.v = tv
	case orcDate:
		c.v = &dateValues{days: newIntStream(stream(orcData), v2, true)}
	case orcDecimal:
		c.v = &decimalValues{data: byteCursor{buf: stream(orcData)}, scales: newIntStream(stream(orcSecondary), v2, true)}
	case orcList, orcMap:
		lv := &orcListValues{lengths: newIntStream(stream(orcLength), v2, false), isMap: t.kind == orcMap}
		var err error
		if lv.elems, err = d.column(t.subtypes[0], sd); err != nil {
			return nil, err
		}
		if lv.isMap {
			if lv.vals, err = d.column(t.subtypes[1], sd); err != nil {
				return nil, err
			}
		}
		c.v = lv
	case orcStruct:
		sv := &structValues{names: t.names, fields: make([]orcColumn, len(t.subtypes)), scratch: make([][]any, len(t.subtypes))}
		for i, s := range t.subtypes {
			f, err := d.column(s, sd)
			if err != nil {
				return nil, err
			}
			sv.fields[i] = f
		}
		c.v = sv
	case orcUnion:
		uv := &unionValues{tags: byteRLE{c: byteCursor{buf: stream(orcData)}}, branches: make([]orcColumn, len(t.subtypes))}
		for i, s := range t.subtypes {
			b, err := d.column(s, sd)
			if err != nil {
				return nil, err
			}
			uv.branches[i] = b
		}
		c.v = uv
	default:
		return nil, fmt.Errorf("column %d has ORC type kind %d, which odx does not read", id, t.kind)
	}
	return c, nil
}

type boolValues struct {
	data boolRLE
	bits []bool
}

func (v *boolValues) values(dst []any) error {
	bits := scratch(&v.bits, len(dst))
	if err := v.data.read(bits); err != nil {
		return err
	}
	for i, b := range bits {
		dst[i] = b
	}
	return nil
}

type byteValues struct{ data byteRLE }

func (v *byteValues) values(dst []any) error {
	for i := range dst {
		b, err := v.data.next()
		if err != nil {
			return err
		}
		dst[i] = int32(int8(b))
	}
	return nil
}

type intValues struct {
	data intStream
	long bool
	buf  []int64
}

func (v *intValues) values(dst []any) error {
	buf := scratch(&v.buf, len(dst))
	if err := v.data.read(buf); err != nil {
		return err
	}
	for i, x := range buf {
		if v.long {
			dst[i] = x
		} else {
			dst[i] = int32(x)
		}
	}
	return nil
}

type floatValues struct {
	c      byteCursor
	double bool
}

func (v *floatValues) values(dst []any) error {
	size := 4
	if v.double {
		size = 8
	}
	b, err := v.c.take(size * len(dst))
	if err != nil {
		return err
	}
	for i := range dst {
		if v.double {
			dst[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[i*8:]))
		} else {
			dst[i] = shortestFloat32(math.Float32frombits(binary.LittleEndian.Uint32(b[i*4:])))
		}
	}
	return nil
}

// shortestFloat32 widens an ORC float the way Parquet and Avro floats are
// widened: through its shortest decimal text, so 0.1f reads as 0.1.
func shortestFloat32(f float32) float64 {
	if math.IsInf(float64(f), 0) || math.IsNaN(float64(f)) {
		return float64(f)
	}
	x, _ := strconv.ParseFloat(strconv.FormatFloat(float64(f), 'g', -1, 32), 64)
	return x
}

// directBytes is a string or binary column in the direct encoding: the
// lengths in one stream, the bytes back to back in another.
type directBytes struct {
	data    byteCursor
	lengths intStream
	binary  bool
	buf     []int64
}

func (v *directBytes) values(dst []any) error {
	lens := scratch(&v.buf, len(dst))
	if err := v.lengths.read(lens); err != nil {
		return err
	}
	for i, n := range lens {
		if n < 0 || n > math.MaxInt32 {
			return corruptf("a string length of %d", n)
		}
		b, err := v.data.take(int(n))
		if err != nil {
			return err
		}
		if v.binary {
			dst[i] = append([]byte(nil), b...)
		} else {
			dst[i] = string(b)
		}
	}
	return nil
}

// dictValues is a string column in the dictionary encoding; the dictionary
// is turned into strings once per stripe.
type dictValues struct {
	dict []string
	idx  intStream
	buf  []int64
}

func newDictValues(data, lengths, dictData []byte, size uint64, v2 bool) (*dictValues, error) {
	// Entries are distinct, so at most one is empty: the dictionary cannot
	// have more entries than bytes plus one.
	if size > uint64(len(dictData))+1 {
		return nil, corruptf("a dictionary of %d entries in %d bytes", size, len(dictData))
	}
	lens := make([]int64, size)
	if err := newIntStream(lengths, v2, false).read(lens); err != nil {
		return nil, orcErr(err)
	}
	dict := make([]string, size)
	all := string(dictData) // one allocation; entries share it
	off := int64(0)
	for i, n := range lens {
		if n < 0 || n > int64(len(all))-off {
			return nil, corruptf("dictionary entry %d overruns the dictionary", i)
		}
		dict[i] = all[off : off+n]
		off += n
	}
	return &dictValues{dict: dict, idx: newIntStream(data, v2, false)}, nil
}

func (v *dictValues) values(dst []any) error {
	idx := scratch(&v.buf, len(dst))
	if err := v.idx.read(idx); err != nil {
		return err
	}
	for i, x := range idx {
		if x < 0 || x >= int64(len(v.dict)) {
			return corruptf("dictionary index %d of %d entries", x, len(v.dict))
		}
		dst[i] = v.dict[x]
	}
	return nil
}

// orcTimestampBase is 2015-01-01 00:00:00 UTC, the epoch of ORC timestamps.
const orcTimestampBase = 1420070400

// timestampValues decodes seconds since 2015-01-01 in the writer's zone and
// nanoseconds (with trailing decimal zeros folded into the low 3 bits).
// ORC's timestamp is Hive's timestamp without time zone: the value is the
// wall clock the writer saw, which is what odx stores (as UTC, as ADX does).
type timestampValues struct {
	secs, nanos intStream
	base        int64
	loc         *time.Location // writer's zone; nil for UTC or an instant type
	sbuf, nbuf  []int64
}

func (v *timestampValues) values(dst []any) error {
	secs, nanos := scratch(&v.sbuf, len(dst)), scratch(&v.nbuf, len(dst))
	if err := v.secs.read(secs); err != nil {
		return err
	}
	if err := v.nanos.read(nanos); err != nil {
		return err
	}
	for i, s := range secs {
		ns := nanos[i] >> 3
		if zeros := nanos[i] & 7; zeros != 0 {
			for z := int64(0); z <= zeros; z++ {
				ns *= 10
			}
		}
		if ns < 0 || ns > 999999999 {
			return corruptf("a timestamp with %d nanoseconds", ns)
		}
		sec := v.base + s
		// Writers divide milliseconds by 1000 truncating towards zero, so a
		// time before 1970 with a fraction carries one second too many; the
		// Java and C++ readers take it off (ORC-763).
		if sec < 0 && ns > 999999 {
			sec--
		}
		t := time.Unix(sec, ns)
		if v.loc != nil {
			w := t.In(v.loc)
			t = time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), w.Nanosecond(), time.UTC)
		}
		dst[i] = t.UTC()
	}
	return nil
}

type dateValues struct {
	days intStream
	buf  []int64
}

func (v *dateValues) values(dst []any) error {
	days := scratch(&v.buf, len(dst))
	if err := v.days.read(days); err != nil {
		return err
	}
	for i, d := range days {
		if d < -(1<<31) || d > 1<<31 {
			return corruptf("a date %d days from 1970", d)
		}
		dst[i] = time.Unix(d*86400, 0).UTC()
	}
	return nil
}

// decimalValues decodes decimals: unbounded zigzag varints for the unscaled
// value and a signed integer stream of per-value scales.
type decimalValues struct {
	data   byteCursor
	scales intStream
	buf    []int64
}

func (v *decimalValues) values(dst []any) error {
	scales := scratch(&v.buf, len(dst))
	// ORC writes all the unscaled values of a run before the scales; both
	// streams are independent, so they can be read in either order.
	for i := range dst {
		text, err := v.unscaled()
		if err != nil {
			return err
		}
		dst[i] = text
	}
	if err := v.scales.read(scales); err != nil {
		return err
	}
	for i, s := range scales {
		if s < -1000 || s > 1000 {
			return corruptf("a decimal scale of %d", s)
		}
		dst[i] = Decimal(scaleDecimal(dst[i].(string), int(s)))
	}
	return nil
}

// unscaled reads one zigzag varint of any length as decimal text.
func (v *decimalValues) unscaled() (string, error) {
	b := v.data.buf[v.data.pos:]
	if u, n := binary.Uvarint(b); n > 0 {
		v.data.pos += n
		if u>>1 <= math.MaxInt64 {
			return strconv.FormatInt(unzigzag(u), 10), nil
		}
	}
	// Over 64 bits: accumulate 7 bits at a time.
	var x big.Int
	var chunk big.Int
	shift := uint(0)
	for i := 0; ; i++ {
		if i >= len(b) {
			return "", io.ErrUnexpectedEOF
		}
		if i > 20 { // 38 decimal digits need 127 bits: 19 bytes
			return "", corruptf("a decimal varint over %d bytes", i)
		}
		chunk.SetUint64(uint64(b[i] & 0x7f))
		x.Or(&x, chunk.Lsh(&chunk, shift))
		shift += 7
		if b[i]&0x80 == 0 {
			v.data.pos += i + 1
			break
		}
	}
	neg := x.Bit(0) == 1
	x.Rsh(&x, 1)
	if neg {
		x.Add(&x, big.NewInt(1))
		x.Neg(&x)
	}
	return x.String(), nil
}

// scaleDecimal places the decimal point in the digits of an unscaled value.
func scaleDecimal(digits string, scale int) string {
	neg := strings.HasPrefix(digits, "-")
	digits = strings.TrimPrefix(digits, "-")
	if scale <= 0 {
		if digits != "0" {
			digits += strings.Repeat("0", -scale)
		}
	} else {
		if len(digits) <= scale {
			digits = strings.Repeat("0", scale-len(digits)+1) + digits
		}
		digits = digits[:len(digits)-scale] + "." + digits[len(digits)-scale:]
	}
	if neg {
		return "-" + digits
	}
	return digits
}

// maxORCListBatch bounds the elements of the lists (or maps) of one batch,
// so that a corrupt length cannot make odx allocate without limit.
const maxORCListBatch = 1 << 24

// orcListValues decodes lists and maps: a length per value, then that many
// elements (and, for maps, as many values) from the child columns.
type orcListValues struct {
	lengths     intStream
	elems, vals orcColumn
	isMap       bool
	buf         []int64
	keys, items []any
}

func (v *orcListValues) values(dst []any) error {
	lens := scratch(&v.buf, len(dst))
	if err := v.lengths.read(lens); err != nil {
		return err
	}
	total := int64(0)
	for _, n := range lens {
		if n < 0 || n > maxORCListBatch {
			return corruptf("a list or map of %d elements", n)
		}
		total += n
	}
	if total > maxORCListBatch {
		return corruptf("%d list or map elements in one batch; odx reads at most %d", total, maxORCListBatch)
	}
	if !v.isMap {
		// The elements of all lists share one array; each list is a
		// capacity-limited window of it.
		elems, err := readChunked(v.elems, total, nil)
		if err != nil {
			return err
		}
		off := int64(0)
		for i, n := range lens {
			dst[i] = elems[off : off+n : off+n]
			off += n
		}
		return nil
	}
	keys, err := readChunked(v.elems, total, v.keys[:0])
	if err != nil {
		return err
	}
	items, err := readChunked(v.vals, total, v.items[:0])
	if err != nil {
		return err
	}
	if cap(keys) <= 1<<20 { // keep moderate buffers for the next batch
		v.keys, v.items = keys, items
	} else {
		v.keys, v.items = nil, nil
	}
	off := int64(0)
	for i, n := range lens {
		m := make(map[string]any, n)
		for j := off; j < off+n; j++ {
			m[orcKeyText(keys[j])] = items[j]
			keys[j], items[j] = nil, nil
		}
		dst[i] = m
		off += n
	}
	return nil
}

// readChunked reads total values of col appended to buf, a bounded number
// at a time: memory grows with the values the streams really hold, not
// with a length a corrupt file claims.
func readChunked(col orcColumn, total int64, buf []any) ([]any, error) {
	const chunk = 1 << 16
	for int64(len(buf)) < total {
		n := int(min(total-int64(len(buf)), chunk))
		start := len(buf)
		buf = append(buf, make([]any, n)...)
		if err := col.read(buf[start : start+n]); err != nil {
			return nil, err
		}
	}
	return buf, nil
}

// orcKeyText renders a map key as the property name of a dynamic value.
func orcKeyText(k any) string {
	switch x := k.(type) {
	case nil:
		return ""
	case string:
		return x
	case int32:
		return strconv.FormatInt(int64(x), 10)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case Decimal:
		return string(x)
	case time.Time:
		return x.Format(time.RFC3339Nano)
	case []byte:
		return base64.StdEncoding.EncodeToString(x)
	}
	return fmt.Sprint(k)
}

type structValues struct {
	names   []string
	fields  []orcColumn
	scratch [][]any
}

func (v *structValues) values(dst []any) error {
	for f, c := range v.fields {
		if err := c.read(scratch(&v.scratch[f], len(dst))); err != nil {
			return err
		}
	}
	for i := range dst {
		m := make(map[string]any, len(v.fields))
		for f, name := range v.names {
			m[name] = v.scratch[f][i]
			v.scratch[f][i] = nil
		}
		dst[i] = m
	}
	return nil
}

// unionValues decodes a union: a tag per value selects the branch column
// whose next value it is.
type unionValues struct {
	tags     byteRLE
	branches []orcColumn
	tagBuf   []byte
	counts   []int
	scratch  [][]any
}

func (v *unionValues) values(dst []any) error {
	tags := scratch(&v.tagBuf, len(dst))
	if v.counts == nil {
		v.counts, v.scratch = make([]int, len(v.branches)), make([][]any, len(v.branches))
	}
	clear(v.counts)
	for i := range tags {
		t, err := v.tags.next()
		if err != nil {
			return err
		}
		if int(t) >= len(v.branches) {
			return corruptf("union tag %d of %d branches", t, len(v.branches))
		}
		tags[i] = t
		v.counts[t]++
	}
	for b, n := range v.counts {
		if err := v.branches[b].read(scratch(&v.scratch[b], n)); err != nil {
			return err
		}
	}
	clear(v.counts)
	for i, t := range tags {
		dst[i] = v.scratch[t][v.counts[t]]
		v.scratch[t][v.counts[t]] = nil
		v.counts[t]++
	}
	return nil
}
