// The compiler is layered like Go's own tooling; each stage is a package:
//
//	token    positions (byte offsets) and Source for line:column
//	lexer    KQL tokens, including raw typed literals (datetime(...), dynamic(...))
//	ast      syntax tree with spans and the canonical printer (Format)
//	parser   recursive descent + Pratt expressions; ErrorList; never panics
//	builtins signature table: name, arity, result-type rule, aggregate prefix
//	sem      name resolution and Kusto typing; produces the typed plan
//	         (sem.Node: Scan, Values, Range, Filter, Project, Aggregate, Sort,
//	         Limit, Distinct, Join, Union, MvExpand, Parse, Serialize)
//	compile  plan → sqlast; one lowering per builtin in fn_<family>.go
//	sqlast   SQL tree and DuckDB printer (quoted identifiers, ? arguments)
//
// Adding a scalar or aggregate function: one entry in builtins (arity and
// result type) and one entry in the lowering table of the family's
// compile/fn_<family>.go. Adding a tabular operator: a case in
// parser.parseOperator (syntax, usually an existing ast node), a case in
// sem.operator building plan nodes (often existing ones: extend-like
// operators are Project, grouping ones Aggregate), and, only for a new plan
// node, a case in compile.node.
//
// Plugins of `evaluate` are analysed in sem/evaluate.go, one function per
// plugin, each building existing plan nodes. The compiler never sees data,
// so a plugin whose output columns depend on data (bag_unpack) takes them
// from the query's declared output schema (`: (*, Name:type)`) or from a
// constant input; schema_merge folds getschema results at compile time.
// `partition by` reuses mv-apply's per-partition analysis (keepPartition).
//
// Window functions with a restart predicate (row_number, row_cumsum,
// row_window_session) read from two layers the Project lowering adds
// (compile/window_restart.go): a serialized position and a running run id,
// because SQL cannot nest the prev() of the predicate inside a window.
//
// Kusto semantics the lowering keeps (see the fn_*.go comments): strings are
// never null at the output; datetimes (since 0001-01-01) and timespans are
// BIGINT ticks, so their arithmetic is integer arithmetic, calendar functions
// go through a TIMESTAMP, and a datetime outside 0001..9999 is null; int and long + - *
// wrap around on overflow (TRY, or HUGEINT where TRY cannot go); datetime bins count from
// 0001-01-01; integer division truncates and % is never negative; x != null
// is true when exactly one side is null; joins match null keys; has is a term
// match; column names that differ only in case are kept apart although
// DuckDB matches identifiers case-insensitively.
package kql
