package query

import "odx/internal/kql"

// The KQL compiler is the default: queries and `.set-or-append` compile
// through the same code path.
func init() {
	defaultCompile = func(req CompileRequest) (*Compiled, error) {
		q, err := kql.Compile(req.Text, kql.Options{Database: req.Database, Catalog: req.Catalog, Parameters: req.Parameters, Now: req.Now})
		if err != nil {
			return nil, err
		}
		return &Compiled{SQL: q.SQL, Args: q.Args, Columns: q.Columns, Properties: q.Properties, Databases: q.Databases}, nil
	}
}
