package sem

import (
	"fmt"
	"strings"

	"odx/internal/kql/schema"
)

// Explain renders a plan as an indented tree with each node's output schema.
func Explain(n Node) string {
	var b strings.Builder
	explain(&b, n, 0)
	return b.String()
}

func schemaString(cols []schema.Column) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = c.Name + ":" + c.Type.String()
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// ExprString renders a typed expression.
func ExprString(x Expr) string {
	switch v := x.(type) {
	case *ColumnRef:
		if v.Side != "" {
			return "$" + v.Side + "." + v.Name
		}
		return v.Name
	case *Const:
		if v.V == nil {
			return fmt.Sprintf("%s(null)", v.T)
		}
		return fmt.Sprintf("%s(%v)", v.T, v.V)
	case *Call:
		args := make([]string, len(v.Args))
		for i, a := range v.Args {
			args[i] = ExprString(a)
		}
		return fmt.Sprintf("%s(%s):%s", v.Fn, strings.Join(args, ", "), v.T)
	case *Star:
		return "*"
	case *List:
		args := make([]string, len(v.Items))
		for i, a := range v.Items {
			args[i] = ExprString(a)
		}
		return "[" + strings.Join(args, ", ") + "]"
	case *TabularExpr:
		return "toscalar(...)"
	case *windowMarker:
		return ExprString(v.Expr)
	}
	return fmt.Sprintf("%T", x)
}

func items(its []Item) string {
	parts := make([]string, len(its))
	for i, it := range its {
		parts[i] = it.Name + "=" + ExprString(it.X)
	}
	return strings.Join(parts, ", ")
}

func explain(b *strings.Builder, n Node, depth int) {
	ind := strings.Repeat("  ", depth)
	line := func(format string, args ...any) {
		fmt.Fprintf(b, "%s%s %s\n", ind, fmt.Sprintf(format, args...), schemaString(n.Schema()))
	}
	switch v := n.(type) {
	case *Scan:
		line("Scan %s", v.Table.Name())
	case *Values:
		line("Values rows=%d", len(v.Rows))
	case *Range:
		line("Range %s from %s to %s step %s", v.Col.Name, ExprString(v.From), ExprString(v.To), ExprString(v.Step))
	case *Filter:
		line("Filter %s", ExprString(v.Pred))
		explain(b, v.In, depth+1)
	case *Project:
		line("Project %s", items(v.Items))
		explain(b, v.In, depth+1)
	case *Aggregate:
		line("Aggregate keys=[%s] aggs=[%s]", items(v.Keys), items(v.Aggs))
		explain(b, v.In, depth+1)
	case *Sort:
		var ks []string
		for _, k := range v.Keys {
			d := "asc"
			if k.Desc {
				d = "desc"
			}
			ks = append(ks, ExprString(k.X)+" "+d)
		}
		line("Sort %s", strings.Join(ks, ", "))
		explain(b, v.In, depth+1)
	case *Limit:
		line("Limit %s", ExprString(v.N))
		explain(b, v.In, depth+1)
	case *Distinct:
		line("Distinct")
		explain(b, v.In, depth+1)
	case *Serialize:
		line("Serialize")
		explain(b, v.In, depth+1)
	case *Join:
		line("Join kind=%s", v.Kind)
		explain(b, v.L, depth+1)
		explain(b, v.R, depth+1)
	case *Union:
		line("Union")
		for _, in := range v.Inputs {
			explain(b, in, depth+1)
		}
	case *MvExpand:
		line("MvExpand")
		explain(b, v.In, depth+1)
	case *Parse:
		line("Parse %q", v.Regex)
		explain(b, v.In, depth+1)
	default:
		line("%T", n)
	}
}
