package format

import (
	"bufio"
	"encoding/binary"
	"io"
	"unicode/utf16"
	"unicode/utf8"
)

// textInput prepares the input of a text format the way .NET's StreamReader
// (which ADX reads text with) does by default: a UTF-8 byte order mark is
// dropped, and UTF-16 input announced by its byte order mark is converted to
// UTF-8. Input without a mark is read as UTF-8.
func textInput(r io.Reader) io.Reader {
	br := bufferFor(r)
	head, _ := br.Peek(3)
	switch {
	case len(head) >= 3 && head[0] == 0xEF && head[1] == 0xBB && head[2] == 0xBF:
		br.Discard(3)
	case len(head) >= 2 && head[0] == 0xFF && head[1] == 0xFE:
		br.Discard(2)
		return &utf16Reader{r: br, order: binary.LittleEndian}
	case len(head) >= 2 && head[0] == 0xFE && head[1] == 0xFF:
		br.Discard(2)
		return &utf16Reader{r: br, order: binary.BigEndian}
	}
	return br
}

// utf16Reader converts a UTF-16 stream to UTF-8; unpaired surrogates and a
// trailing odd byte become U+FFFD.
type utf16Reader struct {
	r       *bufio.Reader
	order   binary.ByteOrder
	pending []byte // converted bytes not yet returned
	err     error
}

func (u *utf16Reader) Read(p []byte) (int, error) {
	for len(u.pending) == 0 {
		if u.err != nil {
			return 0, u.err
		}
		u.fill()
	}
	n := copy(p, u.pending)
	u.pending = u.pending[n:]
	return n, nil
}

func (u *utf16Reader) unit() (uint16, bool) {
	var b [2]byte
	n, err := io.ReadFull(u.r, b[:])
	if err != nil {
		if n == 1 {
			u.pending = utf8.AppendRune(u.pending, utf8.RuneError)
		}
		if err == io.ErrUnexpectedEOF {
			err = io.EOF
		}
		u.err = err
		return 0, false
	}
	return u.order.Uint16(b[:]), true
}

func (u *utf16Reader) fill() {
	u.pending = u.pending[:0]
	for len(u.pending) < 4096 {
		c, ok := u.unit()
		if !ok {
			return
		}
		r := rune(c)
		if utf16.IsSurrogate(r) {
			if peek, err := u.r.Peek(2); err == nil {
				if r2 := rune(u.order.Uint16(peek)); utf16.DecodeRune(r, r2) != utf8.RuneError {
					u.r.Discard(2)
					r = utf16.DecodeRune(r, r2)
				} else {
					r = utf8.RuneError
				}
			} else {
				r = utf8.RuneError
			}
		}
		u.pending = utf8.AppendRune(u.pending, r)
	}
}
