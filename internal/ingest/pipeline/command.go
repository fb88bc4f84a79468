package pipeline

import (
	"strings"
	"unicode"

	"odx/internal/kerr"
)

// ingestCommand is a parsed `.ingest [async] into table T (sources) [with (...)]`
// or `.ingest [async] inline into table T [with (...)] <| data`.
type ingestCommand struct {
	async   bool
	inline  bool
	table   string
	sources []string
	props   [][2]string
	data    string // after <| for inline
}

// cmdScanner reads the tokens of the commands the pipeline owns.
type cmdScanner struct {
	src string
	pos int
}

func (s *cmdScanner) errorf(format string, args ...any) error {
	line, col := 1, 1
	for _, r := range s.src[:min(s.pos, len(s.src))] {
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return kerr.Syntax(line, col, format, args...)
}

func (s *cmdScanner) skipSpace() {
	for s.pos < len(s.src) {
		if strings.HasPrefix(s.src[s.pos:], "//") {
			for s.pos < len(s.src) && s.src[s.pos] != '\n' {
				s.pos++
			}
			continue
		}
		if !unicode.IsSpace(rune(s.src[s.pos])) {
			return
		}
		s.pos++
	}
}

func (s *cmdScanner) eof() bool { s.skipSpace(); return s.pos >= len(s.src) }

// word reads an identifier-like word (letters, digits, _, -, .).
func (s *cmdScanner) word() string {
	s.skipSpace()
	start := s.pos
	for s.pos < len(s.src) {
		c := s.src[s.pos]
		if c == '_' || c == '-' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80 {
			s.pos++
			continue
		}
		break
	}
	return s.src[start:s.pos]
}

// keyword consumes kw (case-insensitive) when it comes next.
func (s *cmdScanner) keyword(kw string) bool {
	save := s.pos
	if w := s.word(); strings.EqualFold(w, kw) {
		return true
	}
	s.pos = save
	return false
}

func (s *cmdScanner) expect(kw string) error {
	if !s.keyword(kw) {
		return s.errorf("expected '%s', found %s", kw, s.describe())
	}
	return nil
}

func (s *cmdScanner) describe() string {
	s.skipSpace()
	if s.pos >= len(s.src) {
		return "the end of the command"
	}
	end := s.pos + 1
	for end < len(s.src) && end < s.pos+20 && !unicode.IsSpace(rune(s.src[end])) {
		end++
	}
	return "'" + s.src[s.pos:end] + "'"
}

func (s *cmdScanner) punct(c byte) bool {
	s.skipSpace()
	if s.pos < len(s.src) && s.src[s.pos] == c {
		s.pos++
		return true
	}
	return false
}

// stringLit reads a Kusto string literal: '...' or "..." with backslash
// escapes, @'...' verbatim (a quote doubled), ```...``` multi-line, each
// optionally obfuscated with an h or H prefix (h'secret').
func (s *cmdScanner) stringLit() (string, bool, error) {
	s.skipSpace()
	p := s.pos
	if p < len(s.src) && (s.src[p] == 'h' || s.src[p] == 'H') && p+1 < len(s.src) && strings.ContainsRune(`'"@`+"`", rune(s.src[p+1])) {
		p++
	}
	verbatim := false
	if p < len(s.src) && s.src[p] == '@' {
		verbatim = true
		p++
	}
	if p >= len(s.src) {
		return "", false, nil
	}
	if strings.HasPrefix(s.src[p:], "```") {
		end := strings.Index(s.src[p+3:], "```")
		if end < 0 {
			s.pos = p
			return "", false, s.errorf("a ``` string is not closed")
		}
		s.pos = p + 3 + end + 3
		return s.src[p+3 : p+3+end], true, nil
	}
	q := s.src[p]
	if q != '\'' && q != '"' {
		return "", false, nil
	}
	var b strings.Builder
	for i := p + 1; i < len(s.src); i++ {
		c := s.src[i]
		switch {
		case c == q && verbatim && i+1 < len(s.src) && s.src[i+1] == q:
			b.WriteByte(q)
			i++
		case c == q:
			s.pos = i + 1
			return b.String(), true, nil
		case c == '\\' && !verbatim && i+1 < len(s.src):
			i++
			switch s.src[i] {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			default:
				b.WriteByte(s.src[i])
			}
		case c == '\n' && !verbatim:
			s.pos = p
			return "", false, s.errorf("a string literal is not closed on its line")
		default:
			b.WriteByte(c)
		}
	}
	s.pos = p
	return "", false, s.errorf("a string literal is not closed")
}

// name reads a table name: an identifier, ['name'] or a quoted string.
func (s *cmdScanner) name() (string, error) {
	s.skipSpace()
	if s.punct('[') {
		v, ok, err := s.stringLit()
		if err != nil || !ok {
			return "", s.errorf("expected a quoted name inside [ ]")
		}
		if !s.punct(']') {
			return "", s.errorf("expected ']' after the bracketed name")
		}
		return v, nil
	}
	if v, ok, err := s.stringLit(); ok || err != nil {
		return v, err
	}
	w := s.word()
	if w == "" {
		return "", s.errorf("expected a table name, found %s", s.describe())
	}
	return w, nil
}

// parseIngest reads an .ingest command.
func parseIngest(text string) (*ingestCommand, error) {
	s := &cmdScanner{src: text}
	s.skipSpace()
	if !s.punct('.') || !s.keyword("ingest") {
		return nil, s.errorf("expected '.ingest'")
	}
	c := &ingestCommand{}
	c.async = s.keyword("async")
	c.inline = s.keyword("inline")
	if err := s.expect("into"); err != nil {
		return nil, err
	}
	if err := s.expect("table"); err != nil {
		return nil, err
	}
	var err error
	if c.table, err = s.name(); err != nil {
		return nil, err
	}
	if !c.inline {
		if s.punct('(') {
			for {
				v, ok, err := s.stringLit()
				if err != nil {
					return nil, err
				}
				if !ok {
					return nil, s.errorf("expected a source URI as a string literal such as h'https://...', found %s", s.describe())
				}
				c.sources = append(c.sources, v)
				if s.punct(',') {
					continue
				}
				if !s.punct(')') {
					return nil, s.errorf("expected ',' or ')' in the list of sources, found %s", s.describe())
				}
				break
			}
		} else {
			v, ok, err := s.stringLit()
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, s.errorf("expected the sources: (h'https://...', ...) or a local path, found %s", s.describe())
			}
			c.sources = []string{v}
		}
	}
	if s.keyword("with") {
		if c.props, err = s.properties(); err != nil {
			return nil, err
		}
	}
	if c.inline {
		s.skipSpace()
		if !strings.HasPrefix(s.src[s.pos:], "<|") {
			return nil, s.errorf("expected '<|' followed by the data, found %s", s.describe())
		}
		c.data = s.src[s.pos+2:]
		// The data starts on the next line, or right after <| and blanks.
		c.data = strings.TrimLeft(c.data, " \t")
		c.data = strings.TrimPrefix(strings.TrimPrefix(c.data, "\r"), "\n")
		return c, nil
	}
	if !s.eof() && !s.punct(';') {
		return nil, s.errorf("unexpected %s after the end of the command", s.describe())
	}
	return c, nil
}

// properties reads `( name = value, ... )`. Values are string literals,
// numbers, words (true, csv) or datetime(...).
func (s *cmdScanner) properties() ([][2]string, error) {
	if !s.punct('(') {
		return nil, s.errorf("expected '(' after 'with', found %s", s.describe())
	}
	var out [][2]string
	if s.punct(')') {
		return out, nil
	}
	for {
		name := s.word()
		if name == "" {
			if v, ok, _ := s.stringLit(); ok {
				name = v
			} else {
				return nil, s.errorf("expected a property name, found %s", s.describe())
			}
		}
		if !s.punct('=') {
			return nil, s.errorf("expected '=' after property %s, found %s", name, s.describe())
		}
		v, ok, err := s.stringLit()
		if err != nil {
			return nil, err
		}
		if !ok {
			v = s.word()
			if strings.EqualFold(v, "datetime") && s.punct('(') {
				start := s.pos
				for s.pos < len(s.src) && s.src[s.pos] != ')' {
					s.pos++
				}
				v = strings.TrimSpace(s.src[start:s.pos])
				s.punct(')')
			}
			if v == "" {
				return nil, s.errorf("expected a value for property %s, found %s", name, s.describe())
			}
		}
		out = append(out, [2]string{name, v})
		if s.punct(',') {
			continue
		}
		if !s.punct(')') {
			return nil, s.errorf("expected ',' or ')' in the properties, found %s", s.describe())
		}
		return out, nil
	}
}

// showCommand is `.show operations [id | (id, ...)]` or `.show ingestion failures [with (OperationId = id)]`.
type showCommand struct {
	failures    bool
	operationID string
	ids         []string
}

func parseShow(text string) (*showCommand, error) {
	s := &cmdScanner{src: text}
	s.skipSpace()
	if !s.punct('.') || !s.keyword("show") {
		return nil, s.errorf("expected '.show'")
	}
	c := &showCommand{}
	switch {
	case s.keyword("operations"), s.keyword("operation"):
		if s.punct('(') {
			for {
				v, ok, _ := s.stringLit()
				if !ok {
					v = s.word()
				}
				if v == "" {
					return nil, s.errorf("expected an operation id, found %s", s.describe())
				}
				c.ids = append(c.ids, v)
				if s.punct(',') {
					continue
				}
				if !s.punct(')') {
					return nil, s.errorf("expected ',' or ')', found %s", s.describe())
				}
				break
			}
		} else if !s.eof() {
			v, ok, _ := s.stringLit()
			if !ok {
				v = s.word()
			}
			if v != "" {
				c.ids = []string{v}
			}
		}
	case s.keyword("ingestion"):
		if err := s.expect("failures"); err != nil {
			return nil, err
		}
		c.failures = true
		if s.keyword("with") {
			props, err := s.properties()
			if err != nil {
				return nil, err
			}
			for _, kv := range props {
				if !strings.EqualFold(kv[0], "OperationId") {
					return nil, s.errorf("'.show ingestion failures' takes only with (OperationId = <guid>), not %s", kv[0])
				}
				c.operationID = kv[1]
			}
		}
	default:
		return nil, s.errorf("expected 'operations' or 'ingestion failures', found %s", s.describe())
	}
	s.skipSpace()
	if s.pos < len(s.src) && s.src[s.pos] == '|' {
		return nil, s.errorf("odx does not run queries over this command's output yet; filter with 'with (OperationId = ...)' or read the whole list")
	}
	if !s.eof() && !s.punct(';') {
		return nil, s.errorf("unexpected %s after the end of the command", s.describe())
	}
	return c, nil
}

// Handles reports whether text is a management command the pipeline runs:
// `.ingest ...` (into from URIs, async, and inline), `.show operations` and
// `.show ingestion failures`. The management layer (or the executor that
// fronts it) hands such commands to Execute.
func Handles(text string) bool {
	s := &cmdScanner{src: text}
	s.skipSpace()
	if !s.punct('.') {
		return false
	}
	switch {
	case s.keyword("ingest"):
		return true
	case s.keyword("show"):
		return s.keyword("operations") || s.keyword("operation") || (s.keyword("ingestion") && s.keyword("failures"))
	}
	return false
}
