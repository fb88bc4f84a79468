package format

import (
	"encoding/json"
	"unicode/utf8"
)

// Picking: a json (JSON Lines) decoder that is told which property paths the
// mapping reads extracts only those values from each line, instead of
// building a map[string]any of the whole record that the binder then looks
// into. Everything else on the line is validated exactly as the full parser
// validates it (same depth limit, same lenient syntax) but not kept, so the
// records, the malformed-line errors and the values the binder sees are the
// ones a full decode gives.

// Picked is the value at a picked path of one record. Scalars stay text,
// so that picking boxes nothing: the binder converts the text straight to
// its column's type.
type Picked struct {
	Kind PickedKind
	// Text is the decoded string (PickedString), the number as written
	// (PickedNumber), or the object's or array's dynamic text (PickedJSON,
	// see jsontext.go).
	Text string
	// Value is the decoded array or object (PickedOther).
	Value any
}

// PickedKind says what a picked path holds.
type PickedKind uint8

const (
	// PickedMissing: the record has no value at the path (a property is
	// absent, or a step goes through something that is not an object). A
	// mapped value that is missing is null; a JSON null is present.
	PickedMissing PickedKind = iota
	PickedNull
	PickedFalse
	PickedTrue
	PickedString
	PickedNumber
	PickedOther
	// PickedJSON: an object or array at a path picked as text
	// (NewPicksWithText), in Text as a dynamic column stores it.
	PickedJSON
)

// Any is the value as a full decode gives it (see Record): nil, bool,
// string, json.Number, []any or map[string]any. ok is false when missing.
func (v Picked) Any() (value any, ok bool) {
	switch v.Kind {
	case PickedMissing:
		return nil, false
	case PickedNull:
		return nil, true
	case PickedFalse:
		return false, true
	case PickedTrue:
		return true, true
	case PickedString:
		return v.Text, true
	case PickedNumber:
		return json.Number(v.Text), true
	case PickedJSON:
		// The text is valid JSON written by appendText: parsing it gives
		// the value a full decode gives.
		value, err := parseJSON([]byte(v.Text))
		return value, err == nil
	}
	return v.Value, true
}

// pickedOf is the Picked form of a fully decoded value.
func pickedOf(v any) Picked {
	switch x := v.(type) {
	case nil:
		return Picked{Kind: PickedNull}
	case bool:
		if x {
			return Picked{Kind: PickedTrue}
		}
		return Picked{Kind: PickedFalse}
	case string:
		return Picked{Kind: PickedString, Text: x}
	case json.Number:
		return Picked{Kind: PickedNumber, Text: string(x)}
	}
	return Picked{Kind: PickedOther, Value: v}
}

// Picks is the set of property paths a json decoder extracts from every
// record (Options.Picks); Record.Picked[i] is the value at path i.
type Picks struct {
	root  *pickNode
	paths [][]string
}

type pickNode struct {
	children map[string]*pickNode
	// names and kids hold the same children for a linear search, faster
	// than the map for the few names a node usually has.
	names []string
	kids  []*pickNode
	// plain[i]: names[i] has no quote, backslash or control byte, so the
	// input spells it exactly as it is (see pickKey).
	plain []bool
	index int   // this node's place in its parent's names and kids
	slot  int   // >= 0 for a picked path's last step
	text  bool  // a picked object or array is wanted as text (PickedJSON)
	under []int // slots at or below this node, reset when the node is seen again
}

// NewPicks compiles property paths (each a non-empty list of property
// names, from the record's top level down). ok is false when picking
// cannot reproduce what a full decode gives: an empty path (the whole
// record) or a path that is a prefix of another one.
func NewPicks(paths [][]string) (*Picks, bool) { return NewPicksWithText(paths, nil) }

// NewPicksWithText is NewPicks where asText[i] asks for the object or array
// at path i as the JSON text a dynamic column stores (PickedJSON) instead
// of decoded (PickedOther). asText may be nil or shorter than paths.
func NewPicksWithText(paths [][]string, asText []bool) (*Picks, bool) {
	root := &pickNode{slot: -1}
	for i, p := range paths {
		if len(p) == 0 {
			return nil, false
		}
		n := root
		for j, key := range p {
			if n.slot >= 0 {
				return nil, false // an earlier path ends here: it is a prefix of this one
			}
			n.under = append(n.under, i)
			child := n.children[key]
			if child == nil {
				child = &pickNode{slot: -1, index: len(n.names)}
				if n.children == nil {
					n.children = map[string]*pickNode{}
				}
				n.children[key] = child
				n.names, n.kids = append(n.names, key), append(n.kids, child)
				n.plain = append(n.plain, plainName(key))
			}
			n = child
			if j == len(p)-1 {
				if n.slot >= 0 || len(n.children) > 0 {
					return nil, false // the same path twice, or a prefix of an earlier one
				}
				n.slot = i
				n.text = i < len(asText) && asText[i]
				n.under = append(n.under, i)
			}
		}
	}
	return &Picks{root: root, paths: paths}, true
}

// Len is the number of paths.
func (ps *Picks) Len() int { return len(ps.paths) }

// lookup fills out from a fully decoded record: the fallback when picking
// fails, so that a line is judged by the full parser alone.
func (ps *Picks) lookup(v any, out []Picked) {
	for i, p := range ps.paths {
		cur, ok := v, true
		for _, key := range p {
			obj, isObj := cur.(map[string]any)
			if !isObj {
				ok = false
				break
			}
			if cur, ok = obj[key]; !ok {
				break
			}
		}
		if ok {
			out[i] = pickedOf(cur)
		} else {
			out[i] = Picked{}
		}
	}
}

// pick parses one line, storing the picked values in out (len ps.Len(),
// all zero: a path the line does not have stays PickedMissing). An error
// means only that picking did not succeed; the caller then parses the line
// in full, which gives the error message, and fills all of out.
func (p *jsonParser) pick(ps *Picks, out []Picked) error {
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == '{' {
		if err := p.pickObject(ps.root, 1, out); err != nil {
			return err
		}
	} else if err := p.skip(0); err != nil {
		return err
	}
	p.skipSpace()
	if p.pos < len(p.data) {
		return p.errorf("unexpected data after the value")
	}
	return nil
}

// pickObject reads an object at depth whose picked members are below n.
func (p *jsonParser) pickObject(n *pickNode, depth int, out []Picked) error {
	p.pos++ // '{'
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		return nil
	}
	next := 0 // the index in n.names of the name expected next
	for {
		p.skipSpace()
		if p.pos >= len(p.data) || !p.isQuote(p.data[p.pos]) {
			return p.errorf("expected a property name in double quotes")
		}
		child, err := p.pickKey(n, &next)
		if err != nil {
			return err
		}
		p.skipSpace()
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			return p.errorf("expected ':' after a property name")
		}
		p.pos++
		p.skipSpace()
		switch {
		case child == nil:
			err = p.skip(depth)
		case child.slot >= 0:
			// A repeated name: the last one wins, as in a map.
			err = p.pickValue(depth, &out[child.slot], child.text)
		default:
			// A repeated name replaces what an earlier member gave.
			for _, s := range child.under {
				out[s] = Picked{}
			}
			if p.pos < len(p.data) && p.data[p.pos] == '{' {
				if depth >= maxJSONDepth {
					return p.errorf("nesting is deeper than %d", maxJSONDepth)
				}
				err = p.pickObject(child, depth+1, out)
			} else {
				err = p.skip(depth)
			}
		}
		if err != nil {
			return err
		}
		p.skipSpace()
		if p.pos >= len(p.data) {
			return p.errorf("the object is not closed")
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
		case '}':
			p.pos++
			return nil
		default:
			return p.errorf("expected ',' or '}' after an object member")
		}
	}
}

// pickValue reads a picked value into dst. The text of strings and
// numbers (and of objects and arrays when asText) goes to p.arena and
// reaches dst.Text when the batch is complete.
func (p *jsonParser) pickValue(depth int, dst *Picked, asText bool) error {
	if p.pos >= len(p.data) {
		return p.errorf("the value is incomplete")
	}
	d := p.data
	switch c := d[p.pos]; {
	case p.isQuote(c):
		if start, end, ok := p.stringSpan(); ok {
			p.pickSpan(dst, PickedString, start, end)
			return nil
		}
		text, err := p.stringBytes()
		if err != nil {
			return err
		}
		p.arena.add(dst, PickedString, text)
		return nil
	case c == '-' || c >= '0' && c <= '9':
		start := p.pos
		end, err := p.numberEnd()
		if err != nil {
			return err
		}
		p.pickSpan(dst, PickedNumber, start, end)
		return nil
	case asText && (c == '{' || c == '['):
		from := len(p.arena.buf)
		var err error
		if p.arena.buf, err = p.appendText(p.arena.buf, depth); err != nil {
			return err // the line's mark is undone by the caller
		}
		p.arena.ref(dst, PickedJSON, from)
		return nil
	}
	v, err := p.value(depth)
	if err != nil {
		return err
	}
	*dst = pickedOf(v)
	return nil
}

// pickSpan sets dst to the input's text at [start, end). With a base (the
// batch's text as one string, see deferredLines) it is a substring of it:
// no copy, no reference to fill in later. An earlier value of dst waiting
// in the arena (a repeated name whose first value had escapes) must then
// not be filled over it: its reference is dropped.
func (p *jsonParser) pickSpan(dst *Picked, kind PickedKind, start, end int) {
	if p.base == "" {
		p.arena.add(dst, kind, p.data[start:end])
		return
	}
	for i := p.lineRefs; i < len(p.arena.refs); i++ {
		if p.arena.refs[i].dst == dst {
			p.arena.refs[i].dst = nil
		}
	}
	*dst = Picked{Kind: kind, Text: p.base[p.baseOff+start : p.baseOff+end]}
}

// pickArena collects the text of a batch's picked strings and numbers, so
// that they become one string (one allocation per batch, not per value).
type pickArena struct {
	buf  []byte
	refs []pickRef
}

type pickRef struct {
	dst      *Picked
	from, to int
}

func (a *pickArena) add(dst *Picked, kind PickedKind, text []byte) {
	from := len(a.buf)
	a.buf = append(a.buf, text...)
	a.ref(dst, kind, from)
}

// ref makes the text added to buf since from dst's.
func (a *pickArena) ref(dst *Picked, kind PickedKind, from int) {
	*dst = Picked{Kind: kind}
	a.refs = append(a.refs, pickRef{dst: dst, from: from, to: len(a.buf)})
}

// mark and undo drop what a line added when it is parsed again in full.
func (a *pickArena) mark() (int, int) { return len(a.buf), len(a.refs) }
func (a *pickArena) undo(buf, refs int) {
	a.buf, a.refs = a.buf[:buf], a.refs[:refs]
}

// fill sets the Text of every value added since the last fill. Refs are in
// input order, so a repeated name's last value wins; a ref to a value
// replaced by a non-text one sets a Text nothing reads.
func (a *pickArena) fill() {
	if len(a.refs) == 0 {
		return
	}
	all := string(a.buf)
	for _, r := range a.refs {
		if r.dst != nil { // nil: replaced by a later value (pickSpan)
			r.dst.Text = all[r.from:r.to]
		}
	}
	clear(a.refs) // drop the pointers into the batch
	a.buf, a.refs = a.buf[:0], a.refs[:0]
}

// pickKey reads a property name and returns n's child of that name (nil
// when no picked path goes through it), without allocating for plain names.
// next is the index of the child expected (see child).
func (p *jsonParser) pickKey(n *pickNode, next *int) (*pickNode, error) {
	// The name expected next, spelled plainly, is matched in place
	// without scanning the string first.
	if i := *next; i < len(n.names) && n.plain[i] {
		d, name := p.data, n.names[i]
		if end := p.pos + 1 + len(name); end < len(d) && d[end] == d[p.pos] && string(d[p.pos+1:end]) == name {
			p.pos = end + 1
			*next = i + 1
			return n.kids[i], nil
		}
	}
	name, err := p.stringBytes()
	if err != nil {
		return nil, err
	}
	return n.child(name, next), nil
}

// plainName reports whether a JSON string holding exactly name's bytes is
// name: no quote, backslash or control byte, valid UTF-8.
func plainName(name string) bool {
	for i := 0; i < len(name); i++ {
		if c := name[i]; c == '"' || c == '\'' || c == '\\' || c < 0x20 {
			return false
		}
	}
	return utf8.ValidString(name)
}

// child is the child named name, or nil. Records usually list their
// members in the order of the mapping's paths, so the name after the last
// one found (*next) is tried first: one comparison per member instead of a
// search.
func (n *pickNode) child(name []byte, next *int) *pickNode {
	if i := *next; i < len(n.names) && n.names[i] == string(name) {
		*next = i + 1
		return n.kids[i]
	}
	if len(n.names) > 8 {
		c := n.children[string(name)] // this lookup does not allocate
		if c != nil {
			*next = c.index + 1
		}
		return c
	}
	for i, k := range n.names {
		if k == string(name) {
			*next = i + 1
			return n.kids[i]
		}
	}
	return nil
}

// skip validates the value at p.pos (at depth, as value(depth) counts it)
// and moves past it without building it.
func (p *jsonParser) skip(depth int) error {
	if p.pos >= len(p.data) {
		return p.errorf("the value is incomplete")
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		if depth >= maxJSONDepth {
			return p.errorf("nesting is deeper than %d", maxJSONDepth)
		}
		return p.skipObject(depth + 1)
	case c == '[':
		if depth >= maxJSONDepth {
			return p.errorf("nesting is deeper than %d", maxJSONDepth)
		}
		return p.skipArray(depth + 1)
	case p.isQuote(c):
		return p.skipString()
	case c == '-' || c >= '0' && c <= '9':
		_, err := p.numberEnd()
		return err
	case c == 't':
		_, err := p.literal("true", true)
		return err
	case c == 'f':
		_, err := p.literal("false", false)
		return err
	case c == 'n':
		_, err := p.literal("null", nil)
		return err
	default:
		return p.errorf("invalid character %q looking for the beginning of a value", c)
	}
}

func (p *jsonParser) skipObject(depth int) error {
	p.pos++ // '{'
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		return nil
	}
	for {
		p.skipSpace()
		if p.pos >= len(p.data) || !p.isQuote(p.data[p.pos]) {
			return p.errorf("expected a property name in double quotes")
		}
		if err := p.skipString(); err != nil {
			return err
		}
		p.skipSpace()
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			return p.errorf("expected ':' after a property name")
		}
		p.pos++
		p.skipSpace()
		if err := p.skip(depth); err != nil {
			return err
		}
		p.skipSpace()
		if p.pos >= len(p.data) {
			return p.errorf("the object is not closed")
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
		case '}':
			p.pos++
			return nil
		default:
			return p.errorf("expected ',' or '}' after an object member")
		}
	}
}

func (p *jsonParser) skipArray(depth int) error {
	p.pos++ // '['
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		return nil
	}
	for {
		p.skipSpace()
		if err := p.skip(depth); err != nil {
			return err
		}
		p.skipSpace()
		if p.pos >= len(p.data) {
			return p.errorf("the array is not closed")
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
		case ']':
			p.pos++
			return nil
		default:
			return p.errorf("expected ',' or ']' after an array element")
		}
	}
}

// skipString validates a string as str does, allocating only for one with
// escapes.
func (p *jsonParser) skipString() error {
	d := p.data
	q := d[p.pos]
	for i := p.pos + 1; i < len(d); i++ {
		c := d[i]
		if c == q {
			p.pos = i + 1 // invalid UTF-8 is replaced, never an error
			return nil
		}
		if c == '\\' {
			_, err := p.str()
			return err
		}
		if c < 0x20 {
			p.pos = i
			return p.errorf("invalid control character in a string")
		}
	}
	p.pos = len(d)
	return p.errorf("the string is not closed")
}
