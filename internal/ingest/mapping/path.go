package mapping

import (
	"fmt"
	"strconv"
	"strings"
)

// path is a compiled JSONPath: a sequence of property names and array
// indexes. The empty path is `$`, the whole record.
type path []step

type step struct {
	key   string
	index int
	isIdx bool
}

// parsePath compiles the JSONPath subset ADX mappings use: `$`, `$.a.b`,
// `$['x y']`, `$["x"]`, `$[0]` and combinations such as `$.a[2]['b c']`.
func parsePath(text string) (path, error) {
	s := strings.TrimSpace(text)
	if !strings.HasPrefix(s, "$") {
		return nil, fmt.Errorf("Path %q must start with $ (the record), as in $.a.b or $['a b']", text)
	}
	var p path
	i := 1
	for i < len(s) {
		switch s[i] {
		case '.':
			i++
			j := i
			for j < len(s) && s[j] != '.' && s[j] != '[' {
				j++
			}
			if j == i {
				return nil, fmt.Errorf("Path %q has an empty property name at offset %d", text, i)
			}
			p = append(p, step{key: s[i:j]})
			i = j
		case '[':
			i++
			if i >= len(s) {
				return nil, fmt.Errorf("Path %q ends inside [", text)
			}
			if q := s[i]; q == '\'' || q == '"' {
				var key strings.Builder
				i++
				closed := false
				for i < len(s) {
					c := s[i]
					if c == '\\' && i+1 < len(s) {
						key.WriteByte(s[i+1])
						i += 2
						continue
					}
					if c == q {
						closed = true
						i++
						break
					}
					key.WriteByte(c)
					i++
				}
				if !closed || i >= len(s) || s[i] != ']' {
					return nil, fmt.Errorf("Path %q: a quoted name in [...] is not closed; write $['name']", text)
				}
				i++
				p = append(p, step{key: key.String()})
				continue
			}
			j := strings.IndexByte(s[i:], ']')
			if j < 0 {
				return nil, fmt.Errorf("Path %q: [ is not closed", text)
			}
			n, err := strconv.Atoi(strings.TrimSpace(s[i : i+j]))
			if err != nil || n < 0 {
				return nil, fmt.Errorf("Path %q: [%s] is neither an array index nor a quoted name", text, s[i:i+j])
			}
			p = append(p, step{index: n, isIdx: true})
			i += j + 1
		default:
			return nil, fmt.Errorf("Path %q: unexpected %q at offset %d; use .name, ['name'] or [index]", text, s[i], i)
		}
	}
	return p, nil
}

// lookup evaluates the path on a decoded value; ok is false when a step
// does not exist.
func (p path) lookup(v any) (any, bool) {
	for _, st := range p {
		if st.isIdx {
			arr, ok := v.([]any)
			if !ok || st.index >= len(arr) {
				return nil, false
			}
			v = arr[st.index]
			continue
		}
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		v, ok = obj[st.key]
		if !ok {
			return nil, false
		}
	}
	return v, true
}

// under reports whether q is p followed by at least one more step: q names
// a part of the value p names.
func (p path) under(q path) bool {
	if len(q) <= len(p) {
		return false
	}
	for i := range p {
		if p[i] != q[i] {
			return false
		}
	}
	return true
}

// without returns a deep copy of v with the parts named by the relative
// paths removed (DropMappedFields). Only property steps remove anything.
func without(v any, drops []path) any {
	obj, ok := v.(map[string]any)
	if !ok {
		return v
	}
	here := map[string]bool{}
	deeper := map[string][]path{}
	for _, d := range drops {
		if len(d) == 0 || d[0].isIdx {
			continue
		}
		if len(d) == 1 {
			here[d[0].key] = true
		} else {
			deeper[d[0].key] = append(deeper[d[0].key], d[1:])
		}
	}
	out := make(map[string]any, len(obj))
	for k, x := range obj {
		if here[k] {
			continue
		}
		if sub, ok := deeper[k]; ok {
			x = without(x, sub)
		}
		out[k] = x
	}
	return out
}
