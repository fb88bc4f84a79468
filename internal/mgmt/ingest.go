package mgmt

import (
	"encoding/json"
	"strings"
	"time"

	"odx/internal/access"
	"odx/internal/ingest/mapping"
	"odx/internal/kerr"
	"odx/internal/kql/types"
	"odx/internal/result"
	"odx/internal/storage"
)

var appendResultColumns = []result.Column{col("ExtentId", types.Guid), col("OriginalSize", types.Real),
	col("ExtentSize", types.Real), col("ColumnSize", types.Real), col("IndexSize", types.Real), col("RowCount", types.Long)}

// stringList reads a property holding a JSON array of strings, e.g. tags='["a","b"]'.
func stringList(props map[string]string, key string) ([]string, error) {
	v, ok := props[key]
	if !ok || strings.TrimSpace(v) == "" {
		return nil, nil
	}
	var out []string
	if err := json.Unmarshal([]byte(v), &out); err != nil {
		return nil, kerr.BadRequestf("property '%s' must be a JSON array of strings such as '[\"a\",\"b\"]', got %s", key, v)
	}
	return out, nil
}

// creationTime reads the creationTime property: an ISO 8601 text or datetime(...).
func creationTime(props map[string]string) (time.Time, error) {
	v, ok := props["creationtime"]
	if !ok || v == "" {
		return time.Time{}, nil
	}
	v = strings.TrimSpace(v)
	if inner, ok := strings.CutPrefix(v, "datetime("); ok {
		v = strings.Trim(strings.TrimSuffix(inner, ")"), `'" `)
	}
	t, ok := mapping.ParseDateTime(v)
	if !ok {
		return time.Time{}, kerr.BadRequestf("property 'creationTime' is not a datetime: %s (use ISO 8601, e.g. 2024-01-31T12:00:00Z)", v)
	}
	return t, nil
}

// ingestQuery runs .set/.append/.set-or-append/.set-or-replace.
func (r *run) ingestQuery() (*result.Set, error) {
	d, err := r.database(access.OpView)
	if err != nil {
		if kerr.As(err).Category != kerr.Forbidden {
			return nil, err
		}
		// Ingestors may append without reading other tables; the compiler still
		// checks what the query touches against the same database.
		if d, err = r.database(access.OpIngest); err != nil {
			return nil, err
		}
	}
	_, exists := d.Tbl(r.c.table)
	roles := r.store.Snapshot().RolesOf(d.Name(), r.caller)
	need := access.OpIngest
	switch {
	case r.c.kind == ".set-or-replace" && exists:
		need = access.OpAdmin
	case !exists:
		need = access.OpCreate
	}
	if !r.caller.Can(need, roles) {
		return nil, access.Forbidden(r.caller, need, d.Name())
	}
	q, err := r.q.Compile(r.caller, d.Name(), r.c.query, nil)
	if err != nil {
		if ke := kerr.As(err); ke.Line > 0 {
			// Point into the whole command, not just the query after <|.
			ke.Line, ke.Column = shiftPosition(r.c, ke.Line, ke.Column)
		}
		return nil, err
	}
	tags, err := stringList(r.c.props, "tags")
	if err != nil {
		return nil, err
	}
	ifNot, err := stringList(r.c.props, "ingestifnotexists")
	if err != nil {
		return nil, err
	}
	created, err := creationTime(r.c.props)
	if err != nil {
		return nil, err
	}
	batch := storage.QueryBatch{Database: d.Name(), Table: r.c.table, SQL: q.SQL, Args: q.Args, Columns: q.Columns,
		Tags: tags, IngestIfNotExists: ifNot, CreationTime: created,
		Folder: strPtr(r.c.props, "folder"), DocString: strPtr(r.c.props, "docstring")}
	switch r.c.kind {
	case ".set":
		batch.Create, batch.MustCreate = true, true
	case ".append":
		batch.MustExist = true
	case ".set-or-append":
		batch.Create = true
	case ".set-or-replace":
		batch.Create, batch.Replace = true, true
	}
	info, err := r.store.IngestQuery(r.ctx, batch)
	if err != nil {
		return nil, err
	}
	var rows [][]any
	if info.ID != "" {
		rows = [][]any{{info.ID, float64(info.Size), float64(info.Size), float64(info.Size), 0.0, info.RowCount}}
	}
	return one("Table_0", appendResultColumns, rows), nil
}

// shiftPosition turns a line/column inside the query after `<|` into one
// in the whole command text.
func shiftPosition(c *command, line, column int) (int, int) {
	return shiftTo(c.text, c.queryPos, line, column)
}

// shiftTo turns a line/column inside text[offset:] into one in text.
func shiftTo(text string, offset, line, column int) (int, int) {
	startLine, startCol := 1, 1
	for _, ch := range text[:offset] {
		if ch == '\n' {
			startLine, startCol = startLine+1, 1
		} else {
			startCol++
		}
	}
	if line == 1 {
		return startLine, startCol + column - 1
	}
	return startLine + line - 1, column
}

var extentColumns = []result.Column{col("ExtentId", types.Guid), col("DatabaseName", types.String), col("TableName", types.String),
	col("MaxCreatedOn", types.DateTime), col("OriginalSize", types.Real), col("ExtentSize", types.Real),
	col("CompressedSize", types.Real), col("IndexSize", types.Real), col("Blocks", types.Long), col("Segments", types.Long),
	col("ExtentContainerId", types.String), col("RowCount", types.Long), col("MinCreatedOn", types.DateTime),
	col("Tags", types.String), col("Kind", types.String), col("DeletedRowCount", types.Long)}

// showExtents answers `.show extents`, `.show table T extents` and `.show tables (A, B) extents`.
func (r *run) showExtents() (*result.Set, error) {
	var dbs []*storage.Database
	if r.c.db == "" && r.current == "" && r.c.table == "" && len(r.c.tables) == 0 {
		// Cluster scope: every database the caller may see.
		snap := r.store.Snapshot()
		for _, d := range snap.DBs() {
			if r.caller.Can(access.OpMonitor, snap.RolesOf(d.Name(), r.caller)) {
				dbs = append(dbs, d)
			}
		}
	} else {
		d, err := r.database(access.OpMonitor)
		if err != nil {
			return nil, err
		}
		dbs = []*storage.Database{d}
	}
	tables := r.c.tables
	if r.c.table != "" {
		tables = []string{r.c.table}
	}
	var rows [][]any
	for _, d := range dbs {
		scopes := tables
		if len(scopes) == 0 {
			scopes = []string{""}
		}
		for _, tn := range scopes {
			if tn != "" {
				if _, err := r.table(d, tn); err != nil {
					return nil, err
				}
			}
			ext, err := r.store.ListExtents(r.ctx, storage.ExtentFilter{Database: d.Name(), Table: tn})
			if err != nil {
				return nil, err
			}
			for _, e := range ext {
				size := float64(e.Size)
				rows = append(rows, []any{e.ID, e.Database, e.Table, e.CreationTime, size, size, size, 0.0, int64(1), int64(1),
					"odx", e.RowCount, e.CreationTime, strings.Join(e.Tags, "\r\n"), "StorageV3", int64(0)})
			}
		}
	}
	return one("Table_0", extentColumns, rows), nil
}

// dropExtents answers `.drop extent(s) ...`.
func (r *run) dropExtents() (*result.Set, error) {
	d, err := r.database(access.OpAdmin)
	if err != nil {
		return nil, err
	}
	f := storage.ExtentFilter{Database: d.Name(), Table: r.c.table, IDs: r.c.extentIDs, Tag: r.c.tag, TagContains: r.c.tagOp == "contains"}
	if r.c.olderTicks > 0 {
		f.CreatedBefore = r.store.Now().Add(-time.Duration(r.c.olderTicks * 100))
	}
	if f.Table == "" && !r.c.allTables && len(f.IDs) == 0 {
		return nil, kerr.BadRequestf("say which extents to drop: '.drop extents older N days from T', '.drop extents (id, ...)' or '... from all tables'")
	}
	if f.Table != "" {
		if _, err := r.table(d, f.Table); err != nil {
			return nil, err
		}
	}
	dropped, err := r.store.DropExtents(r.ctx, f)
	if err != nil {
		return nil, err
	}
	if len(r.c.extentIDs) > 0 && len(dropped) == 0 {
		return nil, kerr.NotFoundf("no extent with id %s was found in database '%s'", strings.Join(r.c.extentIDs, ", "), d.Name())
	}
	var rows [][]any
	for _, e := range dropped {
		rows = append(rows, []any{e.ID, e.Table, e.CreationTime})
	}
	return one("Table_0", []result.Column{col("ExtentId", types.Guid), col("TableName", types.String), col("CreatedOn", types.DateTime)}, rows), nil
}
