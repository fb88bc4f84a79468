// Package dynshape describes the shape of Kusto dynamic (JSON) values: the
// leaf paths treepath() lists and the schema buildschema() infers. Property
// order is kept as the values give it, which encoding/json's maps would lose.
package dynshape

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
)

// node is a parsed JSON value that keeps the order of object properties.
type node struct {
	kind  string // "object", "array" or a Kusto type name: long, real, string, bool, null
	keys  []string
	items []*node // property values (object) or elements (array)
}

func parse(text string) (*node, error) {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	n, err := parseValue(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("dynshape: trailing data after the JSON value")
	}
	return n, nil
}

func parseValue(dec *json.Decoder) (*node, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch v := tok.(type) {
	case json.Delim:
		switch v {
		case '{':
			n := &node{kind: "object"}
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				child, err := parseValue(dec)
				if err != nil {
					return nil, err
				}
				n.keys = append(n.keys, k.(string))
				n.items = append(n.items, child)
			}
			_, err := dec.Token()
			return n, err
		case '[':
			n := &node{kind: "array"}
			for dec.More() {
				child, err := parseValue(dec)
				if err != nil {
					return nil, err
				}
				n.items = append(n.items, child)
			}
			_, err := dec.Token()
			return n, err
		}
		return nil, fmt.Errorf("dynshape: unexpected %v", v)
	case json.Number:
		if strings.ContainsAny(v.String(), ".eE") {
			return &node{kind: "double"}, nil
		}
		return &node{kind: "long"}, nil
	case string:
		return &node{kind: "string"}, nil
	case bool:
		return &node{kind: "bool"}, nil
	}
	return &node{kind: "null"}, nil
}

// TreePath lists the paths of a dynamic value's properties, as treepath()
// does: every property as ['name'], array elements collapsed to [0], in the
// order they first appear, each once.
func TreePath(text string) ([]string, error) {
	n, err := parse(text)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	paths := []string{}
	var walk func(n *node, prefix string)
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			paths = append(paths, p)
		}
	}
	walk = func(n *node, prefix string) {
		switch n.kind {
		case "object":
			for i, k := range n.keys {
				p := prefix + "['" + strings.ReplaceAll(strings.ReplaceAll(k, `\`, `\\`), "'", `\'`) + "']"
				add(p)
				walk(n.items[i], p)
			}
		case "array":
			if len(n.items) > 0 {
				p := prefix + "[0]"
				add(p)
				for _, it := range n.items {
					walk(it, p)
				}
			}
		}
	}
	walk(n, "")
	return paths, nil
}

// schema is the union of the shapes seen at one place: primitive type names,
// at most one object shape and at most one array shape, in first-seen order.
type schema struct {
	order   []string // "long", "string", ..., "{}" for the object, "[]" for the array
	props   []string
	propSch map[string]*schema
	indexer *schema
}

// note adds kind to the alternatives; false when it was there already.
func (s *schema) note(kind string) bool {
	if slices.Contains(s.order, kind) {
		return false
	}
	s.order = append(s.order, kind)
	return true
}

func (s *schema) add(n *node) {
	switch n.kind {
	case "null":
		// nulls fit every schema
	case "object":
		if s.note("{}") {
			s.propSch = map[string]*schema{}
		}
		for i, k := range n.keys {
			if n.items[i].kind == "null" {
				continue
			}
			ps, ok := s.propSch[k]
			if !ok {
				ps = &schema{}
				s.propSch[k] = ps
				s.props = append(s.props, k)
			}
			ps.add(n.items[i])
		}
	case "array":
		if s.note("[]") {
			s.indexer = &schema{}
		}
		for _, it := range n.items {
			s.indexer.add(it)
		}
	default:
		s.note(n.kind)
	}
}

// write renders the schema as buildschema() does: one alternative as itself,
// several as an array; objects as {"prop": schema}; arrays as
// {"`indexer`": schema}.
func (s *schema) write(b *bytes.Buffer) {
	if len(s.order) != 1 {
		b.WriteByte('[')
	}
	for i, k := range s.order {
		if i > 0 {
			b.WriteByte(',')
		}
		switch k {
		case "{}":
			b.WriteByte('{')
			first := true
			for _, p := range s.props {
				ps := s.propSch[p]
				if len(ps.order) == 0 {
					continue
				}
				if !first {
					b.WriteByte(',')
				}
				first = false
				name, _ := json.Marshal(p)
				b.Write(name)
				b.WriteByte(':')
				ps.write(b)
			}
			b.WriteByte('}')
		case "[]":
			b.WriteString("{\"`indexer`\":")
			if len(s.indexer.order) == 0 {
				b.WriteString("null")
			} else {
				s.indexer.write(b)
			}
			b.WriteByte('}')
		default:
			b.WriteString(`"` + k + `"`)
		}
	}
	if len(s.order) != 1 {
		b.WriteByte(']')
	}
}

// BuildSchema is the minimal schema that admits every value of a JSON array
// of dynamic values, or "null" when no value has a shape (all null).
// Values that are not valid JSON are skipped.
func BuildSchema(valuesJSON string) (string, error) {
	all, err := parse(valuesJSON)
	if err != nil {
		return "", err
	}
	if all.kind != "array" {
		return "", fmt.Errorf("dynshape: BuildSchema needs a JSON array of values")
	}
	s := &schema{}
	for _, v := range all.items {
		s.add(v)
	}
	if len(s.order) == 0 {
		return "null", nil
	}
	var b bytes.Buffer
	s.write(&b)
	return b.String(), nil
}
