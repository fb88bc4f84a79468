// Package ast declares the syntax tree of KQL queries. Every node knows its
// span in the text (Pos/End) and prints itself canonically (String), so that
// parse → print → parse → print is stable.
package ast

import "odx/internal/kql/token"

// Node is any syntax node.
type Node interface {
	Pos() token.Pos
	End() token.Pos
	String() string
}

// Expr is a scalar or tabular expression; the semantic pass tells them apart.
type Expr interface {
	Node
	exprNode()
}

// Operator is one pipe stage (`| where ...`).
type Operator interface {
	Node
	operatorNode()
}

// Stmt is one `;`-separated statement.
type Stmt interface {
	Node
	stmtNode()
}

// Span is embedded by nodes to carry their extent.
type Span struct{ From, To token.Pos }

func (s Span) Pos() token.Pos { return s.From }
func (s Span) End() token.Pos { return s.To }

// Script is a whole query text.
type Script struct {
	Span
	Stmts []Stmt
}

// ----- statements -----

// LetStmt binds a name to a scalar, a tabular expression or a function.
type LetStmt struct {
	Span
	Name  *Ident
	Value Expr // a *FuncDecl for `let f = (x:long) { ... }`
}

// DeclareParamsStmt is `declare query_parameters(name:type = default, ...)`.
type DeclareParamsStmt struct {
	Span
	Params []*Param
}

// SetStmt is `set name [= value]`.
type SetStmt struct {
	Span
	Name  string
	Value Expr // nil when absent
}

// ExprStmt is a query expression statement.
type ExprStmt struct {
	Span
	X Expr
}

func (*LetStmt) stmtNode()           {}
func (*DeclareParamsStmt) stmtNode() {}
func (*SetStmt) stmtNode()           {}
func (*ExprStmt) stmtNode()          {}

// Param is a function or query parameter. Type is "" for tabular `(*)` parameters.
type Param struct {
	Span
	Name    *Ident
	Type    string // scalar type name, or "" with Tabular
	Tabular bool   // T:(*) or T:(x:long)
	Default Expr
}

// FuncDecl is a user function: `(params) { body }`.
type FuncDecl struct {
	Span
	Params []*Param
	Body   *Body
}

// Body is a function body: let statements followed by a result expression.
type Body struct {
	Span
	Stmts []Stmt
}

// ----- expressions -----

// Ident is a name; Quoted when written ['...'].
type Ident struct {
	Span
	Name   string
	Quoted bool
}

// LitKind tells literal kinds apart.
type LitKind uint8

const (
	LitNull LitKind = iota
	LitBool
	LitInt // plain integer literal: long
	LitReal
	LitString
	LitTimespan
	LitTyped // datetime(...), guid(...), dynamic(...), long(...)
)

// Literal is a constant as written.
type Literal struct {
	Span
	Kind   LitKind
	Text   string // source text, canonical
	Value  string // decoded value (string content, number text, raw typed content)
	Prefix string // for LitTyped: type name; for LitTimespan: unit
}

// Binary is `X op Y`, including string operators (has, contains, ...).
type Binary struct {
	Span
	Op   string
	X, Y Expr
}

// Unary is `-X`, `+X`, `not X`-style prefix.
type Unary struct {
	Span
	Op string
	X  Expr
}

// Call is `f(args)`.
type Call struct {
	Span
	Fun  *Ident
	Args []Expr
}

// Member is `X.Name`.
type Member struct {
	Span
	X    Expr
	Name *Ident
}

// Index is `X[I]`.
type Index struct {
	Span
	X, I Expr
}

// Paren is `(X)`.
type Paren struct {
	Span
	X Expr
}

// In is `X in (list)`, with Op one of in, !in, in~, !in~.
type In struct {
	Span
	Op   string
	X    Expr
	List []Expr
}

// Between is `X between (Lo .. Hi)`, negated as !between.
type Between struct {
	Span
	Not    bool
	X      Expr
	Lo, Hi Expr
}

// Star is `*` inside a call (count(*), arg_max(x, *)).
type Star struct{ Span }

// NamedExpr is `name = expr`, `(a, b) = expr` or just `expr`.
type NamedExpr struct {
	Span
	Names []*Ident
	X     Expr
}

// TypedColumn is `name:type` in schemas.
type TypedColumn struct {
	Span
	Name *Ident
	Type string
}

// Datatable is `datatable(schema) [values]`.
type Datatable struct {
	Span
	Columns []*TypedColumn
	Values  []Expr
}

// Pipe is `X | Op`.
type Pipe struct {
	Span
	X  Expr
	Op Operator
}

// Lambda-free tabular sources that are operators without input: print,
// range and union are modelled as operators with a nil input (Source).

// Source is an input-less tabular operator used as an expression (print, range, union, ...).
type Source struct {
	Span
	Op Operator
}

// FuncExpr is a let-bound function value.
func (*FuncDecl) exprNode()  {}
func (*Ident) exprNode()     {}
func (*Literal) exprNode()   {}
func (*Binary) exprNode()    {}
func (*Unary) exprNode()     {}
func (*Call) exprNode()      {}
func (*Member) exprNode()    {}
func (*Index) exprNode()     {}
func (*Paren) exprNode()     {}
func (*In) exprNode()        {}
func (*Between) exprNode()   {}
func (*Star) exprNode()      {}
func (*NamedExpr) exprNode() {}
func (*Datatable) exprNode() {}
func (*Pipe) exprNode()      {}
func (*Source) exprNode()    {}
func (*BadExpr) exprNode()   {}

// BadExpr stands for text that failed to parse.
type BadExpr struct{ Span }

// ----- operators -----

// OpParam is an operator option such as kind=inner or hint.strategy=shuffle.
type OpParam struct {
	Name  string
	Value Expr
}

// SortKey is `expr [asc|desc] [nulls first|last]`.
type SortKey struct {
	Span
	X     Expr
	Desc  bool
	Order string // "", "asc" or "desc" as written
	Nulls string // "", "first" or "last"
}

// Where is `where Pred` (also `filter`).
type Where struct {
	Span
	Pred Expr
}

// Project covers project, extend, project-keep, project-away, project-rename,
// project-reorder, distinct, serialize and print (Name says which).
type Project struct {
	Span
	Name   string
	Params []OpParam
	Items  []*NamedExpr
}

// Summarize is `summarize aggs by keys`.
type Summarize struct {
	Span
	Params []OpParam
	Aggs   []*NamedExpr
	By     []*NamedExpr
}

// Count is `count [as Name]`.
type Count struct {
	Span
	As *Ident
}

// Take is `take N` / `limit N`.
type Take struct {
	Span
	Name string
	N    Expr
}

// Top is `top N by keys`.
type Top struct {
	Span
	N  Expr
	By []*SortKey
}

// Sort is `sort by keys` / `order by keys`.
type Sort struct {
	Span
	Name string
	Keys []*SortKey
}

// Join is join and lookup.
type Join struct {
	Span
	Name   string // join or lookup
	Params []OpParam
	Right  Expr
	On     []Expr
}

// Union is `union [params] tables` (as operator or source).
type Union struct {
	Span
	Params []OpParam
	Tables []Expr
}

// MvExpand is `mv-expand [params] items [limit N]`.
type MvExpand struct {
	Span
	Params []OpParam
	Items  []*NamedExpr // X may be `d to typeof(t)` encoded as Call typeof
	Types  []string     // per item: "" or target type
	Limit  Expr
}

// ParsePart is one piece of a parse pattern: a string literal or a column.
type ParsePart struct {
	Lit  *Literal
	Name *Ident
	Type string
}

// Parse is `parse [kind=...] X with pattern`.
type Parse struct {
	Span
	Name   string // parse or parse-where
	Params []OpParam
	X      Expr
	Parts  []ParsePart
}

// As is `as Name`.
type As struct {
	Span
	Params []OpParam
	Name   *Ident
}

// Render is `render kind [with (props)]`.
type Render struct {
	Span
	Kind  string
	Props []*NamedExpr
}

// Range is `range X from A to B step C`.
type Range struct {
	Span
	Col            *Ident
	From, To, Step Expr
}

// Generic is an operator with no special syntax: `getschema`, and anything
// parsed with just params and expressions.
type Generic struct {
	Span
	Name   string
	Params []OpParam
	Args   []*NamedExpr
}

// MakeSeries is `make-series aggs [default=v] on Axis [from A] [to B] step S [by keys]`.
type MakeSeries struct {
	Span
	Params   []OpParam
	Aggs     []*NamedExpr
	Defaults []Expr // per aggregate; nil when absent
	On       Expr
	From, To Expr // optional
	Step     Expr
	By       []*NamedExpr
}

// Search is `search [kind=case_sensitive] Predicate`, where bare string
// literals in the predicate match terms in any column.
type Search struct {
	Span
	Params []OpParam
	Pred   Expr
}

// ParseKV is `parse-kv X as (name:type, ...) with (property = value, ...)`.
type ParseKV struct {
	Span
	X       Expr
	Columns []*TypedColumn
	Props   []*NamedExpr
}

// MvApply is `mv-apply items on (operators)`: the operators run on each
// input row's expanded items.
type MvApply struct {
	Span
	Expand *MvExpand // the items, as in mv-expand
	Ops    []Operator
}

// Find is `find [withsource=Name] in (Tables) where Pred [project Columns]`.
type Find struct {
	Span
	Params  []OpParam
	Tables  []Expr
	Pred    Expr
	Project []*NamedExpr // nil: project-smart
}

func (*Find) operatorNode() {}

// TopHitters is `top-hitters N of Expr [by SumExpr]`.
type TopHitters struct {
	Span
	N  Expr
	Of *NamedExpr
	By Expr // nil: count rows
}

func (*TopHitters) operatorNode() {}

// Partition is `partition [hints] by Column (operators)`: the operators
// run on each partition's rows and the results are concatenated.
type Partition struct {
	Span
	Params []OpParam
	By     *Ident
	Ops    []Operator
}

func (*Partition) operatorNode() {}

// TopNestedLevel is one `top-nested [N] of Expr [with others = V] by Agg [asc|desc]`.
type TopNestedLevel struct {
	N      Expr // nil: all groups
	Of     *NamedExpr
	Others Expr
	By     *NamedExpr
	Order  string
}

// TopNested is a chain of top-nested levels.
type TopNested struct {
	Span
	Levels []TopNestedLevel
}

// ScanStep is `step Name [output = all|last|none]: Condition [=> var = expr, ...];`.
type ScanStep struct {
	Name   *Ident
	Output string // "" (all), "all", "last" or "none"
	Cond   Expr
	Assign []*NamedExpr
}

// Scan is `scan [with_match_id = Name] [declare (v:type = init, ...)] with (steps)`.
type Scan struct {
	Span
	MatchID *Ident
	Declare []*Param
	Steps   []ScanStep
}

// Invoke is `invoke f(args)`.
type Invoke struct {
	Span
	Call *Call
}

// Evaluate is `evaluate [hints] plugin(args) [: (schema)]`. Schema is the
// declared output schema; SchemaStar is its leading `*` (keep the input's
// columns).
type Evaluate struct {
	Span
	Params     []OpParam
	Call       *Call
	Schema     []*TypedColumn
	SchemaStar bool
}

func (*Evaluate) operatorNode()   {}
func (*Where) operatorNode()      {}
func (*Project) operatorNode()    {}
func (*Summarize) operatorNode()  {}
func (*Count) operatorNode()      {}
func (*Take) operatorNode()       {}
func (*Top) operatorNode()        {}
func (*Sort) operatorNode()       {}
func (*Join) operatorNode()       {}
func (*Union) operatorNode()      {}
func (*MvExpand) operatorNode()   {}
func (*Parse) operatorNode()      {}
func (*As) operatorNode()         {}
func (*Render) operatorNode()     {}
func (*Range) operatorNode()      {}
func (*Generic) operatorNode()    {}
func (*Invoke) operatorNode()     {}
func (*MakeSeries) operatorNode() {}
func (*Search) operatorNode()     {}
func (*ParseKV) operatorNode()    {}
func (*MvApply) operatorNode()    {}
func (*TopNested) operatorNode()  {}
func (*Scan) operatorNode()       {}
