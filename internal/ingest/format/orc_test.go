package format

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	scorc "github.com/scritchley/orc"
	"google.golang.org/protobuf/encoding/protowire"
)

// Files written by github.com/scritchley/orc's writer, an ORC implementation
// independent of odx's reader. Its writer knows NONE and ZLIB only; the
// SNAPPY, ZSTD and LZ4 variants are the same files with every stream
// recompressed by recompressORC below.

const orcTestSchema = "struct<id:bigint,name:string,score:double,ratio:float,ok:boolean,small:int,ts:timestamp,day:date," +
	"tags:array<string>,attrs:map<string,bigint>,inner:struct<x:int,label:string>,choice:uniontype<int,string>>"

var orcTestBase = time.Date(2024, 3, 10, 1, 2, 3, 0, time.UTC)

// orcTestRow is row i of the generated files, as ORC writer input.
func orcTestRow(i int) []any {
	var name, ts, tags, label any
	if i%3 != 0 {
		name = fmt.Sprintf("name-%d", i%10) // repeats: dictionary-friendly
	}
	if i%4 != 0 {
		ts = orcTestBase.Add(time.Duration(i)*time.Second + time.Duration(i%1000)*time.Microsecond)
	}
	if i%5 != 0 {
		tags = []any{"a", fmt.Sprint(i)}
	}
	if i%7 != 0 { // the writer cannot write a null struct, only null fields
		label = "l" + fmt.Sprint(i%3)
	}
	var choice any = scorc.UnionValue{Tag: 0, Value: int32(i)}
	if i%2 == 1 {
		choice = scorc.UnionValue{Tag: 1, Value: "s" + fmt.Sprint(i)}
	}
	return []any{int64(i) * 1_000_003, name, float64(i) / 8, float32(i%100) / 10, i%2 == 0, int32(i - 5000),
		ts, orcTestBase.AddDate(0, 0, i%400), tags, map[string]any{"k": int64(i), "z": int64(-i)}, []any{int32(-i), label}, choice}
}

// orcTestRecord is what odx must decode for row i.
func orcTestRecord(i int) map[string]any {
	in := orcTestRow(i)
	rec := map[string]any{"id": in[0], "name": in[1], "score": in[2], "ratio": shortestFloat32(in[3].(float32)), "ok": in[4], "small": in[5],
		"ts": in[6], "day": time.Date(2024, 3, 10, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i%400),
		"tags": in[8], "attrs": in[9], "inner": map[string]any{"x": in[10].([]any)[0], "label": in[10].([]any)[1]},
		"choice": in[11].(scorc.UnionValue).Value}
	return rec
}

// writeORCLibrary writes rows rows, flushing a stripe every rowsPerStripe.
func writeORCLibrary(t testing.TB, codec scorc.CompressionCodec, rows, rowsPerStripe int) []byte {
	t.Helper()
	schema, err := scorc.ParseSchema(orcTestSchema)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w, err := scorc.NewWriter(&buf, scorc.SetSchema(schema), scorc.SetCompression(codec))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < rows; i++ {
		if err := w.Write(orcTestRow(i)...); err != nil {
			t.Fatal(err)
		}
		if (i+1)%rowsPerStripe == 0 && i+1 < rows {
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestORCFromLibraryWriter(t *testing.T) {
	const rows, perStripe = 12000, 5000
	plain := writeORCLibrary(t, scorc.CompressionNone{}, rows, perStripe)
	files := map[string][]byte{
		"none": plain,
		"zlib": writeORCLibrary(t, scorc.CompressionZlib{Level: flate.DefaultCompression}, rows, perStripe),
	}
	for name, kind := range map[string]int{"snappy": orcSnappy, "zstd": orcZstd, "lz4": orcLZ4, "zlib-small-chunks": orcZlib} {
		files[name] = recompressORC(t, plain, kind, 1000)
	}
	for name, data := range files {
		t.Run(name, func(t *testing.T) {
			d, err := NewDecoder(ORC, bytes.NewReader(data), Options{Source: name + ".orc", BatchSize: 3000})
			if err != nil {
				t.Fatal(err)
			}
			defer Close(d)
			if s := len(d.(*orcDecoder).tail.stripes); s != 3 {
				t.Fatalf("%d stripes, want 3", s)
			}
			n := 0
			for {
				b, err := d.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if len(b.Records) > 3000 {
					t.Fatalf("batch of %d records, BatchSize is 3000", len(b.Records))
				}
				for _, r := range b.Records {
					if want := orcTestRecord(n); !reflect.DeepEqual(r.Value, want) {
						t.Fatalf("row %d:\n got %#v\nwant %#v", n, r.Value, want)
					}
					n++
					if r.Number != int64(n) {
						t.Fatalf("record number %d, want %d", r.Number, n)
					}
				}
			}
			if n != rows {
				t.Fatalf("%d rows, want %d", n, rows)
			}
		})
	}
}

// The decoder reads from a file on disk in place, and from any other reader
// through a temporary copy that Close removes.
func TestORCFromStreamAndFile(t *testing.T) {
	data := writeORCLibrary(t, scorc.CompressionZlib{}, 100, 100)
	path := filepath.Join(t.TempDir(), "x.orc")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, r := range []io.Reader{f, io.MultiReader(bytes.NewReader(data))} {
		recs, errs, err := ReadAll(ORC, r, Options{Source: "x.orc"})
		if err != nil || len(errs) != 0 || len(recs) != 100 {
			t.Fatalf("%T: %d records, %v %v", r, len(recs), errs, err)
		}
		if !reflect.DeepEqual(recs[99].Value, orcTestRecord(99)) {
			t.Fatalf("%T: last record %v", r, recs[99].Value)
		}
	}
}

// A damaged file fails with BadRequest_InvalidBlob naming the source; it
// never panics, whatever is cut off or overwritten.
func TestORCMalformed(t *testing.T) {
	data := writeORCLibrary(t, scorc.CompressionZlib{}, 2000, 1000)
	decode := func(b []byte) error {
		_, _, err := ReadAll(ORC, bytes.NewReader(b), Options{Source: "https://acct.blob.core.windows.net/c/bad.orc"})
		return err
	}
	cases := map[string][]byte{
		"empty":          {},
		"not orc":        []byte("id,name\n1,a\n"),
		"magic only":     []byte("ORC"),
		"truncated tail": data[:len(data)-1],
		"half":           data[:len(data)/2],
		"no postscript":  append(append([]byte{}, data[:len(data)-1]...), 0),
	}
	for name, b := range cases {
		err := decode(b)
		if err == nil || codeOf(err) != CodeInvalidBlob || !strings.Contains(err.Error(), "bad.orc") {
			t.Errorf("%s: got %v, want BadRequest_InvalidBlob naming bad.orc", name, err)
		}
	}
	// Overwrite each byte of the stripes in turn: every outcome is either
	// rows or an error, and a stripe that is cut short is an error.
	step := max(1, (len(data)-300)/150)
	for i := 3; i < len(data)-300; i += step {
		b := append([]byte{}, data...)
		b[i] ^= 0xff
		if err := decode(b); err != nil && codeOf(err) != CodeInvalidBlob {
			t.Fatalf("byte %d: error without an ADX code: %v", i, err)
		}
	}
	lzo, err := os.ReadFile(filepath.Join("testdata", "orc", "TestVectorOrcFile.testLzo.orc"))
	if err != nil {
		t.Fatal(err)
	}
	if err := decode(lzo); err == nil || !strings.Contains(err.Error(), "LZO") {
		t.Errorf("LZO: %v", err)
	}
}

func TestORCGuessedFromExtension(t *testing.T) {
	for _, name := range []string{"x.orc", "https://a.blob.core.windows.net/c/2024/x.ORC?sv=1&sig=2"} {
		if f, c, ok := Guess(name); f != ORC || c != None || !ok {
			t.Errorf("Guess(%q) = %v %v %v", name, f, c, ok)
		}
	}
	if f, err := ParseFormat("Orc"); err != nil || f != ORC || !f.Binary() {
		t.Errorf("ParseFormat(Orc) = %v %v", f, err)
	}
}

func FuzzORC(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "orc", "*.orc"))
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil && len(b) < 64<<10 {
			f.Add(b)
		}
	}
	f.Add(writeORCLibrary(f, scorc.CompressionNone{}, 50, 20))
	f.Add(writeORCLibrary(f, scorc.CompressionZlib{}, 50, 20))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := NewDecoder(ORC, bytes.NewReader(data), Options{Source: "fuzz.orc", BatchSize: 512})
		if err != nil {
			if codeOf(err) != CodeInvalidBlob {
				t.Fatalf("error without ADX's code: %v", err)
			}
			return
		}
		defer Close(d)
		for rows := 0; rows < 1<<14; { // enough to reach every column; more only costs time
			b, err := d.Next()
			if err == io.EOF {
				return
			}
			if err != nil {
				if strings.Contains(err.Error(), "internal error") {
					t.Fatalf("the decoder panicked: %v", err)
				}
				return
			}
			rows += len(b.Records)
		}
	})
}

// recompressORC rewrites an uncompressed ORC file with compression kind,
// in chunks of at most block bytes: every stream, stripe footer, the
// metadata and the footer are recompressed and the lengths and offsets that
// change are rewritten; other fields are copied as they are. (Row index
// positions are left stale; readers of whole files do not use them.)
func recompressORC(t testing.TB, src []byte, kind, block int) []byte {
	t.Helper()
	psLen := int(src[len(src)-1])
	ps := src[len(src)-1-psLen : len(src)-1]
	var footerLen, metaLen int
	pbWalk(t, ps, func(num protowire.Number, v uint64, raw []byte) {
		switch num {
		case 1:
			footerLen = int(v)
		case 5:
			metaLen = int(v)
		}
	})
	if pbUint(t, ps, 2) != orcNone {
		t.Fatal("recompressORC takes an uncompressed file")
	}
	footerEnd := len(src) - 1 - psLen
	footer := src[footerEnd-footerLen : footerEnd]
	meta := src[footerEnd-footerLen-metaLen : footerEnd-footerLen]

	out := []byte(orcMagic)
	var stripes [][]byte
	pbWalk(t, footer, func(num protowire.Number, v uint64, raw []byte) {
		if num != 3 {
			return
		}
		off, idxLen, dataLen, sfLen := int(pbUint(t, raw, 1)), int(pbUint(t, raw, 2)), int(pbUint(t, raw, 3)), int(pbUint(t, raw, 4))
		sf := src[off+idxLen+dataLen : off+idxLen+dataLen+sfLen]
		start := len(out)
		newIdx, newData := 0, 0
		var newStreams [][]byte
		pos := off
		pbWalk(t, sf, func(num protowire.Number, v uint64, raw []byte) {
			if num != 1 {
				return
			}
			n := int(pbUint(t, raw, 3))
			c := orcCompress(t, src[pos:pos+n], kind, block)
			if pos < off+idxLen {
				newIdx += len(c)
			} else {
				newData += len(c)
			}
			pos += n
			out = append(out, c...)
			newStreams = append(newStreams, pbReplace(t, raw, map[protowire.Number]uint64{3: uint64(len(c))}))
		})
		newSF := pbReplaceMessages(t, sf, 1, newStreams)
		csf := orcCompress(t, newSF, kind, block)
		out = append(out, csf...)
		stripes = append(stripes, pbReplace(t, raw, map[protowire.Number]uint64{
			1: uint64(start), 2: uint64(newIdx), 3: uint64(newData), 4: uint64(len(csf))}))
	})
	cmeta := orcCompress(t, meta, kind, block)
	out = append(out, cmeta...)
	cfooter := orcCompress(t, pbReplaceMessages(t, footer, 3, stripes), kind, block)
	out = append(out, cfooter...)
	newPS := pbReplace(t, ps, map[protowire.Number]uint64{1: uint64(len(cfooter)), 2: uint64(kind), 3: uint64(block), 5: uint64(len(cmeta))})
	out = append(out, newPS...)
	return append(out, byte(len(newPS)))
}

func orcCompress(t testing.TB, data []byte, kind, block int) []byte {
	var out []byte
	for len(data) > 0 {
		chunk := data[:min(block, len(data))]
		data = data[len(chunk):]
		var c []byte
		switch kind {
		case orcZlib:
			var b bytes.Buffer
			w, _ := flate.NewWriter(&b, flate.BestCompression)
			w.Write(chunk)
			w.Close()
			c = b.Bytes()
		case orcSnappy:
			c = snappy.Encode(nil, chunk)
		case orcZstd:
			e, _ := zstd.NewWriter(nil)
			c = e.EncodeAll(chunk, nil)
		case orcLZ4:
			c = make([]byte, lz4.CompressBlockBound(len(chunk)))
			n, err := lz4.CompressBlock(chunk, c, nil)
			if err != nil {
				t.Fatal(err)
			}
			c = c[:n]
		}
		h := len(c) << 1
		if len(c) == 0 || len(c) >= len(chunk) { // not worth it: store the original
			c, h = chunk, len(chunk)<<1|1
		}
		out = append(out, byte(h), byte(h>>8), byte(h>>16))
		out = append(out, c...)
	}
	return out
}

func pbWalk(t testing.TB, b []byte, fn func(num protowire.Number, v uint64, raw []byte)) {
	t.Helper()
	if err := pbFields(b, func(num protowire.Number, typ protowire.Type, v uint64, raw []byte) error {
		fn(num, v, raw)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func pbUint(t testing.TB, b []byte, field protowire.Number) uint64 {
	var out uint64
	pbWalk(t, b, func(num protowire.Number, v uint64, raw []byte) {
		if num == field {
			out = v
		}
	})
	return out
}

// pbReplace copies a message with the given varint fields set.
func pbReplace(t testing.TB, b []byte, set map[protowire.Number]uint64) []byte {
	var out []byte
	seen := map[protowire.Number]bool{}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		m := protowire.ConsumeFieldValue(num, typ, b[n:])
		if n < 0 || m < 0 {
			t.Fatal("bad protobuf")
		}
		if v, ok := set[num]; ok && typ == protowire.VarintType {
			out = protowire.AppendTag(out, num, protowire.VarintType)
			out = protowire.AppendVarint(out, v)
			seen[num] = true
		} else {
			out = append(out, b[:n+m]...)
		}
		b = b[n+m:]
	}
	for num, v := range set {
		if !seen[num] {
			out = protowire.AppendTag(out, num, protowire.VarintType)
			out = protowire.AppendVarint(out, v)
		}
	}
	return out
}

// pbReplaceMessages copies a message with the repeated message field
// replaced, in order, by msgs.
func pbReplaceMessages(t testing.TB, b []byte, field protowire.Number, msgs [][]byte) []byte {
	var out []byte
	i := 0
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		m := protowire.ConsumeFieldValue(num, typ, b[n:])
		if n < 0 || m < 0 {
			t.Fatal("bad protobuf")
		}
		if num == field {
			out = protowire.AppendTag(out, num, protowire.BytesType)
			out = protowire.AppendBytes(out, msgs[i])
			i++
		} else {
			out = append(out, b[:n+m]...)
		}
		b = b[n+m:]
	}
	return out
}

// rleV1Literals encodes values as RLE v1 literal runs (the simplest valid
// integer stream).
func rleV1Literals(vals []int64, signed bool) []byte {
	var out []byte
	for len(vals) > 0 {
		n := min(len(vals), 128)
		out = append(out, byte(-int8(n)))
		for _, v := range vals[:n] {
			u := uint64(v)
			if signed {
				u = uint64(v<<1) ^ uint64(v>>63)
			}
			out = binary.AppendUvarint(out, u)
		}
		vals = vals[n:]
	}
	return out
}

// ORC's timestamp is the writer's wall clock: seconds count from
// 2015-01-01 00:00 in the writer's zone, so a value written in New York in
// summer (daylight saving time) reads back as the same wall clock, not one
// hour off. A timestamp with local time zone is an instant relative to UTC.
func TestORCTimestampsFollowTheWriterZone(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	walls := []time.Time{
		time.Date(2024, 1, 15, 12, 0, 0, 0, time.UTC),
		time.Date(2024, 7, 15, 12, 0, 0, 123456789, time.UTC),
		time.Date(2024, 3, 10, 3, 30, 0, 0, time.UTC), // just after the spring-forward gap
		time.Date(2014, 11, 2, 1, 30, 0, 0, time.UTC), // before the 2015 base, in the repeated hour
	}
	base := time.Date(2015, 1, 1, 0, 0, 0, 0, ny).Unix()
	var secs, nanos []int64
	for _, w := range walls {
		inNY := time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), w.Nanosecond(), ny)
		secs = append(secs, inNY.Unix()-base)
		nanos = append(nanos, int64(w.Nanosecond())<<3)
	}
	tv := &timestampValues{secs: newIntStream(rleV1Literals(secs, true), false, true), nanos: newIntStream(rleV1Literals(nanos, false), false, false),
		base: base, loc: ny}
	got := make([]any, len(walls))
	if err := tv.values(got); err != nil {
		t.Fatal(err)
	}
	for i, w := range walls {
		if !got[i].(time.Time).Equal(w) {
			t.Errorf("wall clock %v read as %v", w, got[i])
		}
	}
	// The instant kind: seconds from 2015-01-01 UTC, no zone.
	at := time.Date(2024, 7, 15, 16, 0, 0, 5, time.UTC)
	iv := &timestampValues{secs: newIntStream(rleV1Literals([]int64{at.Unix() - orcTimestampBase}, true), false, true),
		nanos: newIntStream(rleV1Literals([]int64{5 << 3}, false), false, false), base: orcTimestampBase}
	if err := iv.values(got[:1]); err != nil || !got[0].(time.Time).Equal(at) {
		t.Errorf("instant read as %v (%v), want %v", got[0], err, at)
	}
}

// A footer whose types share a subtype is refused: walking such a schema
// would take time exponential in the footer's size.
func TestORCFooterTypesMustFormATree(t *testing.T) {
	typ := func(kind int, subtypes []int, names ...string) []byte {
		var b []byte
		b = protowire.AppendTag(b, 1, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(kind))
		for _, s := range subtypes {
			b = protowire.AppendTag(b, 2, protowire.VarintType)
			b = protowire.AppendVarint(b, uint64(s))
		}
		for _, n := range names {
			b = protowire.AppendTag(b, 3, protowire.BytesType)
			b = protowire.AppendString(b, n)
		}
		return b
	}
	footer := func(types ...[]byte) []byte {
		var b []byte
		for _, ty := range types {
			b = protowire.AppendTag(b, 4, protowire.BytesType)
			b = protowire.AppendBytes(b, ty)
		}
		return b
	}
	tree := footer(typ(orcStruct, []int{1, 2}, "a", "b"), typ(orcInt, nil), typ(orcString, nil))
	if err := (&orcTail{}).parseFooter(tree, 100); err != nil {
		t.Fatalf("a well-formed schema: %v", err)
	}
	shared := footer(typ(orcStruct, []int{1, 1}, "a", "b"), typ(orcInt, nil))
	if err := (&orcTail{}).parseFooter(shared, 100); err == nil || !strings.Contains(err.Error(), "two types") {
		t.Fatalf("a shared subtype: %v", err)
	}
	backwards := footer(typ(orcStruct, []int{1}, "a"), typ(orcList, []int{0}))
	if err := (&orcTail{}).parseFooter(backwards, 100); err == nil {
		t.Fatal("a subtype pointing back was accepted")
	}
}
