// Package parser is a hand-written recursive-descent parser for KQL, with
// Pratt parsing for scalar expressions. It collects errors with line:column
// and "expected X, found Y", resynchronises at `|` and `;`, caps nesting
// depth, and never panics on any input.
package parser

import (
	"fmt"
	"strings"

	"odx/internal/kerr"
	"odx/internal/kql/ast"
	"odx/internal/kql/lexer"
	"odx/internal/kql/token"
)

// MaxDepth caps expression nesting so hostile input cannot exhaust the stack.
const MaxDepth = 200

// Error is one syntax error.
type Error struct {
	Pos          token.Pos
	Line, Column int
	Msg          string
}

func (e Error) Error() string { return fmt.Sprintf("%d:%d: %s", e.Line, e.Column, e.Msg) }

// ErrorList is every syntax error of a text, in order.
type ErrorList []Error

func (l ErrorList) Error() string {
	if len(l) == 0 {
		return "no errors"
	}
	if len(l) == 1 {
		return l[0].Error()
	}
	return fmt.Sprintf("%s (and %d more errors)", l[0].Error(), len(l)-1)
}

// Kerr converts the first error to the client-facing error.
func (l ErrorList) Kerr() *kerr.Error {
	if len(l) == 0 {
		return nil
	}
	e := l[0]
	return kerr.Syntax(e.Line, e.Column, "Syntax error: %s", e.Msg)
}

type bailout struct{}

type parser struct {
	src   *token.Source
	toks  []token.Token
	p     int
	errs  ErrorList
	depth int
}

// ParseScript parses a whole query text (statements separated by `;`).
func ParseScript(text string) (script *ast.Script, errs ErrorList) {
	p := newParser(text)
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(bailout); !ok {
				panic(r)
			}
			script, errs = nil, p.errs
		}
	}()
	script = p.parseScript()
	return script, p.errs
}

// ParseFunction parses a stored function's parameter list and body, as kept
// in the catalog: `(x:long, y:string="a")` and `{ ... }`.
func ParseFunction(params, body string) (fn *ast.FuncDecl, errs ErrorList) {
	p := newParser(params + " " + body)
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(bailout); !ok {
				panic(r)
			}
			fn, errs = nil, p.errs
		}
	}()
	fn = p.parseFuncDecl()
	if p.tok().Kind != token.EOF {
		p.expected("end of function")
	}
	return fn, p.errs
}

func newParser(text string) *parser {
	toks, lerrs := lexer.All(text)
	p := &parser{src: token.NewSource(text), toks: toks}
	for _, e := range lerrs {
		if len(p.errs) >= 20 {
			break
		}
		line, col := p.src.Position(e.Pos)
		p.errs = append(p.errs, Error{Pos: e.Pos, Line: line, Column: col, Msg: e.Msg})
	}
	return p
}

func (p *parser) tok() token.Token { return p.toks[p.p] }
func (p *parser) peek(n int) token.Token {
	if p.p+n < len(p.toks) {
		return p.toks[p.p+n]
	}
	return p.toks[len(p.toks)-1]
}
func (p *parser) next() token.Token {
	t := p.toks[p.p]
	if p.p < len(p.toks)-1 {
		p.p++
	}
	return t
}
func (p *parser) prevEnd() token.Pos {
	if p.p == 0 {
		return 0
	}
	return p.toks[p.p-1].End
}

func (p *parser) errorAt(pos token.Pos, msg string) {
	line, col := p.src.Position(pos)
	// One error per position keeps recovery from cascading.
	if n := len(p.errs); n > 0 && p.errs[n-1].Pos == pos {
		return
	}
	p.errs = append(p.errs, Error{Pos: pos, Line: line, Column: col, Msg: msg})
	if len(p.errs) > 20 {
		panic(bailout{})
	}
}

func (p *parser) expected(what string) {
	p.errorAt(p.tok().Pos, fmt.Sprintf("expected %s, found %s", what, p.tok().Describe()))
}

func (p *parser) isKw(word string) bool {
	t := p.tok()
	return t.Kind == token.Ident && !t.Quoted && t.Value == word
}
func (p *parser) isKwAt(n int, word string) bool {
	t := p.peek(n)
	return t.Kind == token.Ident && !t.Quoted && t.Value == word
}

// acceptOption consumes `word =` and reports whether it was there; the
// option's value follows.
func (p *parser) acceptOption(word string) bool {
	if !p.isKw(word) || p.peek(1).Kind != token.Assign {
		return false
	}
	p.next()
	p.next()
	return true
}

func (p *parser) expect(k token.Kind) token.Token {
	t := p.tok()
	if t.Kind != k {
		p.expected(k.String())
		return t
	}
	return p.next()
}

func (p *parser) expectKw(word string) {
	if !p.isKw(word) {
		p.expected("'" + word + "'")
		return
	}
	p.next()
}

// syncTo skips tokens until one of the kinds (at bracket depth 0) or EOF.
func (p *parser) syncTo(kinds ...token.Kind) {
	depth := 0
	for p.tok().Kind != token.EOF {
		k := p.tok().Kind
		if depth == 0 {
			for _, w := range kinds {
				if k == w {
					return
				}
			}
		}
		switch k {
		case token.LParen, token.LBrack, token.LBrace:
			depth++
		case token.RParen, token.RBrack, token.RBrace:
			if depth == 0 {
				return
			}
			depth--
		}
		p.next()
	}
}

func (p *parser) enter() {
	p.depth++
	if p.depth > MaxDepth {
		p.errorAt(p.tok().Pos, fmt.Sprintf("query nesting is deeper than the limit of %d", MaxDepth))
		panic(bailout{})
	}
}
func (p *parser) leave() { p.depth-- }

// ----- statements -----

func (p *parser) parseScript() *ast.Script {
	s := &ast.Script{Span: ast.Span{From: 0}}
	for p.tok().Kind != token.EOF {
		if p.tok().Kind == token.Semi {
			p.next()
			continue
		}
		n := len(p.errs)
		st := p.parseStmt()
		if st != nil {
			s.Stmts = append(s.Stmts, st)
		}
		if len(p.errs) > n {
			p.syncTo(token.Semi)
		}
		if p.tok().Kind == token.Semi {
			p.next()
		} else if p.tok().Kind != token.EOF {
			p.expected("';' or end of query")
			p.syncTo(token.Semi)
		}
	}
	s.To = p.prevEnd()
	return s
}

func (p *parser) parseStmt() ast.Stmt {
	start := p.tok().Pos
	switch {
	case p.isKw("let"):
		p.next()
		name := p.parseIdent()
		p.expect(token.Assign)
		var v ast.Expr
		if p.isKw("view") && p.peek(1).Kind == token.LParen {
			p.next()
		}
		if p.looksLikeFuncDecl() {
			v = p.parseFuncDecl()
		} else {
			v = p.parseExpr()
		}
		return &ast.LetStmt{Span: ast.Span{From: start, To: p.prevEnd()}, Name: name, Value: v}
	case p.isKw("declare") && p.isKwAt(1, "query_parameters"):
		p.next()
		p.next()
		p.expect(token.LParen)
		var ps []*ast.Param
		for p.tok().Kind != token.RParen && p.tok().Kind != token.EOF {
			ps = append(ps, p.parseParam())
			if p.tok().Kind != token.Comma {
				break
			}
			p.next()
		}
		p.expect(token.RParen)
		return &ast.DeclareParamsStmt{Span: ast.Span{From: start, To: p.prevEnd()}, Params: ps}
	case p.isKw("set") && p.peek(1).Kind == token.Ident:
		p.next()
		name := p.next().Value
		for p.tok().Kind == token.Dot && p.peek(1).Kind == token.Ident {
			p.next()
			name += "." + p.next().Value
		}
		var v ast.Expr
		if p.tok().Kind == token.Assign {
			p.next()
			v = p.parseUnary()
		}
		return &ast.SetStmt{Span: ast.Span{From: start, To: p.prevEnd()}, Name: name, Value: v}
	}
	x := p.parseExpr()
	return &ast.ExprStmt{Span: ast.Span{From: start, To: p.prevEnd()}, X: x}
}

// looksLikeFuncDecl reports whether `(` starts a parameter list followed by a body.
func (p *parser) looksLikeFuncDecl() bool {
	if p.tok().Kind != token.LParen {
		return false
	}
	depth := 0
	for i := p.p; i < len(p.toks); i++ {
		switch p.toks[i].Kind {
		case token.LParen:
			depth++
		case token.RParen:
			depth--
			if depth == 0 {
				return i+1 < len(p.toks) && p.toks[i+1].Kind == token.LBrace
			}
		case token.EOF, token.Pipe, token.Semi:
			return false
		}
	}
	return false
}

func (p *parser) parseParam() *ast.Param {
	start := p.tok().Pos
	prm := &ast.Param{Name: p.parseIdent()}
	p.expect(token.Colon)
	if p.tok().Kind == token.LParen {
		prm.Tabular = true
		p.next()
		p.syncTo(token.RParen)
		p.expect(token.RParen)
	} else if p.tok().Kind == token.Ident {
		prm.Type = strings.ToLower(p.next().Value)
	} else {
		p.expected("a type name")
	}
	if p.tok().Kind == token.Assign {
		p.next()
		prm.Default = p.parseUnary()
	}
	prm.Span = ast.Span{From: start, To: p.prevEnd()}
	return prm
}

func (p *parser) parseFuncDecl() *ast.FuncDecl {
	start := p.tok().Pos
	fn := &ast.FuncDecl{}
	p.expect(token.LParen)
	for p.tok().Kind != token.RParen && p.tok().Kind != token.EOF {
		fn.Params = append(fn.Params, p.parseParam())
		if p.tok().Kind != token.Comma {
			break
		}
		p.next()
	}
	p.expect(token.RParen)
	fn.Body = p.parseBody()
	fn.Span = ast.Span{From: start, To: p.prevEnd()}
	return fn
}

func (p *parser) parseBody() *ast.Body {
	start := p.tok().Pos
	b := &ast.Body{}
	p.expect(token.LBrace)
	for p.tok().Kind != token.RBrace && p.tok().Kind != token.EOF {
		if p.tok().Kind == token.Semi {
			p.next()
			continue
		}
		b.Stmts = append(b.Stmts, p.parseStmt())
		if p.tok().Kind == token.Semi {
			p.next()
		} else {
			break
		}
	}
	p.expect(token.RBrace)
	b.Span = ast.Span{From: start, To: p.prevEnd()}
	return b
}

func (p *parser) parseIdent() *ast.Ident {
	t := p.tok()
	if t.Kind == token.Ident {
		p.next()
		return &ast.Ident{Span: ast.Span{From: t.Pos, To: t.End}, Name: t.Value}
	}
	if t.Kind == token.LBrack && p.peek(1).Kind == token.String && p.peek(2).Kind == token.RBrack {
		p.next()
		s := p.next()
		p.next()
		return &ast.Ident{Span: ast.Span{From: t.Pos, To: p.prevEnd()}, Name: s.Value, Quoted: true}
	}
	p.expected("a name")
	return &ast.Ident{Span: ast.Span{From: t.Pos, To: t.Pos}, Name: ""}
}

// ----- tabular expressions -----

// parseExpr parses an expression that may continue with pipe operators.
func (p *parser) parseExpr() ast.Expr {
	p.enter()
	defer p.leave()
	x := p.parseBinary(0)
	for p.tok().Kind == token.Pipe {
		p.next()
		n := len(p.errs)
		op := p.parseOperator()
		if op != nil {
			x = &ast.Pipe{Span: ast.Span{From: x.Pos(), To: p.prevEnd()}, X: x, Op: op}
		}
		if len(p.errs) > n {
			p.syncTo(token.Pipe, token.Semi)
		}
	}
	return x
}

// operatorName reads an operator name, joining hyphenated forms (mv-expand).
func (p *parser) operatorName() (string, bool) {
	t := p.tok()
	if t.Kind != token.Ident {
		return "", false
	}
	p.next()
	name := strings.ToLower(t.Value)
	for p.tok().Kind == token.Minus && p.tok().Pos == p.prevEnd() && p.peek(1).Kind == token.Ident && p.peek(1).Pos == p.tok().End {
		p.next()
		name += "-" + strings.ToLower(p.next().Value)
	}
	return name, true
}

// opParamNames are the `name=value` options operators accept before their arguments.
var opParamNames = map[string]bool{
	"kind": true, "withsource": true, "isfuzzy": true, "bagexpansion": true, "with_itemindex": true,
	"flags": true, "source": true,
}

func (p *parser) parseOpParams() []ast.OpParam {
	var ps []ast.OpParam
	for p.tok().Kind == token.Ident {
		name := strings.ToLower(p.tok().Value)
		n := 1
		for p.peek(n).Kind == token.Dot && p.peek(n+1).Kind == token.Ident {
			name += "." + strings.ToLower(p.peek(n+1).Value)
			n += 2
		}
		if p.peek(n).Kind != token.Assign || !(opParamNames[name] || strings.HasPrefix(name, "hint.")) {
			break
		}
		for i := 0; i <= n; i++ {
			p.next()
		}
		var v ast.Expr
		if t := p.tok(); t.Kind == token.Ident {
			p.next()
			v = &ast.Ident{Span: ast.Span{From: t.Pos, To: t.End}, Name: t.Value}
		} else {
			v = p.parseUnary()
		}
		ps = append(ps, ast.OpParam{Name: name, Value: v})
	}
	return ps
}

func (p *parser) parseOperator() ast.Operator {
	start := p.tok().Pos
	name, ok := p.operatorName()
	if !ok {
		p.expected("a query operator")
		return nil
	}
	span := func() ast.Span { return ast.Span{From: start, To: p.prevEnd()} }
	switch name {
	case "where", "filter":
		pred := p.parseBinary(0)
		return &ast.Where{Span: span(), Pred: pred}
	case "project", "extend", "project-away", "project-keep", "project-rename", "project-reorder", "project-by-names", "distinct", "serialize", "print", "getschema":
		params := p.parseOpParams()
		var items []*ast.NamedExpr
		if name != "getschema" && !p.atOperatorEnd() {
			items = p.parseNamedList()
		}
		return &ast.Project{Span: span(), Name: name, Params: params, Items: items}
	case "summarize":
		s := &ast.Summarize{Params: p.parseOpParams()}
		if !p.isKw("by") && !p.atOperatorEnd() {
			s.Aggs = p.parseNamedList()
		}
		if p.isKw("by") {
			p.next()
			s.By = p.parseNamedList()
		}
		s.Span = span()
		return s
	case "count":
		c := &ast.Count{}
		if p.isKw("as") {
			p.next()
			c.As = p.parseIdent()
		}
		c.Span = span()
		return c
	case "take", "limit":
		n := p.parseBinary(0)
		return &ast.Take{Span: span(), Name: name, N: n}
	case "top":
		n := p.parseBinary(0)
		p.expectKw("by")
		keys := p.parseSortKeys()
		return &ast.Top{Span: span(), N: n, By: keys}
	case "sort", "order":
		p.expectKw("by")
		keys := p.parseSortKeys()
		return &ast.Sort{Span: span(), Name: name, Keys: keys}
	case "join", "lookup":
		j := &ast.Join{Name: name, Params: p.parseOpParams()}
		j.Right = p.parseTableArg()
		if p.isKw("on") {
			p.next()
			for {
				j.On = append(j.On, p.parseBinary(0))
				if p.tok().Kind != token.Comma {
					break
				}
				p.next()
			}
		}
		j.Span = span()
		return j
	case "union":
		return p.parseUnion(start)
	case "mv-apply":
		m := p.parseMvItems()
		m.Span = span()
		ma := &ast.MvApply{Expand: m}
		p.expectKw("on")
		ma.Ops = p.parseSubOperators()
		ma.Span = span()
		return ma
	case "top-hitters":
		th := &ast.TopHitters{N: p.parseBinary(0)}
		p.expectKw("of")
		th.Of = p.parseNamed()
		if p.isKw("by") {
			p.next()
			th.By = p.parseBinary(0)
		}
		th.Span = span()
		return th
	case "partition":
		pt := &ast.Partition{Params: p.parseOpParams()}
		p.expectKw("by")
		pt.By = p.parseIdent()
		pt.Ops = p.parseSubOperators()
		pt.Span = span()
		return pt
	case "mv-expand":
		m := p.parseMvItems()
		m.Span = span()
		return m
	case "parse", "parse-where":
		return p.parseParse(start, name)
	case "as":
		a := &ast.As{Params: p.parseOpParams()}
		a.Name = p.parseIdent()
		a.Span = span()
		return a
	case "render":
		r := &ast.Render{}
		if p.tok().Kind == token.Ident {
			r.Kind = p.next().Value
		} else {
			p.expected("a visualization kind")
		}
		if p.isKw("with") {
			p.next()
			p.expect(token.LParen)
			if p.tok().Kind != token.RParen {
				r.Props = p.parseNamedList()
			}
			p.expect(token.RParen)
		}
		r.Span = span()
		return r
	case "parse-kv":
		kv := &ast.ParseKV{X: p.parseBinary(0)}
		p.expectKw("as")
		p.expect(token.LParen)
		for p.tok().Kind != token.RParen && p.tok().Kind != token.EOF {
			cs := p.tok().Pos
			name := p.parseIdent()
			p.expect(token.Colon)
			typ := ""
			if p.tok().Kind == token.Ident {
				typ = strings.ToLower(p.next().Value)
			} else {
				p.expected("a type name")
			}
			kv.Columns = append(kv.Columns, &ast.TypedColumn{Span: ast.Span{From: cs, To: p.prevEnd()}, Name: name, Type: typ})
			if p.tok().Kind != token.Comma {
				break
			}
			p.next()
		}
		p.expect(token.RParen)
		p.expectKw("with")
		p.expect(token.LParen)
		if p.tok().Kind != token.RParen {
			kv.Props = p.parseNamedList()
		}
		p.expect(token.RParen)
		kv.Span = span()
		return kv
	case "top-nested":
		tn := &ast.TopNested{}
		for {
			var l ast.TopNestedLevel
			if !p.isKw("of") {
				l.N = p.parseBinary(0)
			}
			p.expectKw("of")
			l.Of = p.parseNamed()
			if p.isKw("with") && p.isKwAt(1, "others") {
				p.next()
				p.next()
				p.expect(token.Assign)
				l.Others = p.parseBinary(0)
			}
			p.expectKw("by")
			l.By = p.parseNamed()
			if p.isKw("asc") || p.isKw("desc") {
				l.Order = p.next().Value
			}
			tn.Levels = append(tn.Levels, l)
			// the next level repeats the operator name after a comma
			if p.tok().Kind == token.Comma && p.isKwAt(1, "top") && p.peek(2).Kind == token.Minus {
				p.next()
				p.operatorName()
				continue
			}
			break
		}
		tn.Span = span()
		return tn
	case "scan":
		sc := &ast.Scan{}
		if p.acceptOption("with_match_id") {
			sc.MatchID = p.parseIdent()
		}
		if p.isKw("declare") {
			p.next()
			p.expect(token.LParen)
			for p.tok().Kind != token.RParen && p.tok().Kind != token.EOF {
				sc.Declare = append(sc.Declare, p.parseParam())
				if p.tok().Kind != token.Comma {
					break
				}
				p.next()
			}
			p.expect(token.RParen)
		}
		p.expectKw("with")
		p.expect(token.LParen)
		for p.isKw("step") {
			p.next()
			st := ast.ScanStep{Name: p.parseIdent()}
			if p.acceptOption("output") {
				st.Output = p.parseIdent().Name
			}
			p.expect(token.Colon)
			st.Cond = p.parseBinary(0)
			if p.tok().Kind == token.Arrow {
				p.next()
				st.Assign = p.parseNamedList()
			}
			p.expect(token.Semi)
			sc.Steps = append(sc.Steps, st)
		}
		p.expect(token.RParen)
		sc.Span = span()
		return sc
	case "search":
		s := &ast.Search{Params: p.parseOpParams()}
		s.Pred = p.parseBinary(0)
		s.Span = span()
		return s
	case "make-series":
		m := &ast.MakeSeries{Params: p.parseOpParams()}
		for {
			m.Aggs = append(m.Aggs, p.parseNamed())
			var def ast.Expr
			if p.acceptOption("default") {
				def = p.parseBinary(0)
			}
			m.Defaults = append(m.Defaults, def)
			if p.tok().Kind != token.Comma {
				break
			}
			p.next()
		}
		p.expectKw("on")
		if p.tok().Kind == token.Ident && p.isKwAt(1, "in") && p.isKwAt(2, "range") {
			// legacy form: on Axis in range(start, stop, step)
			m.On = p.parseIdent()
			p.next()
			p.next()
			p.expect(token.LParen)
			m.From = p.parseBinary(0)
			p.expect(token.Comma)
			m.To = p.parseBinary(0)
			p.expect(token.Comma)
			m.Step = p.parseBinary(0)
			p.expect(token.RParen)
		} else {
			m.On = p.parseBinary(0)
			if p.isKw("from") {
				p.next()
				m.From = p.parseBinary(0)
			}
			if p.isKw("to") {
				p.next()
				m.To = p.parseBinary(0)
			}
			p.expectKw("step")
			m.Step = p.parseBinary(0)
		}
		if p.isKw("by") {
			p.next()
			m.By = p.parseNamedList()
		}
		m.Span = span()
		return m
	case "evaluate":
		ev := &ast.Evaluate{Params: p.parseOpParams()}
		x := p.parsePostfix()
		c, ok := x.(*ast.Call)
		if !ok {
			p.errorAt(x.Pos(), "expected a plugin call after 'evaluate', such as bag_unpack(d)")
			return nil
		}
		ev.Call = c
		if p.tok().Kind == token.Colon {
			p.next()
			p.expect(token.LParen)
			if p.tok().Kind == token.Star {
				p.next()
				ev.SchemaStar = true
				if p.tok().Kind == token.Comma {
					p.next()
				}
			}
			for p.tok().Kind != token.RParen && p.tok().Kind != token.EOF {
				cs := p.tok().Pos
				name := p.parseIdent()
				p.expect(token.Colon)
				typ := ""
				if p.tok().Kind == token.Ident {
					typ = strings.ToLower(p.next().Value)
				} else {
					p.expected("a type name")
				}
				ev.Schema = append(ev.Schema, &ast.TypedColumn{Span: ast.Span{From: cs, To: p.prevEnd()}, Name: name, Type: typ})
				if p.tok().Kind != token.Comma {
					break
				}
				p.next()
			}
			p.expect(token.RParen)
		}
		ev.Span = span()
		return ev
	case "invoke":
		x := p.parsePostfix()
		c, ok := x.(*ast.Call)
		if !ok {
			p.errorAt(x.Pos(), "expected a function call after 'invoke'")
			return nil
		}
		return &ast.Invoke{Span: span(), Call: c}
	}
	p.errorAt(start, fmt.Sprintf("unknown or unsupported query operator '%s'", name))
	return nil
}

// parseSubOperators parses `( [|] op | op ... )`, the operators of an
// mv-apply or partition subquery.
func (p *parser) parseSubOperators() []ast.Operator {
	var ops []ast.Operator
	p.expect(token.LParen)
	for p.tok().Kind != token.RParen && p.tok().Kind != token.EOF {
		if p.tok().Kind == token.Pipe {
			p.next()
		}
		op := p.parseOperator()
		if op == nil {
			break
		}
		ops = append(ops, op)
		if p.tok().Kind != token.Pipe {
			break
		}
	}
	p.expect(token.RParen)
	return ops
}

// atOperatorEnd reports whether the current operator has no more arguments.
func (p *parser) atOperatorEnd() bool {
	switch p.tok().Kind {
	case token.Pipe, token.Semi, token.EOF, token.RParen, token.RBrace:
		return true
	}
	return false
}

// parseTableArg parses the tabular argument of join/lookup/union: a
// parenthesised query or a (possibly qualified) table reference.
func (p *parser) parseTableArg() ast.Expr {
	if p.tok().Kind == token.LParen {
		start := p.next().Pos
		x := p.parseExpr()
		p.expect(token.RParen)
		return &ast.Paren{Span: ast.Span{From: start, To: p.prevEnd()}, X: x}
	}
	return p.parsePostfix()
}

func (p *parser) parseUnion(start token.Pos) ast.Operator {
	u := &ast.Union{Params: p.parseOpParams()}
	for {
		u.Tables = append(u.Tables, p.parseTableArg())
		if p.tok().Kind != token.Comma {
			break
		}
		p.next()
	}
	u.Span = ast.Span{From: start, To: p.prevEnd()}
	return u
}

func (p *parser) parseParse(start token.Pos, name string) ast.Operator {
	ps := &ast.Parse{Name: name, Params: p.parseOpParams()}
	ps.X = p.parseBinary(0)
	p.expectKw("with")
	for !p.atOperatorEnd() {
		t := p.tok()
		start := p.p // every pass must consume a token, or a malformed pattern would loop
		switch {
		case t.Kind == token.String:
			lit := p.parsePrimary().(*ast.Literal)
			ps.Parts = append(ps.Parts, ast.ParsePart{Lit: lit})
		case t.Kind == token.Star:
			p.next()
			ps.Parts = append(ps.Parts, ast.ParsePart{})
		case t.Kind == token.Ident || t.Kind == token.LBrack && p.peek(1).Kind == token.String && p.peek(2).Kind == token.RBrack:
			part := ast.ParsePart{Name: p.parseIdent()}
			if p.tok().Kind == token.Colon {
				p.next()
				if p.tok().Kind == token.Ident {
					part.Type = strings.ToLower(p.next().Value)
				} else {
					p.expected("a type name")
				}
			}
			ps.Parts = append(ps.Parts, part)
		default:
			p.expected("a string, a column name or '*' in the parse pattern")
			return nil
		}
		if p.p == start {
			p.expected("a parse pattern")
			return nil
		}
	}
	ps.Span = ast.Span{From: start, To: p.prevEnd()}
	return ps
}

func (p *parser) parseSortKeys() []*ast.SortKey {
	var keys []*ast.SortKey
	for {
		k := &ast.SortKey{X: p.parseBinary(0)}
		k.Desc = true // Kusto sorts descending by default
		if p.isKw("asc") || p.isKw("desc") {
			k.Order = p.next().Value
			k.Desc = k.Order == "desc"
		}
		if p.isKw("nulls") {
			p.next()
			if p.isKw("first") || p.isKw("last") {
				k.Nulls = p.next().Value
			} else {
				p.expected("'first' or 'last'")
			}
		}
		k.Span = ast.Span{From: k.X.Pos(), To: p.prevEnd()}
		keys = append(keys, k)
		if p.tok().Kind != token.Comma {
			return keys
		}
		p.next()
	}
}

func (p *parser) parseNamedList() []*ast.NamedExpr {
	var items []*ast.NamedExpr
	for {
		items = append(items, p.parseNamed())
		if p.tok().Kind != token.Comma {
			return items
		}
		p.next()
	}
}

// parseNamed parses `name = expr`, `(a, b) = expr` or `expr`.
func (p *parser) parseNamed() *ast.NamedExpr { return p.parseNamedX(false) }

// parseNamedX parses a possibly named expression; pipes lets the expression
// continue with `| operator` (call arguments such as toscalar(T | count)).
func (p *parser) parseNamedX(pipes bool) *ast.NamedExpr {
	start := p.tok().Pos
	var names []*ast.Ident
	switch {
	case p.tok().Kind == token.Ident && p.peek(1).Kind == token.Assign:
		names = append(names, p.parseIdent())
		p.next()
	case p.tok().Kind == token.LBrack && p.peek(1).Kind == token.String && p.peek(2).Kind == token.RBrack && p.peek(3).Kind == token.Assign:
		names = append(names, p.parseIdent())
		p.next()
	case p.tok().Kind == token.LParen && p.isNameTuple():
		p.next()
		for {
			names = append(names, p.parseIdent())
			if p.tok().Kind != token.Comma {
				break
			}
			p.next()
		}
		p.expect(token.RParen)
		p.expect(token.Assign)
	}
	var x ast.Expr
	if pipes {
		x = p.parseExpr()
	} else {
		x = p.parseBinary(0)
	}
	return &ast.NamedExpr{Span: ast.Span{From: start, To: p.prevEnd()}, Names: names, X: x}
}

func (p *parser) isNameTuple() bool {
	i := p.p + 1
	for i < len(p.toks) {
		if p.toks[i].Kind != token.Ident {
			return false
		}
		i++
		if p.toks[i].Kind == token.RParen {
			return i+1 < len(p.toks) && p.toks[i+1].Kind == token.Assign
		}
		if p.toks[i].Kind != token.Comma {
			return false
		}
		i++
	}
	return false
}

// ----- scalar expressions (Pratt) -----

const (
	precOr = iota + 1
	precAnd
	precCompare
	precAdd
	precMul
)

// stringOps are the word operators at comparison precedence.
var stringOps = map[string]bool{
	"has": true, "has_cs": true, "hasprefix": true, "hasprefix_cs": true, "hassuffix": true, "hassuffix_cs": true,
	"contains": true, "contains_cs": true, "startswith": true, "startswith_cs": true, "endswith": true, "endswith_cs": true,
	"like": true, "likecs": true,
}

// listOps take a parenthesised list on the right.
var listOps = map[string]bool{"in": true, "in~": true, "has_any": true, "has_all": true}

// binaryOp reads the operator at the current position without consuming it;
// it returns the operator text, its precedence and the number of tokens it spans.
func (p *parser) binaryOp() (string, int, int) {
	t := p.tok()
	switch t.Kind {
	case token.Plus:
		return "+", precAdd, 1
	case token.Minus:
		return "-", precAdd, 1
	case token.Star:
		return "*", precMul, 1
	case token.Slash:
		return "/", precMul, 1
	case token.Percent:
		return "%", precMul, 1
	case token.Eq:
		return "==", precCompare, 1
	case token.Ne:
		return "!=", precCompare, 1
	case token.Lt:
		return "<", precCompare, 1
	case token.Le:
		return "<=", precCompare, 1
	case token.Gt:
		return ">", precCompare, 1
	case token.Ge:
		return ">=", precCompare, 1
	case token.EqTilde:
		return "=~", precCompare, 1
	case token.NeTilde:
		return "!~", precCompare, 1
	case token.Bang:
		n := p.peek(1)
		if n.Kind == token.Ident && n.Pos == t.End {
			w := strings.ToLower(n.Value)
			if stringOps[w] || w == "between" || listOps[w] {
				if w == "in" && p.peek(2).Kind == token.Tilde && p.peek(2).Pos == n.End {
					return "!in~", precCompare, 3
				}
				return "!" + w, precCompare, 2
			}
		}
	case token.Ident:
		if t.Quoted {
			return "", 0, 0
		}
		w := strings.ToLower(t.Value)
		switch {
		case w == "or":
			return "or", precOr, 1
		case w == "and":
			return "and", precAnd, 1
		case w == "in" && p.peek(1).Kind == token.Tilde && p.peek(1).Pos == t.End:
			return "in~", precCompare, 2
		case w == "matches" && p.isKwAt(1, "regex"):
			return "matches regex", precCompare, 2
		case stringOps[w] || w == "between" || listOps[w]:
			return w, precCompare, 1
		}
	}
	return "", 0, 0
}

func (p *parser) parseBinary(minPrec int) ast.Expr {
	p.enter()
	defer p.leave()
	x := p.parseUnary()
	for {
		op, prec, n := p.binaryOp()
		if prec == 0 || prec <= minPrec-1 || prec < minPrec {
			return x
		}
		for i := 0; i < n; i++ {
			p.next()
		}
		switch {
		case op == "between" || op == "!between":
			start := x.Pos()
			p.expect(token.LParen)
			lo := p.parseBinary(precAdd)
			p.expect(token.DotDot)
			hi := p.parseBinary(precAdd)
			p.expect(token.RParen)
			x = &ast.Between{Span: ast.Span{From: start, To: p.prevEnd()}, Not: op == "!between", X: x, Lo: lo, Hi: hi}
		case listOps[strings.TrimPrefix(op, "!")]:
			start := x.Pos()
			p.expect(token.LParen)
			var list []ast.Expr
			for p.tok().Kind != token.RParen && p.tok().Kind != token.EOF {
				list = append(list, p.parseExpr())
				if p.tok().Kind != token.Comma {
					break
				}
				p.next()
			}
			p.expect(token.RParen)
			x = &ast.In{Span: ast.Span{From: start, To: p.prevEnd()}, Op: op, X: x, List: list}
		default:
			y := p.parseBinary(prec + 1)
			x = &ast.Binary{Span: ast.Span{From: x.Pos(), To: y.End()}, Op: op, X: x, Y: y}
		}
	}
}

func (p *parser) parseUnary() ast.Expr {
	p.enter()
	defer p.leave()
	t := p.tok()
	if t.Kind == token.Minus || t.Kind == token.Plus {
		p.next()
		x := p.parseUnary()
		return &ast.Unary{Span: ast.Span{From: t.Pos, To: x.End()}, Op: t.Text, X: x}
	}
	return p.parsePostfix()
}

func (p *parser) parsePostfix() ast.Expr {
	x := p.parsePrimary()
	for {
		switch p.tok().Kind {
		case token.Dot:
			p.next()
			var name *ast.Ident
			if p.tok().Kind == token.LBrack {
				name = p.parseIdent()
			} else if p.tok().Kind == token.Ident {
				t := p.next()
				name = &ast.Ident{Span: ast.Span{From: t.Pos, To: t.End}, Name: t.Value}
			} else if p.tok().Kind == token.TypedLit {
				// d.time(...) cannot occur; treat the prefix as the member name.
				t := p.next()
				name = &ast.Ident{Span: ast.Span{From: t.Pos, To: t.End}, Name: t.Prefix}
			} else {
				p.expected("a member name")
				return x
			}
			if p.tok().Kind == token.LParen {
				// database("db").table("T") style chained call
				// Method-style call (x.f(args)) is kept as f(x, args).
				if c := p.parseCallArgs(name); c != nil {
					x = &ast.Call{Span: ast.Span{From: x.Pos(), To: p.prevEnd()}, Fun: name, Args: append([]ast.Expr{x}, c.Args...)}
					continue
				}
			}
			x = &ast.Member{Span: ast.Span{From: x.Pos(), To: p.prevEnd()}, X: x, Name: name}
		case token.LBrack:
			if p.tok().Pos != x.End() {
				return x
			}
			p.next()
			i := p.parseExpr()
			p.expect(token.RBrack)
			x = &ast.Index{Span: ast.Span{From: x.Pos(), To: p.prevEnd()}, X: x, I: i}
		default:
			return x
		}
	}
}

func (p *parser) parseCallArgs(fun *ast.Ident) *ast.Call {
	p.expect(token.LParen)
	c := &ast.Call{Fun: fun}
	for p.tok().Kind != token.RParen && p.tok().Kind != token.EOF {
		if p.tok().Kind == token.Star && (p.peek(1).Kind == token.RParen || p.peek(1).Kind == token.Comma) {
			t := p.next()
			c.Args = append(c.Args, &ast.Star{Span: ast.Span{From: t.Pos, To: t.End}})
		} else {
			n := p.parseNamedX(true)
			if len(n.Names) == 0 {
				c.Args = append(c.Args, n.X)
			} else {
				c.Args = append(c.Args, n)
			}
		}
		if p.tok().Kind != token.Comma {
			break
		}
		p.next()
	}
	p.expect(token.RParen)
	c.Span = ast.Span{From: fun.Pos(), To: p.prevEnd()}
	return c
}

func (p *parser) parsePrimary() ast.Expr {
	t := p.tok()
	lit := func(k ast.LitKind) ast.Expr {
		p.next()
		return &ast.Literal{Span: ast.Span{From: t.Pos, To: t.End}, Kind: k, Text: t.Text, Value: t.Value, Prefix: t.Prefix}
	}
	switch t.Kind {
	case token.Int:
		return lit(ast.LitInt)
	case token.Real:
		return lit(ast.LitReal)
	case token.Timespan:
		return lit(ast.LitTimespan)
	case token.TypedLit:
		return lit(ast.LitTyped)
	case token.String:
		p.next()
		v := t.Value
		end := t.End
		for p.tok().Kind == token.String { // adjacent literals concatenate
			v += p.tok().Value
			end = p.next().End
		}
		return &ast.Literal{Span: ast.Span{From: t.Pos, To: end}, Kind: ast.LitString, Text: ast.QuoteString(v), Value: v}
	case token.LParen:
		p.next()
		x := p.parseExpr()
		p.expect(token.RParen)
		return &ast.Paren{Span: ast.Span{From: t.Pos, To: p.prevEnd()}, X: x}
	case token.LBrack:
		if p.peek(1).Kind == token.String && p.peek(2).Kind == token.RBrack {
			return p.parseIdent()
		}
	case token.Star:
		p.next()
		return &ast.Star{Span: ast.Span{From: t.Pos, To: t.End}}
	case token.Ident:
		if t.Quoted {
			break
		}
		switch w := t.Value; w {
		case "true", "false":
			return lit(ast.LitBool)
		case "null":
			return lit(ast.LitNull)
		case "datatable":
			if p.peek(1).Kind == token.LParen {
				return p.parseDatatable()
			}
		case "print", "union", "range", "getschema":
			if w == "range" && p.peek(1).Kind == token.LParen {
				break
			}
			return p.parseSource()
		case "find":
			// find is a source only where a table of that name could not be
			if p.isKwAt(1, "in") || p.isKwAt(1, "withsource") || p.isKwAt(1, "where") {
				return p.parseSource()
			}
		}
		id := p.parseIdent()
		if p.tok().Kind == token.LParen {
			return p.parseCallArgs(id)
		}
		return id
	}
	p.expected("an expression")
	p.next()
	return &ast.BadExpr{Span: ast.Span{From: t.Pos, To: t.End}}
}

// parseSource parses an input-less operator used as a tabular expression.
func (p *parser) parseSource() ast.Expr {
	start := p.tok().Pos
	name := strings.ToLower(p.next().Value)
	var op ast.Operator
	switch name {
	case "print":
		pr := &ast.Project{Name: "print"}
		if !p.atOperatorEnd() {
			pr.Items = p.parseNamedList()
		}
		pr.Span = ast.Span{From: start, To: p.prevEnd()}
		op = pr
	case "union":
		op = p.parseUnion(start)
	case "find":
		f := &ast.Find{Params: p.parseOpParams()}
		if p.isKw("in") {
			p.next()
			p.expect(token.LParen)
			for p.tok().Kind != token.RParen && p.tok().Kind != token.EOF {
				f.Tables = append(f.Tables, p.parseTableArg())
				if p.tok().Kind != token.Comma {
					break
				}
				p.next()
			}
			p.expect(token.RParen)
		}
		p.expectKw("where")
		f.Pred = p.parseBinary(0)
		if p.tok().Kind == token.Pipe && p.isKwAt(1, "project") {
			p.next()
			p.next()
			f.Project = p.parseNamedList()
		}
		f.Span = ast.Span{From: start, To: p.prevEnd()}
		op = f
	case "range":
		r := &ast.Range{Col: p.parseIdent()}
		p.expectKw("from")
		r.From = p.parseBinary(0)
		p.expectKw("to")
		r.To = p.parseBinary(0)
		p.expectKw("step")
		r.Step = p.parseBinary(0)
		r.Span = ast.Span{From: start, To: p.prevEnd()}
		op = r
	}
	if op == nil {
		// getschema and the like need an input
		p.errorAt(start, fmt.Sprintf("'%s' needs an input: use T | %s", name, name))
		return &ast.BadExpr{Span: ast.Span{From: start, To: p.prevEnd()}}
	}
	return &ast.Source{Span: ast.Span{From: start, To: p.prevEnd()}, Op: op}
}

func (p *parser) parseDatatable() ast.Expr {
	start := p.next().Pos
	d := &ast.Datatable{}
	p.expect(token.LParen)
	for p.tok().Kind != token.RParen && p.tok().Kind != token.EOF {
		cs := p.tok().Pos
		name := p.parseIdent()
		p.expect(token.Colon)
		typ := ""
		if p.tok().Kind == token.Ident {
			typ = strings.ToLower(p.next().Value)
		} else {
			p.expected("a type name")
		}
		d.Columns = append(d.Columns, &ast.TypedColumn{Span: ast.Span{From: cs, To: p.prevEnd()}, Name: name, Type: typ})
		if p.tok().Kind != token.Comma {
			break
		}
		p.next()
	}
	p.expect(token.RParen)
	p.expect(token.LBrack)
	for p.tok().Kind != token.RBrack && p.tok().Kind != token.EOF {
		d.Values = append(d.Values, p.parseBinary(0))
		if p.tok().Kind != token.Comma {
			break
		}
		p.next()
	}
	p.expect(token.RBrack)
	d.Span = ast.Span{From: start, To: p.prevEnd()}
	return d
}

// parseMvItems parses mv-expand's (and mv-apply's) parameters, items and limit.
func (p *parser) parseMvItems() *ast.MvExpand {
	m := &ast.MvExpand{Params: p.parseOpParams()}
	for {
		m.Items = append(m.Items, p.parseNamed())
		typ := ""
		if p.isKw("to") && p.isKwAt(1, "typeof") {
			p.next()
			p.next()
			p.expect(token.LParen)
			if p.tok().Kind == token.Ident {
				typ = strings.ToLower(p.next().Value)
			} else {
				p.expected("a type name")
			}
			p.expect(token.RParen)
		}
		m.Types = append(m.Types, typ)
		if p.tok().Kind != token.Comma {
			break
		}
		p.next()
	}
	if p.isKw("limit") {
		p.next()
		m.Limit = p.parseBinary(0)
	}
	return m
}
