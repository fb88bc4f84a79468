package format

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/golang/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// The low-level encodings of the ORC specification (orc.apache.org/specification/ORCv1):
// compression chunks, byte run-length encoding, boolean bit streams, and the
// two integer run-length encodings. Every reader works on a decompressed
// stream held in memory (one stripe's streams at a time) and reports
// corrupt input as an error, never by indexing out of range.

var errORCCorrupt = errors.New("the ORC data is corrupt")

func corruptf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errORCCorrupt}, args...)...)
}

// ORC compression kinds (PostScript.compression).
const (
	orcNone   = 0
	orcZlib   = 1
	orcSnappy = 2
	orcLZO    = 3
	orcLZ4    = 4
	orcZstd   = 5
)

// maxORCChunk bounds one decompressed compression chunk whatever the file
// claims as its block size, so that a corrupt header cannot make odx
// allocate without limit. Writers use 256 KiB by default.
const maxORCChunk = 64 << 20

// orcCodec undoes ORC's chunked compression: every compressed stream is a
// sequence of chunks, each with a 3-byte little-endian header holding the
// chunk length and whether the chunk is stored uncompressed ("original").
type orcCodec struct {
	kind      int
	blockSize int
	zstd      *zstd.Decoder
}

func newORCCodec(kind int, blockSize uint64) (*orcCodec, error) {
	c := &orcCodec{kind: kind, blockSize: maxORCChunk}
	if blockSize > 0 && blockSize < maxORCChunk {
		c.blockSize = int(blockSize)
	}
	switch kind {
	case orcNone, orcZlib, orcSnappy, orcLZ4:
	case orcZstd:
		d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(maxORCChunk))
		if err != nil {
			return nil, err
		}
		c.zstd = d
	case orcLZO:
		return nil, fmt.Errorf("the file is compressed with LZO, which odx does not read; rewrite it with ZLIB, SNAPPY, ZSTD, LZ4 or no compression")
	default:
		return nil, corruptf("unknown compression kind %d", kind)
	}
	return c, nil
}

func (c *orcCodec) close() {
	if c.zstd != nil {
		c.zstd.Close()
	}
}

// decode returns the decompressed bytes of a whole stream.
func (c *orcCodec) decode(src []byte) ([]byte, error) {
	if c.kind == orcNone {
		return src, nil
	}
	var out []byte
	for len(src) > 0 {
		if len(src) < 3 {
			return nil, corruptf("a compression chunk header is cut short")
		}
		h := int(src[0]) | int(src[1])<<8 | int(src[2])<<16
		original, n := h&1 == 1, h>>1
		src = src[3:]
		if n > len(src) {
			return nil, corruptf("a compression chunk of %d bytes runs past its stream (%d bytes left)", n, len(src))
		}
		chunk := src[:n]
		src = src[n:]
		if original {
			out = append(out, chunk...)
			continue
		}
		var err error
		if out, err = c.inflate(out, chunk); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// inflate appends the decompressed chunk to out.
func (c *orcCodec) inflate(out, chunk []byte) ([]byte, error) {
	switch c.kind {
	case orcZlib: // raw deflate, without the zlib header
		b := bytes.NewBuffer(out) // inflates straight onto the end of out
		n, err := io.Copy(b, io.LimitReader(flate.NewReader(bytes.NewReader(chunk)), int64(c.blockSize)+1))
		if err != nil {
			return nil, corruptf("a zlib chunk cannot be inflated: %v", err)
		}
		if n > int64(c.blockSize) {
			return nil, corruptf("a zlib chunk inflates past the block size %d", c.blockSize)
		}
		return b.Bytes(), nil
	case orcSnappy:
		n, err := snappy.DecodedLen(chunk)
		if err != nil || n > c.blockSize {
			return nil, corruptf("a snappy chunk has a bad length (%d, %v)", n, err)
		}
		start := len(out)
		out = slices.Grow(out, n)[:start+n]
		if _, err := snappy.Decode(out[start:start+n], chunk); err != nil {
			return nil, corruptf("a snappy chunk cannot be decoded: %v", err)
		}
		return out, nil
	case orcLZ4: // LZ4 block format, as Hadoop's and ORC's LZ4 codecs write it
		limit := min(c.blockSize, 255*len(chunk)+16)
		start := len(out)
		out = slices.Grow(out, limit)[:start+limit]
		n, err := lz4.UncompressBlock(chunk, out[start:start+limit])
		if err != nil {
			return nil, corruptf("an LZ4 chunk cannot be decoded: %v", err)
		}
		return out[:start+n], nil
	case orcZstd:
		start := len(out)
		res, err := c.zstd.DecodeAll(chunk, out)
		if err != nil {
			return nil, corruptf("a zstd chunk cannot be decoded: %v", err)
		}
		if len(res)-start > c.blockSize {
			return nil, corruptf("a zstd chunk decodes past the block size %d", c.blockSize)
		}
		return res, nil
	}
	return nil, corruptf("unknown compression kind %d", c.kind)
}

// byteCursor reads a decompressed stream.
type byteCursor struct {
	buf []byte
	pos int
}

func (c *byteCursor) byte() (byte, error) {
	if c.pos >= len(c.buf) {
		return 0, io.ErrUnexpectedEOF
	}
	b := c.buf[c.pos]
	c.pos++
	return b, nil
}

func (c *byteCursor) take(n int) ([]byte, error) {
	if n < 0 || n > len(c.buf)-c.pos {
		return nil, io.ErrUnexpectedEOF
	}
	b := c.buf[c.pos : c.pos+n]
	c.pos += n
	return b, nil
}

func (c *byteCursor) uvarint() (uint64, error) {
	v, n := binary.Uvarint(c.buf[c.pos:])
	if n <= 0 {
		return 0, corruptf("bad varint")
	}
	c.pos += n
	return v, nil
}

func (c *byteCursor) varint(signed bool) (int64, error) {
	u, err := c.uvarint()
	if !signed {
		return int64(u), err
	}
	return unzigzag(u), err
}

func unzigzag(u uint64) int64 { return int64(u>>1) ^ -int64(u&1) }

// byteRLE is ORC's byte run-length encoding (runs of 3–130 equal bytes or
// 1–128 literals), used for tinyint, union tags and boolean bits.
type byteRLE struct {
	c       byteCursor
	run     int  // bytes left in the current run
	literal bool // the current run is literal bytes
	value   byte
}

func (r *byteRLE) next() (byte, error) {
	if r.run == 0 {
		h, err := r.c.byte()
		if err != nil {
			return 0, err
		}
		if int8(h) >= 0 {
			r.run, r.literal = int(h)+3, false
			if r.value, err = r.c.byte(); err != nil {
				return 0, err
			}
		} else {
			r.run, r.literal = -int(int8(h)), true
		}
	}
	r.run--
	if r.literal {
		return r.c.byte()
	}
	return r.value, nil
}

// boolRLE reads bits, most significant first, from a byte RLE stream.
type boolRLE struct {
	bytes byteRLE
	cur   byte
	left  int
}

func (r *boolRLE) read(dst []bool) error {
	for i := range dst {
		if r.left == 0 {
			b, err := r.bytes.next()
			if err != nil {
				return err
			}
			r.cur, r.left = b, 8
		}
		r.left--
		dst[i] = r.cur>>r.left&1 == 1
	}
	return nil
}

// intStream reads an integer stream in either run-length encoding.
type intStream interface {
	read(dst []int64) error
}

func newIntStream(buf []byte, v2, signed bool) intStream {
	if v2 {
		return &intRLEv2{c: byteCursor{buf: buf}, signed: signed}
	}
	return &intRLEv1{c: byteCursor{buf: buf}, signed: signed}
}

// intRLEv1 is the version 1 integer encoding: runs of 3–130 values with a
// constant delta in -128..127, or 1–128 literal varints.
type intRLEv1 struct {
	c       byteCursor
	signed  bool
	run     int
	literal bool
	value   int64
	delta   int64
}

func (r *intRLEv1) read(dst []int64) error {
	for i := range dst {
		if r.run == 0 {
			h, err := r.c.byte()
			if err != nil {
				return err
			}
			if int8(h) >= 0 {
				d, err := r.c.byte()
				if err != nil {
					return err
				}
				r.run, r.literal, r.delta = int(h)+3, false, int64(int8(d))
				if r.value, err = r.c.varint(r.signed); err != nil {
					return err
				}
			} else {
				r.run, r.literal = -int(int8(h)), true
			}
		}
		r.run--
		if r.literal {
			v, err := r.c.varint(r.signed)
			if err != nil {
				return err
			}
			dst[i] = v
			continue
		}
		dst[i] = r.value
		r.value += r.delta
	}
	return nil
}

// intRLEv2 is the version 2 integer encoding with its four sub-encodings
// (short repeat, direct, patched base, delta). A run holds at most 512
// values; it is decoded whole into buf.
type intRLEv2 struct {
	c      byteCursor
	signed bool
	buf    [512]int64
	n, pos int
}

func (r *intRLEv2) read(dst []int64) error {
	for len(dst) > 0 {
		if r.pos == r.n {
			if err := r.decodeRun(); err != nil {
				return err
			}
		}
		k := copy(dst, r.buf[r.pos:r.n])
		r.pos += k
		dst = dst[k:]
	}
	return nil
}

// orcBitWidths decodes the 5-bit width codes of RLE v2.
var orcBitWidths = [32]int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 26, 28, 30, 32, 40, 48, 56, 64}

// closestFixedBits rounds a bit width up to one RLE v2 can encode.
func closestFixedBits(n int) int {
	for _, w := range orcBitWidths {
		if w >= n {
			return w
		}
	}
	return 64
}

func (r *intRLEv2) decodeRun() error {
	h, err := r.c.byte()
	if err != nil {
		return err
	}
	r.pos, r.n = 0, 0
	switch h >> 6 {
	case 0: // short repeat: 1–8 byte value repeated 3–10 times
		width := int(h>>3&7) + 1
		b, err := r.c.take(width)
		if err != nil {
			return err
		}
		var u uint64
		for _, x := range b {
			u = u<<8 | uint64(x)
		}
		v := int64(u)
		if r.signed {
			v = unzigzag(u)
		}
		r.n = int(h&7) + 3
		for i := 0; i < r.n; i++ {
			r.buf[i] = v
		}
	case 1: // direct: bit-packed values
		width := orcBitWidths[h>>1&0x1f]
		n, err := r.runLength(h)
		if err != nil {
			return err
		}
		if err := r.unpack(r.buf[:n], width); err != nil {
			return err
		}
		if r.signed {
			for i := range r.buf[:n] {
				r.buf[i] = unzigzag(uint64(r.buf[i]))
			}
		}
		r.n = n
	case 2:
		return r.patchedBase(h)
	case 3:
		return r.delta(h)
	}
	return nil
}

func (r *intRLEv2) runLength(h byte) (int, error) {
	b, err := r.c.byte()
	if err != nil {
		return 0, err
	}
	return (int(h&1)<<8 | int(b)) + 1, nil
}

// unpack reads len(dst) big-endian bit-packed values of width bits; the run
// ends on a byte boundary.
func (r *intRLEv2) unpack(dst []int64, width int) error {
	total := len(dst) * width
	b, err := r.c.take((total + 7) / 8)
	if err != nil {
		return err
	}
	if width == 8 {
		for i := range dst {
			dst[i] = int64(b[i])
		}
		return nil
	}
	bit := 0
	for i := range dst {
		var v uint64
		for need := width; need > 0; {
			byteIdx, off := bit>>3, bit&7
			avail := 8 - off
			take := min(avail, need)
			chunk := uint64(b[byteIdx]>>(avail-take)) & (1<<take - 1)
			v = v<<take | chunk
			need -= take
			bit += take
		}
		dst[i] = int64(v)
	}
	return nil
}

func (r *intRLEv2) patchedBase(h byte) error {
	width := orcBitWidths[h>>1&0x1f]
	n, err := r.runLength(h)
	if err != nil {
		return err
	}
	b3, err := r.c.byte()
	if err != nil {
		return err
	}
	b4, err := r.c.byte()
	if err != nil {
		return err
	}
	baseBytes := int(b3>>5&7) + 1
	patchWidth := orcBitWidths[b3&0x1f]
	gapWidth := int(b4>>5&7) + 1
	patches := int(b4 & 0x1f)
	bb, err := r.c.take(baseBytes)
	if err != nil {
		return err
	}
	var ubase uint64
	for _, x := range bb {
		ubase = ubase<<8 | uint64(x)
	}
	// The base is sign-magnitude: its most significant bit is the sign.
	signBit := uint64(1) << (uint(baseBytes)*8 - 1)
	base := int64(ubase &^ signBit)
	if ubase&signBit != 0 {
		base = -base
	}
	if err := r.unpack(r.buf[:n], width); err != nil {
		return err
	}
	if patchWidth+gapWidth > 64 {
		return corruptf("patch and gap widths %d+%d exceed 64 bits", patchWidth, gapWidth)
	}
	var list [31]int64
	if err := r.unpack(list[:patches], closestFixedBits(patchWidth+gapWidth)); err != nil {
		return err
	}
	pos := 0
	for _, p := range list[:patches] {
		u := uint64(p)
		pos += int(u >> uint(patchWidth))
		patch := u & (1<<uint(patchWidth) - 1)
		if patchWidth == 64 {
			patch = u
		}
		if patch == 0 { // a gap longer than 255 is split into patch-less entries
			continue
		}
		if pos >= n {
			return corruptf("a patch points past its run")
		}
		r.buf[pos] = int64(uint64(r.buf[pos]) | patch<<uint(width))
	}
	for i := range r.buf[:n] {
		r.buf[i] += base
	}
	r.n = n
	return nil
}

func (r *intRLEv2) delta(h byte) error {
	width := 0
	if code := h >> 1 & 0x1f; code != 0 {
		width = orcBitWidths[code]
	}
	n, err := r.runLength(h)
	if err != nil {
		return err
	}
	base, err := r.c.varint(r.signed)
	if err != nil {
		return err
	}
	step, err := r.c.varint(true)
	if err != nil {
		return err
	}
	r.buf[0] = base
	if n == 1 {
		r.n = 1
		return nil
	}
	r.buf[1] = base + step
	if width == 0 {
		for i := 2; i < n; i++ {
			r.buf[i] = r.buf[i-1] + step
		}
		r.n = n
		return nil
	}
	if err := r.unpack(r.buf[2:n], width); err != nil {
		return err
	}
	for i := 2; i < n; i++ {
		d := r.buf[i]
		if step < 0 {
			d = -d
		}
		r.buf[i] = r.buf[i-1] + d
	}
	r.n = n
	return nil
}
