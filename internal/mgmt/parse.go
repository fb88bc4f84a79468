package mgmt

import (
	"strings"

	"odx/internal/kerr"
	"odx/internal/kql/schema"
	"odx/internal/kql/types"
)

// command is one parsed management command. kind names it canonically
// (".create table", ".show extents", ...) and selects its executor; the
// other fields are filled as the command's syntax provides them.
type command struct {
	kind string
	text string // the whole command

	db          string // database named by the command ("" = the request's)
	table       string
	tables      []string
	tableSpecs  []tableSpec
	props       map[string]string // with (...) properties, keys lowercased
	ifExists    bool
	ifNotExists bool
	volatile    bool
	role        string
	principals  []string
	notes       string
	policyKind  string
	policy      string // JSON text, or "" with policyArgs
	policyArgs  map[string]string
	mappingKind string
	mappingName string
	mappingText string
	query       string // text after <|
	queryPos    int
	asJSON      bool
	details     bool
	fn          schema.Function
	pairs       [][2]string
	column      string
	colType     types.Type
	extentIDs   []string
	olderTicks  int64
	allTables   bool
	pipe        string // `| ...` after the command: KQL over its result
	pipePos     int
	tag         string // .drop extents <| ... where tags has|contains tag
	tagOp       string
	docString   *string
	folder      *string
}

type tableSpec struct {
	name    string
	columns []schema.Column
}

type parser struct {
	err  error // the first scanning error; it wins over any later complaint
	sc   scanner
	tok  token // current token
	prev int   // end of the previous token
}

// parse reads one management command.
func parse(text string) (*command, error) {
	p := &parser{sc: scanner{src: text}}
	if err := p.advance(); err != nil {
		return nil, err
	}
	if p.tok.kind != tokCommand {
		return nil, p.errorf("expected a management command such as '.show tables', found %s", p.tok.describe())
	}
	verb := p.tok.text
	if err := p.advance(); err != nil {
		return nil, err
	}
	var c *command
	var err error
	switch verb {
	case ".create", ".create-merge", ".create-or-alter", ".alter", ".alter-merge":
		c, err = p.createAlter(verb)
	case ".drop":
		c, err = p.drop()
	case ".show":
		c, err = p.show()
	case ".add", ".set", ".append", ".set-or-append", ".set-or-replace":
		c, err = p.addSet(verb)
	case ".rename":
		c, err = p.rename()
	case ".delete":
		c, err = p.deletePolicy()
	default:
		return nil, kerr.Syntax(1, 1, "unknown management command '%s'", verb)
	}
	if p.err != nil {
		return nil, p.err
	}
	if err != nil {
		return nil, err
	}
	c.text = text
	if c.query == "" && p.isPunct("|") {
		// `.show tables | where ...`: KQL over the command's result.
		c.pipe, c.pipePos = text[p.tok.pos:], p.tok.pos
		return c, nil
	}
	if c.query == "" && p.isPunct(";") {
		p.advance()
		if p.tok.kind != tokEOF {
			return nil, p.errorf("a request holds one management command; send %s separately", p.tok.describe())
		}
	}
	if c.query == "" && p.tok.kind != tokEOF {
		return nil, p.errorf("unexpected %s after the end of the command", p.tok.describe())
	}
	return c, nil
}

func (p *parser) advance() error {
	p.prev = p.tok.end
	t, err := p.sc.scan()
	if err != nil {
		if p.err == nil {
			p.err = err
		}
		p.tok = token{kind: tokEOF, pos: len(p.sc.src), end: len(p.sc.src)}
		return err
	}
	p.tok = t
	return nil
}

func (p *parser) errorf(format string, args ...any) error {
	if p.err != nil {
		return p.err
	}
	return p.sc.errAt(p.tok.pos, format, args...)
}

// isWord reports whether the current token is the keyword w.
func (p *parser) isWord(w string) bool {
	return p.tok.kind == tokIdent && !p.tok.quoted && strings.EqualFold(p.tok.text, w)
}

func (p *parser) acceptWord(ws ...string) (string, bool) {
	for _, w := range ws {
		if p.isWord(w) {
			p.advance()
			return strings.ToLower(w), true
		}
	}
	return "", false
}

func (p *parser) expectWord(ws ...string) (string, error) {
	if w, ok := p.acceptWord(ws...); ok {
		return w, nil
	}
	return "", p.errorf("expected '%s', found %s", strings.Join(ws, "' or '"), p.tok.describe())
}

func (p *parser) isPunct(s string) bool { return p.tok.kind == tokPunct && p.tok.text == s }

func (p *parser) acceptPunct(s string) bool {
	if p.isPunct(s) {
		p.advance()
		return true
	}
	return false
}

func (p *parser) expectPunct(s string) error {
	if p.acceptPunct(s) {
		return nil
	}
	return p.errorf("expected '%s', found %s", s, p.tok.describe())
}

// name reads an entity name: an identifier or a bracketed name.
func (p *parser) name(what string) (string, error) {
	if p.tok.kind == tokIdent {
		n := p.tok.text
		p.advance()
		return n, nil
	}
	return "", p.errorf("expected a %s name, found %s", what, p.tok.describe())
}

// nameOrString accepts a name or a string literal (mapping names, FQNs).
func (p *parser) nameOrString(what string) (string, error) {
	if p.tok.kind == tokString {
		// One literal only: a mapping name is followed by the mapping's own literals.
		v := p.tok.text
		return v, p.advance()
	}
	return p.name(what)
}

// str reads a string literal; adjacent literals are concatenated.
func (p *parser) str() (string, error) {
	if p.tok.kind != tokString {
		return "", p.errorf("expected a string literal, found %s", p.tok.describe())
	}
	var b strings.Builder
	for p.tok.kind == tokString {
		b.WriteString(p.tok.text)
		if err := p.advance(); err != nil {
			return "", err
		}
	}
	return b.String(), nil
}

// rawQuery takes everything after `<|` as the command's input.
func (p *parser) rawQuery(c *command) error {
	if !p.isPunct("<|") {
		return p.errorf("expected '<|' followed by the input, found %s", p.tok.describe())
	}
	c.queryPos = p.tok.end
	c.query = p.sc.src[p.tok.end:]
	if strings.TrimSpace(c.query) == "" {
		return p.errorf("expected input after '<|'")
	}
	p.sc.pos = len(p.sc.src)
	p.tok = token{kind: tokEOF, pos: len(p.sc.src), end: len(p.sc.src)}
	return nil
}

// columns reads `(a:string, ['b c']:long)`.
func (p *parser) columnList() ([]schema.Column, error) {
	if err := p.expectPunct("("); err != nil {
		return nil, err
	}
	var cols []schema.Column
	for !p.isPunct(")") {
		n, err := p.name("column")
		if err != nil {
			return nil, err
		}
		if err := p.expectPunct(":"); err != nil {
			return nil, err
		}
		typTok := p.tok
		tn, err := p.name("type")
		if err != nil {
			return nil, err
		}
		t, ok := types.Parse(tn)
		if !ok {
			return nil, p.sc.errAt(typTok.pos, "unknown type '%s'; use one of bool, int, long, real, decimal, datetime, timespan, string, guid, dynamic", tn)
		}
		cols = append(cols, schema.Column{Name: n, Type: t})
		if !p.acceptPunct(",") && !p.isPunct(")") {
			return nil, p.errorf("expected ',' or ')', found %s", p.tok.describe())
		}
	}
	p.advance()
	return cols, nil
}

// nameList reads `(a, b, c)`.
func (p *parser) nameList(what string) ([]string, error) {
	if err := p.expectPunct("("); err != nil {
		return nil, err
	}
	var out []string
	for !p.isPunct(")") {
		n, err := p.nameOrString(what)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
		if !p.acceptPunct(",") && !p.isPunct(")") {
			return nil, p.errorf("expected ',' or ')', found %s", p.tok.describe())
		}
	}
	p.advance()
	return out, nil
}

// withProps reads an optional `with (k = v, ...)`.
func (p *parser) withProps(c *command) error {
	if _, ok := p.acceptWord("with"); !ok {
		return nil
	}
	if err := p.expectPunct("("); err != nil {
		return err
	}
	if c.props == nil {
		c.props = map[string]string{}
	}
	for !p.isPunct(")") {
		k, err := p.name("property")
		if err != nil {
			return err
		}
		if err := p.expectPunct("="); err != nil {
			return err
		}
		v, err := p.value()
		if err != nil {
			return err
		}
		c.props[strings.ToLower(k)] = v
		if !p.acceptPunct(",") && !p.isPunct(")") {
			return p.errorf("expected ',' or ')', found %s", p.tok.describe())
		}
	}
	return p.expectPunct(")")
}

// value reads a property value: a string, a name, a number, or a call
// such as datetime(2020-01-01), returned as written.
func (p *parser) value() (string, error) {
	switch p.tok.kind {
	case tokString:
		return p.str()
	case tokNumber:
		v := p.tok.text
		p.advance()
		return v, nil
	case tokIdent:
		start := p.tok.pos
		v := p.tok.text
		p.advance()
		if p.isPunct("(") {
			end, err := matchClose(p.sc.src, p.tok.pos)
			if err != nil {
				return "", p.errorf("%v", err)
			}
			p.sc.pos = end
			p.advance()
			return p.sc.src[start:end], nil
		}
		return v, nil
	case tokPunct:
		if p.tok.text == "-" {
			p.advance()
			v, err := p.value()
			return "-" + v, err
		}
	}
	return "", p.errorf("expected a value, found %s", p.tok.describe())
}

// tableColumnRef reads `T.c` or `['T'].['c']` (and `D.T.c`).
func (p *parser) tableColumnRef(c *command) error {
	parts := []string{}
	for {
		n, err := p.name("column")
		if err != nil {
			return err
		}
		parts = append(parts, n)
		if !p.acceptPunct(".") {
			break
		}
	}
	switch len(parts) {
	case 2:
		c.table, c.column = parts[0], parts[1]
	case 3:
		c.db, c.table, c.column = parts[0], parts[1], parts[2]
	default:
		return p.errorf("expected TableName.ColumnName")
	}
	return nil
}

// qualifiedTable reads `T` or `D.T`; a database prefix goes to c.db.
func (p *parser) qualifiedTable(c *command) (string, error) {
	n, err := p.name("table")
	if err != nil {
		return "", err
	}
	if p.isPunct(".") && p.tok.pos == p.prev {
		p.advance()
		t, err := p.name("table")
		if err != nil {
			return "", err
		}
		c.db = n
		return t, nil
	}
	return n, nil
}

// atEnd reports whether the command's own syntax is over.
func (p *parser) atEnd() bool {
	return p.tok.kind == tokEOF || p.isPunct(";") || p.isPunct("|")
}
