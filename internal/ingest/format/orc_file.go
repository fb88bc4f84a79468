package format

import (
	"fmt"
	"io"

	"google.golang.org/protobuf/encoding/protowire"
)

// The ORC file tail and stripe footers are Protocol Buffers messages
// (orc_proto.proto). odx reads the few fields it needs with protowire
// rather than generated code: unknown fields, including those of newer ORC
// versions (encryption, statistics), are skipped.

// orcType is one entry of the footer's flattened type tree; subtypes are
// column ids (indexes into the same list).
type orcType struct {
	kind     int
	subtypes []int
	names    []string
}

// ORC type kinds (Type.Kind).
const (
	orcBoolean = iota
	orcByte
	orcShort
	orcInt
	orcLong
	orcFloat
	orcDouble
	orcString
	orcBinary
	orcTimestamp
	orcList
	orcMap
	orcStruct
	orcUnion
	orcDecimal
	orcDate
	orcVarchar
	orcChar
	orcTimestampInstant
)

type orcStripeInfo struct {
	offset, indexLength, dataLength, footerLength, rows uint64
}

type orcTail struct {
	types   []orcType
	stripes []orcStripeInfo
}

type orcStreamInfo struct {
	kind, column int
	length       uint64
}

type orcStripeFooter struct {
	streams   []orcStreamInfo
	encodings []orcEncoding
	timezone  string
}

type orcEncoding struct {
	kind           int // DIRECT, DICTIONARY, DIRECT_V2, DICTIONARY_V2
	dictionarySize uint64
}

// pbFields calls fn for each field of a message with its number and wire
// type, and v for a varint or raw for length-delimited bytes (other wire
// types are skipped over, passed with neither).
func pbFields(b []byte, fn func(num protowire.Number, typ protowire.Type, v uint64, raw []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return corruptf("bad protobuf tag")
		}
		b = b[n:]
		var v uint64
		var raw []byte
		switch typ {
		case protowire.VarintType:
			v, n = protowire.ConsumeVarint(b)
		case protowire.BytesType:
			raw, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return corruptf("bad protobuf field %d", num)
		}
		b = b[n:]
		if err := fn(num, typ, v, raw); err != nil {
			return err
		}
	}
	return nil
}

// pbUints reads a repeated uint field, packed or not.
func pbUints(typ protowire.Type, v uint64, raw []byte, dst []int) ([]int, error) {
	if typ == protowire.VarintType {
		return append(dst, int(v)), nil
	}
	for len(raw) > 0 {
		x, n := protowire.ConsumeVarint(raw)
		if n < 0 {
			return nil, corruptf("bad packed field")
		}
		dst = append(dst, int(x))
		raw = raw[n:]
	}
	return dst, nil
}

const orcMagic = "ORC"

// readORCTail reads the postscript, then the footer, of a file of size
// bytes: the tail is at the end of the file.
func readORCTail(r io.ReaderAt, size int64) (*orcTail, *orcCodec, error) {
	if size < int64(len(orcMagic))+1 {
		return nil, nil, fmt.Errorf("the file is %d bytes long, too short for ORC", size)
	}
	head := make([]byte, 3)
	if _, err := r.ReadAt(head, 0); err != nil {
		return nil, nil, err
	}
	if string(head) != orcMagic {
		return nil, nil, fmt.Errorf("the file does not start with the ORC magic bytes")
	}
	last := make([]byte, min(size, 256))
	if _, err := r.ReadAt(last, size-int64(len(last))); err != nil {
		return nil, nil, err
	}
	psLen := int(last[len(last)-1])
	if psLen == 0 || psLen+1 > len(last) {
		return nil, nil, corruptf("the postscript length %d does not fit the file", psLen)
	}
	ps := last[len(last)-1-psLen : len(last)-1]
	var footerLen, metaLen, blockSize uint64
	var compression int
	err := pbFields(ps, func(num protowire.Number, typ protowire.Type, v uint64, raw []byte) error {
		switch num {
		case 1:
			footerLen = v
		case 2:
			compression = int(v)
		case 3:
			blockSize = v
		case 5:
			metaLen = v
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	tailEnd := size - 1 - int64(psLen)
	if footerLen > uint64(tailEnd) || metaLen > uint64(tailEnd) {
		return nil, nil, corruptf("the footer length %d does not fit the file", footerLen)
	}
	codec, err := newORCCodec(compression, blockSize)
	if err != nil {
		return nil, nil, err
	}
	raw := make([]byte, footerLen)
	if _, err := r.ReadAt(raw, tailEnd-int64(footerLen)); err != nil {
		codec.close()
		return nil, nil, err
	}
	t := &orcTail{}
	footer, err := codec.decode(raw)
	if err == nil {
		err = t.parseFooter(footer, size)
	}
	if err != nil {
		codec.close()
		return nil, nil, err
	}
	return t, codec, nil
}

func (t *orcTail) parseFooter(b []byte, size int64) error {
	err := pbFields(b, func(num protowire.Number, typ protowire.Type, v uint64, raw []byte) error {
		switch num {
		case 3:
			var s orcStripeInfo
			err := pbFields(raw, func(num protowire.Number, typ protowire.Type, v uint64, _ []byte) error {
				switch num {
				case 1:
					s.offset = v
				case 2:
					s.indexLength = v
				case 3:
					s.dataLength = v
				case 4:
					s.footerLength = v
				case 5:
					s.rows = v
				}
				return nil
			})
			if err != nil {
				return err
			}
			end := s.offset + s.indexLength + s.dataLength + s.footerLength
			if end < s.offset || end > uint64(size) || s.indexLength > uint64(size) || s.dataLength > uint64(size) || s.footerLength > uint64(size) {
				return corruptf("stripe %d lies outside the file", len(t.stripes)+1)
			}
			t.stripes = append(t.stripes, s)
		case 4:
			var ty orcType
			err := pbFields(raw, func(num protowire.Number, typ protowire.Type, v uint64, raw []byte) error {
				var err error
				switch num {
				case 1:
					ty.kind = int(v)
				case 2:
					ty.subtypes, err = pbUints(typ, v, raw, ty.subtypes)
				case 3:
					ty.names = append(ty.names, string(raw))
				}
				return err
			})
			if err != nil {
				return err
			}
			t.types = append(t.types, ty)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(t.types) == 0 {
		return corruptf("the footer has no schema")
	}
	// The type tree must be a tree: subtypes point forward (ORC numbers
	// columns in pre-order), so walking it terminates, and each type has one
	// parent, so walking it is linear (a type shared by two parents would
	// let a small footer describe an exponentially large schema).
	hasParent := make([]bool, len(t.types))
	for id, ty := range t.types {
		for _, s := range ty.subtypes {
			if s <= id || s >= len(t.types) {
				return corruptf("type %d names subtype %d", id, s)
			}
			if hasParent[s] {
				return corruptf("type %d is the subtype of two types", s)
			}
			hasParent[s] = true
		}
		switch ty.kind {
		case orcStruct:
			if len(ty.names) != len(ty.subtypes) {
				return corruptf("struct type %d has %d field names for %d fields", id, len(ty.names), len(ty.subtypes))
			}
		case orcList:
			if len(ty.subtypes) != 1 {
				return corruptf("list type %d has %d element types", id, len(ty.subtypes))
			}
		case orcMap:
			if len(ty.subtypes) != 2 {
				return corruptf("map type %d has %d key/value types", id, len(ty.subtypes))
			}
		case orcUnion:
			if len(ty.subtypes) == 0 || len(ty.subtypes) > 256 {
				return corruptf("union type %d has %d branches", id, len(ty.subtypes))
			}
		}
		if ty.kind > orcTimestampInstant {
			return fmt.Errorf("column %d has ORC type kind %d, which odx does not know", id, ty.kind)
		}
	}
	return nil
}

func parseORCStripeFooter(b []byte) (*orcStripeFooter, error) {
	f := &orcStripeFooter{}
	err := pbFields(b, func(num protowire.Number, typ protowire.Type, v uint64, raw []byte) error {
		switch num {
		case 1:
			var s orcStreamInfo
			err := pbFields(raw, func(num protowire.Number, typ protowire.Type, v uint64, _ []byte) error {
				switch num {
				case 1:
					s.kind = int(v)
				case 2:
					s.column = int(v)
				case 3:
					s.length = v
				}
				return nil
			})
			if err != nil {
				return err
			}
			f.streams = append(f.streams, s)
		case 2:
			var e orcEncoding
			err := pbFields(raw, func(num protowire.Number, typ protowire.Type, v uint64, _ []byte) error {
				switch num {
				case 1:
					e.kind = int(v)
				case 2:
					e.dictionarySize = v
				}
				return nil
			})
			if err != nil {
				return err
			}
			f.encodings = append(f.encodings, e)
		case 3:
			f.timezone = string(raw)
		}
		return nil
	})
	return f, err
}
