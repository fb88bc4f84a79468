package mgmt

import (
	"encoding/json"
	"slices"

	"odx/internal/access"
	"odx/internal/kql/schema"
	"odx/internal/kql/types"
	"odx/internal/result"
	"odx/internal/storage"
)

var tableColumns = []result.Column{col("TableName", types.String), col("DatabaseName", types.String),
	col("Folder", types.String), col("DocString", types.String)}

var tableSchemaColumns = []result.Column{col("TableName", types.String), col("Schema", types.String),
	col("DatabaseName", types.String), col("Folder", types.String), col("DocString", types.String)}

// schemaJSON is the `Schema` of `.show table T schema as json`.
func schemaJSON(t *storage.Table) string {
	b, _ := json.Marshal(map[string]any{"Name": t.Name(), "OrderedColumns": jsonColumns(t)})
	return string(b)
}

func strPtr(props map[string]string, k string) *string {
	if v, ok := props[k]; ok {
		return &v
	}
	return nil
}

// createTables runs .create/.create-merge/.alter/.alter-merge table(s).
func (r *run) createTables() (*result.Set, error) {
	how := map[string]storage.TableChange{
		".create table": storage.CreateOnly, ".create tables": storage.CreateOnly,
		".create-merge table": storage.CreateMerge, ".create-merge tables": storage.CreateMerge,
		".alter table": storage.Alter, ".alter-merge table": storage.AlterMerge,
	}[r.c.kind]
	op := access.OpCreate
	if how == storage.Alter || how == storage.AlterMerge {
		op = access.OpAdmin
	}
	d, err := r.database(op)
	if err != nil {
		return nil, err
	}
	// Changing an existing table takes an admin, even through .create-merge.
	if op == access.OpCreate {
		for _, ts := range r.c.tableSpecs {
			if _, exists := d.Tbl(ts.name); exists && how == storage.CreateMerge && !r.caller.Can(access.OpAdmin, r.store.Snapshot().RolesOf(d.Name(), r.caller)) {
				return nil, access.Forbidden(r.caller, access.OpAdmin, d.Name())
			}
		}
	}
	specs := make([]storage.TableSpec, len(r.c.tableSpecs))
	for i, ts := range r.c.tableSpecs {
		specs[i] = storage.TableSpec{Name: ts.name, Columns: ts.columns, Folder: strPtr(r.c.props, "folder"), DocString: strPtr(r.c.props, "docstring")}
	}
	if err := r.store.CreateTables(r.ctx, d.Name(), specs, how); err != nil {
		return nil, err
	}
	d = r.refresh(d.Name())
	var rows [][]any
	for _, ts := range r.c.tableSpecs {
		t, _ := d.Tbl(ts.name)
		rows = append(rows, []any{t.Name(), schemaJSON(t), d.Name(), t.Folder, t.DocString})
	}
	return one("Table_0", tableSchemaColumns, rows), nil
}

func (r *run) alterTableDetails() (*result.Set, error) {
	d, err := r.database(access.OpAdmin)
	if err != nil {
		return nil, err
	}
	if err := r.store.SetTableDetails(r.ctx, d.Name(), r.c.table, r.c.folder, r.c.docString); err != nil {
		return nil, err
	}
	return r.tableSchemaResult(r.refresh(d.Name()), r.c.table, false)
}

func (r *run) tableSchemaResult(d *storage.Database, name string, csl bool) (*result.Set, error) {
	t, err := r.table(d, name)
	if err != nil {
		return nil, err
	}
	s := schemaJSON(t)
	if csl {
		s = t.CSLSchema()
	}
	return one("Table_0", tableSchemaColumns, [][]any{{t.Name(), s, d.Name(), t.Folder, t.DocString}}), nil
}

func (r *run) showTableSchema() (*result.Set, error) {
	d, err := r.database(access.OpMonitor)
	if err != nil {
		return nil, err
	}
	return r.tableSchemaResult(d, r.c.table, r.c.kind == ".show table cslschema")
}

func (r *run) tableList(d *storage.Database) [][]any {
	var rows [][]any
	for _, t := range d.Tbls() {
		rows = append(rows, []any{t.Name(), d.Name(), t.Folder, t.DocString})
	}
	return rows
}

func (r *run) dropTables() (*result.Set, error) {
	d, err := r.database(access.OpAdmin)
	if err != nil {
		return nil, err
	}
	if _, err := r.store.DropTables(r.ctx, d.Name(), r.c.tables, r.c.ifExists); err != nil {
		return nil, err
	}
	return one("Table_0", []result.Column{col("TableName", types.String), col("DatabaseName", types.String)},
		rowsOf(r.tableList(r.refresh(d.Name())), 0, 1)), nil
}

func rowsOf(rows [][]any, idx ...int) [][]any {
	out := make([][]any, len(rows))
	for i, r := range rows {
		for _, j := range idx {
			out[i] = append(out[i], r[j])
		}
	}
	return out
}

func (r *run) renameTables() (*result.Set, error) {
	d, err := r.database(access.OpAdmin)
	if err != nil {
		return nil, err
	}
	if err := r.store.RenameTables(r.ctx, d.Name(), r.c.pairs); err != nil {
		return nil, err
	}
	return one("Table_0", tableColumns, r.tableList(r.refresh(d.Name()))), nil
}

// showTables answers `.show tables [(T1, T2)] [details]`.
func (r *run) showTables() (*result.Set, error) {
	d, err := r.database(access.OpMonitor)
	if err != nil {
		return nil, err
	}
	var tables []*storage.Table
	for _, t := range d.Tbls() {
		if len(r.c.tables) == 0 || slices.Contains(r.c.tables, t.Name()) {
			tables = append(tables, t)
		}
	}
	for _, n := range r.c.tables {
		if _, err := r.table(d, n); err != nil {
			return nil, err
		}
	}
	if !r.c.details {
		var rows [][]any
		for _, t := range tables {
			rows = append(rows, []any{t.Name(), d.Name(), t.Folder, t.DocString})
		}
		return one("Table_0", tableColumns, rows), nil
	}
	stats, err := r.store.Stats(r.ctx, d.Name())
	if err != nil {
		return nil, err
	}
	cols := []result.Column{col("TableName", types.String), col("DatabaseName", types.String), col("Folder", types.String),
		col("DocString", types.String), col("TotalExtents", types.Long), col("TotalExtentSize", types.Real),
		col("TotalOriginalSize", types.Real), col("TotalRowCount", types.Long), col("HotExtents", types.Long),
		col("HotExtentSize", types.Real), col("HotOriginalSize", types.Real), col("HotRowCount", types.Long),
		col("AuthorizedPrincipals", types.String), col("RetentionPolicy", types.String), col("CachingPolicy", types.String),
		col("ShardingPolicy", types.String), col("MergePolicy", types.String), col("StreamingIngestionPolicy", types.String),
		col("IngestionBatchingPolicy", types.String), col("MinExtentsCreationTime", types.DateTime),
		col("MaxExtentsCreationTime", types.DateTime), col("RowOrderPolicy", types.String), col("TableId", types.Guid)}
	var rows [][]any
	type authorized struct {
		Type        string `json:"Type"`
		DisplayName string `json:"DisplayName"`
		ObjectId    string `json:"ObjectId"`
		FQN         string `json:"FQN"`
		Notes       string `json:"Notes"`
		Role        string `json:"Role"`
	}
	auth := []authorized{}
	for _, r := range principalRows(d) {
		auth = append(auth, authorized{Type: r[1].(string), DisplayName: r[2].(string), ObjectId: r[3].(string), FQN: r[4].(string), Notes: r[5].(string), Role: r[0].(string)})
	}
	principals, _ := json.Marshal(auth)
	for _, t := range tables {
		st := stats[t.Name()]
		var minT, maxT any
		if st.Extents > 0 {
			minT, maxT = st.MinCreated, st.MaxCreated
		}
		rows = append(rows, []any{t.Name(), d.Name(), t.Folder, t.DocString, st.Extents, float64(st.Size), float64(st.Size),
			st.Rows, st.Extents, float64(st.Size), float64(st.Size), st.Rows, string(principals),
			policyOrNull(t, d, storage.PolicyRetention), policyOrNull(t, d, storage.PolicyCaching), "null",
			policyOrNull(t, d, storage.PolicyMerge), policyOrNull(t, d, storage.PolicyStreamingIngestion),
			policyOrNull(t, d, storage.PolicyIngestionBatching), minT, maxT, "null", t.ID})
	}
	return one("Table_0", cols, rows), nil
}

// policyOrNull is a table's effective policy text (table over database), or "null".
func policyOrNull(t *storage.Table, d *storage.Database, kind string) string {
	if p := t.Policies[kind]; p != "" {
		return p
	}
	if p := d.Policies[kind]; p != "" {
		return p
	}
	return "null"
}

// showTable answers `.show table T` with one row per column.
func (r *run) showTable() (*result.Set, error) {
	d, err := r.database(access.OpMonitor)
	if err != nil {
		return nil, err
	}
	t, err := r.table(d, r.c.table)
	if err != nil {
		return nil, err
	}
	cols := []result.Column{col("AttributeName", types.String), col("AttributeType", types.String), col("ExtentSize", types.Long),
		col("CompressionRatio", types.Real), col("IndexSize", types.Long), col("IndexSizePercent", types.Real),
		col("OriginalSize", types.Long), col("AttributeId", types.Guid), col("SharedIndexSize", types.Long),
		col("StorageEngineVersion", types.String)}
	var rows [][]any
	for _, c := range t.Columns() {
		rows = append(rows, []any{c.Name, "System." + c.Type.DotNet(), int64(0), 0.0, int64(0), 0.0, int64(0), t.ID, int64(0), "V3"})
	}
	return one("Table_0", cols, rows), nil
}

func (r *run) alterColumn() (*result.Set, error) {
	d, err := r.database(access.OpAdmin)
	if err != nil {
		return nil, err
	}
	if err := r.store.AlterColumnType(r.ctx, d.Name(), r.c.table, r.c.column, schema.Column{Name: r.c.column, Type: r.c.colType}); err != nil {
		return nil, err
	}
	return r.tableSchemaResult(r.refresh(d.Name()), r.c.table, true)
}

func (r *run) dropColumns() (*result.Set, error) {
	d, err := r.database(access.OpAdmin)
	if err != nil {
		return nil, err
	}
	if err := r.store.DropColumns(r.ctx, d.Name(), r.c.table, r.c.tables); err != nil {
		return nil, err
	}
	return r.tableSchemaResult(r.refresh(d.Name()), r.c.table, true)
}
