package ast

import (
	"strconv"
	"strings"
)

// The canonical printer: one statement per line, `| op` on its own line,
// single spaces around binary operators, identifiers quoted only when needed.

func join[T Node](xs []T, sep string) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = x.String()
	}
	return strings.Join(parts, sep)
}

func (s *Script) String() string { return join(s.Stmts, ";\n") }

func (s *LetStmt) String() string { return "let " + s.Name.String() + " = " + s.Value.String() }
func (s *DeclareParamsStmt) String() string {
	return "declare query_parameters(" + join(s.Params, ", ") + ")"
}
func (s *SetStmt) String() string {
	if s.Value == nil {
		return "set " + s.Name
	}
	return "set " + s.Name + " = " + s.Value.String()
}
func (s *ExprStmt) String() string { return s.X.String() }

func (p *Param) String() string {
	var b strings.Builder
	b.WriteString(p.Name.String())
	b.WriteString(":")
	if p.Tabular {
		b.WriteString("(*)")
	} else {
		b.WriteString(p.Type)
	}
	if p.Default != nil {
		b.WriteString(" = ")
		b.WriteString(p.Default.String())
	}
	return b.String()
}

func (f *FuncDecl) String() string {
	return "(" + join(f.Params, ", ") + ") " + f.Body.String()
}
func (b *Body) String() string { return "{ " + join(b.Stmts, "; ") + " }" }

var reservedNames = map[string]bool{
	"by": true, "on": true, "and": true, "or": true, "with": true, "in": true, "between": true,
	"asc": true, "desc": true, "true": true, "false": true, "null": true, "let": true,
	"kind": true, "from": true, "to": true, "step": true, "of": true,
}

// IdentString renders a name, bracket-quoting it when it is not a plain identifier.
func IdentString(name string) string {
	plain := name != "" && !reservedNames[name]
	for i, c := range name {
		if !(c == '_' || c == '$' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (i > 0 && c >= '0' && c <= '9') || c >= 0x80) {
			plain = false
			break
		}
	}
	if plain {
		return name
	}
	return "['" + strings.ReplaceAll(strings.ReplaceAll(name, `\`, `\\`), "'", `\'`) + "']"
}

func (x *Ident) String() string {
	if x.Quoted {
		return "['" + strings.ReplaceAll(strings.ReplaceAll(x.Name, `\`, `\\`), "'", `\'`) + "']"
	}
	return IdentString(x.Name)
}

// QuoteString renders a string literal that reads back to s.
func QuoteString(s string) string {
	q := strconv.Quote(s)
	return q
}

func (x *Literal) String() string {
	switch x.Kind {
	case LitString:
		return QuoteString(x.Value)
	case LitTyped:
		return x.Prefix + "(" + x.Value + ")"
	}
	return x.Text
}

func (x *Binary) String() string { return x.X.String() + " " + x.Op + " " + x.Y.String() }
func (x *Unary) String() string {
	if x.Op == "not" {
		return "not(" + x.X.String() + ")"
	}
	return x.Op + x.X.String()
}
func (x *Call) String() string {
	fun := x.Fun.String()
	if !x.Fun.Quoted {
		fun = x.Fun.Name
	}
	return fun + "(" + join(x.Args, ", ") + ")"
}
func (x *Member) String() string { return x.X.String() + "." + x.Name.String() }
func (x *Index) String() string  { return x.X.String() + "[" + x.I.String() + "]" }
func (x *Paren) String() string  { return "(" + x.X.String() + ")" }
func (x *In) String() string     { return x.X.String() + " " + x.Op + " (" + join(x.List, ", ") + ")" }
func (x *Between) String() string {
	op := "between"
	if x.Not {
		op = "!between"
	}
	return x.X.String() + " " + op + " (" + x.Lo.String() + " .. " + x.Hi.String() + ")"
}
func (x *Star) String() string    { return "*" }
func (x *BadExpr) String() string { return "<bad>" }
func (x *NamedExpr) String() string {
	switch len(x.Names) {
	case 0:
		return x.X.String()
	case 1:
		return x.Names[0].String() + " = " + x.X.String()
	}
	return "(" + join(x.Names, ", ") + ") = " + x.X.String()
}
func (x *TypedColumn) String() string { return x.Name.String() + ":" + x.Type }
func (x *Datatable) String() string {
	return "datatable(" + join(x.Columns, ", ") + ") [" + join(x.Values, ", ") + "]"
}
func (x *Pipe) String() string   { return x.X.String() + "\n| " + x.Op.String() }
func (x *Source) String() string { return x.Op.String() }

func params(ps []OpParam) string {
	var b strings.Builder
	for _, p := range ps {
		b.WriteString(p.Name)
		b.WriteString("=")
		b.WriteString(p.Value.String())
		b.WriteString(" ")
	}
	return b.String()
}

func (k *SortKey) String() string {
	s := k.X.String()
	if k.Order != "" {
		s += " " + k.Order
	}
	if k.Nulls != "" {
		s += " nulls " + k.Nulls
	}
	return s
}

func (o *Where) String() string { return "where " + o.Pred.String() }
func (o *Project) String() string {
	s := o.Name
	if p := params(o.Params); p != "" {
		s += " " + strings.TrimSpace(p)
	}
	if len(o.Items) > 0 {
		s += " " + join(o.Items, ", ")
	}
	return s
}
func (o *Summarize) String() string {
	s := "summarize"
	if p := params(o.Params); p != "" {
		s += " " + strings.TrimSpace(p)
	}
	if len(o.Aggs) > 0 {
		s += " " + join(o.Aggs, ", ")
	}
	if len(o.By) > 0 {
		s += " by " + join(o.By, ", ")
	}
	return s
}
func (o *Count) String() string {
	if o.As != nil {
		return "count as " + o.As.String()
	}
	return "count"
}
func (o *Take) String() string { return o.Name + " " + o.N.String() }
func (o *Top) String() string  { return "top " + o.N.String() + " by " + join(o.By, ", ") }
func (o *Sort) String() string { return o.Name + " by " + join(o.Keys, ", ") }
func (o *Join) String() string {
	s := o.Name + " " + params(o.Params)
	r := o.Right.String()
	switch o.Right.(type) {
	case *Ident, *Paren, *Call, *Member:
	default:
		r = "(" + r + ")"
	}
	s += r
	if len(o.On) > 0 {
		s += " on " + join(o.On, ", ")
	}
	return s
}
func (o *Union) String() string {
	parts := make([]string, len(o.Tables))
	for i, t := range o.Tables {
		parts[i] = t.String()
		switch t.(type) {
		case *Ident, *Call, *Member, *Paren:
		default:
			parts[i] = "(" + parts[i] + ")"
		}
	}
	return "union " + params(o.Params) + strings.Join(parts, ", ")
}
func (o *MvExpand) String() string {
	var items []string
	for i, it := range o.Items {
		s := it.String()
		if i < len(o.Types) && o.Types[i] != "" {
			s += " to typeof(" + o.Types[i] + ")"
		}
		items = append(items, s)
	}
	s := "mv-expand " + params(o.Params) + strings.Join(items, ", ")
	if o.Limit != nil {
		s += " limit " + o.Limit.String()
	}
	return s
}
func (o *Parse) String() string {
	var b strings.Builder
	b.WriteString(o.Name + " ")
	b.WriteString(params(o.Params))
	b.WriteString(o.X.String())
	b.WriteString(" with")
	for _, p := range o.Parts {
		b.WriteString(" ")
		if p.Lit != nil {
			b.WriteString(p.Lit.String())
		} else if p.Name == nil {
			b.WriteString("*")
		} else {
			b.WriteString(p.Name.String())
			if p.Type != "" {
				b.WriteString(":" + p.Type)
			}
		}
	}
	return b.String()
}
func (o *As) String() string { return "as " + params(o.Params) + o.Name.String() }
func (o *Render) String() string {
	s := "render " + o.Kind
	if len(o.Props) > 0 {
		s += " with (" + join(o.Props, ", ") + ")"
	}
	return s
}
func (o *Range) String() string {
	return "range " + o.Col.String() + " from " + o.From.String() + " to " + o.To.String() + " step " + o.Step.String()
}
func (o *Generic) String() string {
	s := o.Name
	if p := params(o.Params); p != "" {
		s += " " + strings.TrimSpace(p)
	}
	if len(o.Args) > 0 {
		s += " " + join(o.Args, ", ")
	}
	return s
}
func (o *MakeSeries) String() string {
	var b strings.Builder
	b.WriteString("make-series ")
	b.WriteString(params(o.Params))
	for i, a := range o.Aggs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(a.String())
		if i < len(o.Defaults) && o.Defaults[i] != nil {
			b.WriteString(" default = " + o.Defaults[i].String())
		}
	}
	b.WriteString(" on " + o.On.String())
	if o.From != nil {
		b.WriteString(" from " + o.From.String())
	}
	if o.To != nil {
		b.WriteString(" to " + o.To.String())
	}
	b.WriteString(" step " + o.Step.String())
	if len(o.By) > 0 {
		b.WriteString(" by " + join(o.By, ", "))
	}
	return b.String()
}

func (o *Search) String() string { return "search " + params(o.Params) + o.Pred.String() }

func (o *ParseKV) String() string {
	return "parse-kv " + o.X.String() + " as (" + join(o.Columns, ", ") + ") with (" + join(o.Props, ", ") + ")"
}

func (o *MvApply) String() string {
	items := strings.TrimPrefix(o.Expand.String(), "mv-expand ")
	return "mv-apply " + items + " on (" + join(o.Ops, " | ") + ")"
}

func (o *TopNested) String() string {
	var parts []string
	for _, l := range o.Levels {
		s := "top-nested "
		if l.N != nil {
			s += l.N.String() + " "
		}
		s += "of " + l.Of.String()
		if l.Others != nil {
			s += " with others = " + l.Others.String()
		}
		s += " by " + l.By.String()
		if l.Order != "" {
			s += " " + l.Order
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}

func (o *Scan) String() string {
	var b strings.Builder
	b.WriteString("scan ")
	if o.MatchID != nil {
		b.WriteString("with_match_id=" + o.MatchID.String() + " ")
	}
	if len(o.Declare) > 0 {
		b.WriteString("declare (" + join(o.Declare, ", ") + ") ")
	}
	b.WriteString("with (")
	for _, s := range o.Steps {
		b.WriteString("step " + s.Name.String())
		if s.Output != "" {
			b.WriteString(" output=" + s.Output)
		}
		b.WriteString(": " + s.Cond.String())
		if len(s.Assign) > 0 {
			b.WriteString(" => " + join(s.Assign, ", "))
		}
		b.WriteString("; ")
	}
	b.WriteString(")")
	return b.String()
}

func (o *Invoke) String() string { return "invoke " + o.Call.String() }

func (o *Evaluate) String() string {
	var b strings.Builder
	b.WriteString("evaluate ")
	if p := params(o.Params); p != "" {
		b.WriteString(strings.TrimSpace(p) + " ")
	}
	b.WriteString(o.Call.String())
	if o.SchemaStar || len(o.Schema) > 0 {
		var cols []string
		if o.SchemaStar {
			cols = append(cols, "*")
		}
		for _, c := range o.Schema {
			cols = append(cols, c.String())
		}
		b.WriteString(" : (" + strings.Join(cols, ", ") + ")")
	}
	return b.String()
}

func (o *Partition) String() string {
	s := "partition "
	if p := params(o.Params); p != "" {
		s += strings.TrimSpace(p) + " "
	}
	return s + "by " + o.By.String() + " (" + join(o.Ops, " | ") + ")"
}

func (o *TopHitters) String() string {
	s := "top-hitters " + o.N.String() + " of " + o.Of.String()
	if o.By != nil {
		s += " by " + o.By.String()
	}
	return s
}

func (o *Find) String() string {
	s := "find "
	if p := params(o.Params); p != "" {
		s += strings.TrimSpace(p) + " "
	}
	s += "in (" + join(o.Tables, ", ") + ") where " + o.Pred.String()
	if o.Project != nil {
		s += " | project " + join(o.Project, ", ")
	}
	return s
}
