package sem

// WalkCalls calls f for every function call in x, outermost first. It does
// not enter tabular subqueries (toscalar, in-lists of queries), whose calls
// belong to their own plan.
func WalkCalls(x Expr, f func(*Call)) {
	switch v := x.(type) {
	case *Call:
		f(v)
		for _, a := range v.Args {
			WalkCalls(a, f)
		}
	case *List:
		for _, it := range v.Items {
			WalkCalls(it, f)
		}
	}
}
