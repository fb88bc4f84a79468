// Package sem resolves names and checks types of a parsed KQL query. Its
// output is a typed logical plan: tabular nodes with exact output schemas,
// whose scalar expressions carry Kusto types. The compiler lowers that plan
// to SQL; nothing here knows SQL.
package sem

import (
	"time"

	"odx/internal/kql/schema"
	"odx/internal/kql/types"
)

// Expr is a typed scalar expression.
type Expr interface{ Type() types.Type }

// ColumnRef reads a column of the operator's input. Side is "" or, inside
// join conditions, "left"/"right".
type ColumnRef struct {
	Name string
	T    types.Type
	Side string
}

// Const is a constant. Values by type: bool; int32 (int); int64 (long, and
// timespan ticks); float64 (real); string (string, decimal text, guid text,
// dynamic JSON text); time.Time (datetime); nil for null.
type Const struct {
	V any
	T types.Type
	// Name is the let variable the constant came from, for column naming.
	Name string
}

// Call applies a builtin function or an operator (Fn "+", "==", "has", ...).
type Call struct {
	Fn   string
	Args []Expr
	T    types.Type
}

// Star is `*` as an aggregate argument.
type Star struct{}

// TabularExpr is a tabular query used as a scalar (toscalar) or as an `in` list.
type TabularExpr struct {
	Plan Node
	T    types.Type
}

// TypeArg is typeof(T) passed as an argument.
type TypeArg struct{ T types.Type }

func (t *TypeArg) Type() types.Type { return types.String }

// List is a literal list on the right of `in` / `has_any`.
type List struct{ Items []Expr }

func (c *ColumnRef) Type() types.Type   { return c.T }
func (c *Const) Type() types.Type       { return c.T }
func (c *Call) Type() types.Type        { return c.T }
func (*Star) Type() types.Type          { return types.Invalid }
func (t *TabularExpr) Type() types.Type { return t.T }
func (*List) Type() types.Type          { return types.Dynamic }

// DateTimeConst builds a datetime constant.
func DateTimeConst(t time.Time) *Const { return &Const{V: t.UTC(), T: types.DateTime} }

// Node is a typed tabular plan node.
type Node interface {
	Schema() []schema.Column
}

// Item is one named output expression.
type Item struct {
	Name string
	X    Expr
}

// SortKey is one ordering key.
type SortKey struct {
	X          Expr
	Desc       bool
	NullsFirst bool
}

type (
	// Scan reads a catalog table. Extent adds the hidden extent column for ingestion_time().
	Scan struct {
		Table  schema.Table
		Cols   []schema.Column
		Extent bool
	}
	// Values is an inline table (datatable, print without input).
	Values struct {
		Cols []schema.Column
		Rows [][]Expr
	}
	// Range generates From..To by Step.
	Range struct {
		Col            schema.Column
		From, To, Step Expr
	}
	// Filter keeps rows where Pred is true.
	Filter struct {
		In   Node
		Pred Expr
	}
	// Project computes Items from each input row (project, extend, rename...).
	// Window marks items that use row_number/prev/next/row_cumsum.
	Project struct {
		In     Node
		Items  []Item
		Window bool
	}
	// Aggregate groups by Keys and computes Aggs (Call nodes of aggregates).
	Aggregate struct {
		In   Node
		Keys []Item
		Aggs []Item
		Cols []schema.Column
	}
	// Sort orders rows.
	Sort struct {
		In   Node
		Keys []SortKey
	}
	// Limit keeps the first N rows; with PartitionBy, the first N rows of
	// each partition (inside mv-apply).
	Limit struct {
		In          Node
		N           Expr
		PartitionBy []string
	}
	// Distinct removes duplicate rows.
	Distinct struct{ In Node }
	// Join combines two inputs. Cols is the output schema; LeftCols/RightCols
	// map each output column to its source side and name ("" when absent).
	Join struct {
		L, R      Node
		Kind      string
		LeftKeys  []Expr
		RightKeys []Expr
		Extra     Expr // non-equality condition parts ($left.a < $right.b), may be nil
		Cols      []schema.Column
		From      []JoinCol
	}
	// Union concatenates inputs by column name.
	Union struct {
		Inputs      []Node
		Cols        []schema.Column
		SourceCol   string
		SourceNames []string
		// Origin[j] is the input column (name and type) that fills Cols[j];
		// zero for the source column.
		Origin []schema.Column
	}
	// MvExpand expands arrays or bags into rows.
	MvExpand struct {
		In    Node
		Items []MvItem
		Limit Expr
		Cols  []schema.Column
	}
	// Parse extracts columns from a string by a regex.
	Parse struct {
		In      Node
		X       Expr
		Regex   string
		Flags   string
		Outputs []schema.Column // captured columns, group i+1 → Outputs[i]
		Where   bool            // parse-where drops rows that do not match
		Relaxed bool            // kind=relaxed: a value that does not convert is null alone
		Cols    []schema.Column
	}
	// MakeSeries aggregates into arrays over a regular axis of bins.
	MakeSeries struct {
		In             Node
		Keys           []Item
		Aggs           []Item
		Defaults       []Expr // per aggregate, typed like it
		Axis           Expr
		AxisName       string
		From, To, Step Expr // From/To nil: taken from the data
		Cols           []schema.Column
	}
	// ScanOp runs scan's steps over the rows in order (see scan.go for the
	// matching logic). Expressions read the current row with Side "row",
	// step j's state (0-based) with Side "step<j>" and the evaluating
	// step's own state with Side "state".
	ScanOp struct {
		In      Node
		Vars    []Item // declared variables with their defaults
		Steps   []ScanStep
		Tracked []schema.Column // columns (input and declared) read through a step's state
		MatchID string          // with_match_id column, or ""
		// PartitionBy, inside partition, runs one scan per value of that
		// column (match ids count per partition too)
		PartitionBy string
		Cols        []schema.Column
	}
	// Serialize marks the row order as meaningful.
	Serialize struct{ In Node }
)

// JoinCol tells where a join output column comes from.
type JoinCol struct {
	Side string // "left" or "right"
	Name string
}

// MvItem is one expanded column.
type MvItem struct {
	Name string
	X    Expr
	T    types.Type
	Bag  bool // bagexpansion=bag (default) or array
}

func (n *Scan) Schema() []schema.Column {
	return n.Cols
}
func (n *Values) Schema() []schema.Column { return n.Cols }
func (n *Range) Schema() []schema.Column  { return []schema.Column{n.Col} }
func (n *Filter) Schema() []schema.Column { return n.In.Schema() }
func (n *Project) Schema() []schema.Column {
	cols := make([]schema.Column, len(n.Items))
	for i, it := range n.Items {
		cols[i] = schema.Column{Name: it.Name, Type: it.X.Type()}
	}
	return cols
}
func (n *Aggregate) Schema() []schema.Column  { return n.Cols }
func (n *Sort) Schema() []schema.Column       { return n.In.Schema() }
func (n *Limit) Schema() []schema.Column      { return n.In.Schema() }
func (n *Distinct) Schema() []schema.Column   { return n.In.Schema() }
func (n *Join) Schema() []schema.Column       { return n.Cols }
func (n *Union) Schema() []schema.Column      { return n.Cols }
func (n *MvExpand) Schema() []schema.Column   { return n.Cols }
func (n *Parse) Schema() []schema.Column      { return n.Cols }
func (n *Serialize) Schema() []schema.Column  { return n.In.Schema() }
func (n *MakeSeries) Schema() []schema.Column { return n.Cols }
func (n *ScanOp) Schema() []schema.Column     { return n.Cols }

// Result is the analysed query.
type Result struct {
	Plan       Node
	Properties map[string]any
	Options    map[string]any
	// Databases lists, sorted, every database whose tables or stored
	// functions the query reads: the caller must be allowed to view each.
	Databases []string
}

// Inputs returns a node's input nodes (for plan walks).
func Inputs(n Node) []Node {
	switch v := n.(type) {
	case *Filter:
		return []Node{v.In}
	case *Project:
		return []Node{v.In}
	case *Aggregate:
		return []Node{v.In}
	case *Sort:
		return []Node{v.In}
	case *Limit:
		return []Node{v.In}
	case *Distinct:
		return []Node{v.In}
	case *Serialize:
		return []Node{v.In}
	case *MvExpand:
		return []Node{v.In}
	case *Parse:
		return []Node{v.In}
	case *MakeSeries:
		return []Node{v.In}
	case *ScanOp:
		return []Node{v.In}
	case *Join:
		return []Node{v.L, v.R}
	case *Union:
		return v.Inputs
	}
	return nil
}
