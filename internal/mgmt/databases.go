package mgmt

import (
	"encoding/json"
	"strings"

	"odx/internal/access"
	"odx/internal/kerr"
	"odx/internal/kql/types"
	"odx/internal/result"
	"odx/internal/storage"
)

var databaseColumns = []result.Column{col("DatabaseName", types.String), col("PersistentStorage", types.String),
	col("Version", types.String), col("IsCurrent", types.Bool), col("DatabaseAccessMode", types.String),
	col("PrettyName", types.String), col("ReservedSlot1", types.Bool), col("DatabaseId", types.Guid),
	col("InTransitionTo", types.String)}

func (r *run) databaseRow(d *storage.Database) []any {
	storageKind := "persistent"
	if !d.Persistent {
		storageKind = "volatile"
	}
	return []any{d.Name(), storageKind, "v1.0", d.Name() == r.current, "ReadWrite", d.PrettyName, false, d.ID, ""}
}

func (r *run) createDatabase() (*result.Set, error) {
	if err := r.clusterAdmin(); err != nil {
		return nil, err
	}
	if _, err := r.store.CreateDatabase(r.ctx, r.c.db, !r.c.volatile, r.c.ifNotExists, storage.Principal{}); err != nil {
		return nil, err
	}
	return one("Table_0", databaseColumns, [][]any{r.databaseRow(r.refresh(r.c.db))}), nil
}

func (r *run) dropDatabase() (*result.Set, error) {
	if err := r.clusterAdmin(); err != nil {
		return nil, err
	}
	if _, err := r.store.DropDatabase(r.ctx, r.c.db, r.c.ifExists); err != nil {
		return nil, err
	}
	return r.showDatabases()
}

// showDatabases lists the databases the caller may at least monitor.
func (r *run) showDatabases() (*result.Set, error) {
	snap := r.store.Snapshot()
	var rows [][]any
	for _, d := range snap.DBs() {
		if r.caller.Can(access.OpMonitor, snap.RolesOf(d.Name(), r.caller)) {
			rows = append(rows, r.databaseRow(d))
		}
	}
	return one("Table_0", databaseColumns, rows), nil
}

func (r *run) showDatabase() (*result.Set, error) {
	d, err := r.database(access.OpMonitor)
	if err != nil {
		return nil, err
	}
	return one("Table_0", databaseColumns, [][]any{r.databaseRow(d)}), nil
}

type jsonColumn struct {
	Name      string `json:"Name"`
	Type      string `json:"Type"`
	CslType   string `json:"CslType"`
	DocString string `json:"DocString,omitempty"`
}

func jsonColumns(t *storage.Table) []jsonColumn {
	out := make([]jsonColumn, 0, len(t.Columns()))
	for _, c := range t.Columns() {
		out = append(out, jsonColumn{Name: c.Name, Type: "System." + c.Type.DotNet(), CslType: c.Type.String()})
	}
	return out
}

// showDatabaseSchema answers `.show database D schema [as json]` and
// `.show database D cslschema`.
func (r *run) showDatabaseSchema() (*result.Set, error) {
	d, err := r.database(access.OpMonitor)
	if err != nil {
		return nil, err
	}
	if r.c.asJSON {
		type jsonTable struct {
			Name           string       `json:"Name"`
			EntityType     string       `json:"EntityType"`
			OrderedColumns []jsonColumn `json:"OrderedColumns"`
			Folder         string       `json:"Folder"`
			DocString      string       `json:"DocString"`
		}
		type jsonParam struct {
			Name            string `json:"Name"`
			Type            string `json:"Type,omitempty"`
			CslType         string `json:"CslType"`
			CslDefaultValue string `json:"CslDefaultValue,omitempty"`
		}
		type jsonFunction struct {
			Name            string      `json:"Name"`
			InputParameters []jsonParam `json:"InputParameters"`
			Body            string      `json:"Body"`
			Folder          string      `json:"Folder"`
			DocString       string      `json:"DocString"`
			FunctionKind    string      `json:"FunctionKind"`
			OutputColumns   []any       `json:"OutputColumns"`
		}
		tables := map[string]jsonTable{}
		for _, t := range d.Tbls() {
			tables[t.Name()] = jsonTable{Name: t.Name(), EntityType: "Table", OrderedColumns: jsonColumns(t), Folder: t.Folder, DocString: t.DocString}
		}
		funcs := map[string]jsonFunction{}
		for _, f := range d.Functions() {
			jf := jsonFunction{Name: f.Name, Body: f.Body, Folder: f.Folder, DocString: f.DocString, FunctionKind: "Unknown",
				InputParameters: []jsonParam{}, OutputColumns: []any{}}
			for _, p := range splitParams(f.Parameters) {
				jp := jsonParam{Name: p[0], CslType: p[1], CslDefaultValue: p[2]}
				if t, ok := types.Parse(p[1]); ok {
					jp.Type = "System." + t.DotNet()
				}
				jf.InputParameters = append(jf.InputParameters, jp)
			}
			funcs[f.Name] = jf
		}
		doc := map[string]any{"Plugins": []any{}, "Databases": map[string]any{d.Name(): map[string]any{
			"Name": d.Name(), "Tables": tables, "ExternalTables": map[string]any{}, "MaterializedViews": map[string]any{},
			"Functions": funcs, "EntityGroups": map[string]any{}, "DatabaseAccessMode": "ReadWrite",
			"MajorVersion": 1, "MinorVersion": 0,
		}}}
		b, _ := json.Marshal(doc)
		return one("Table_0", []result.Column{col("DatabaseSchema", types.String)}, [][]any{{string(b)}}), nil
	}
	if r.c.kind == ".show database cslschema" {
		var rows [][]any
		for _, t := range d.Tbls() {
			rows = append(rows, []any{t.Name(), t.CSLSchema(), d.Name(), t.Folder, t.DocString})
		}
		return one("Table_0", tableSchemaColumns, rows), nil
	}
	cols := []result.Column{col("DatabaseName", types.String), col("TableName", types.String), col("ColumnName", types.String),
		col("ColumnType", types.String), col("IsDefaultTable", types.Bool), col("IsDefaultColumn", types.Bool),
		col("PrettyName", types.String), col("Version", types.String), col("Folder", types.String), col("DocString", types.String)}
	rows := [][]any{{d.Name(), "", "", "", false, false, d.PrettyName, "v1.0", "", ""}}
	for _, t := range d.Tbls() {
		rows = append(rows, []any{d.Name(), t.Name(), "", "", false, false, "", "", t.Folder, t.DocString})
		for _, c := range t.Columns() {
			rows = append(rows, []any{d.Name(), t.Name(), c.Name, "System." + c.Type.DotNet(), false, false, "", "", "", ""})
		}
	}
	return one("Table_0", cols, rows), nil
}

// splitParams splits a parameter list `(a:string, b:long=5)` into
// name, type and default triples.
func splitParams(list string) [][3]string {
	inner := strings.TrimSpace(list)
	inner = strings.TrimSuffix(strings.TrimPrefix(inner, "("), ")")
	var out [][3]string
	depth, start := 0, 0
	parts := []string{}
	for i, c := range inner {
		switch c {
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			depth--
		case ',':
			if depth == 0 {
				parts = append(parts, inner[start:i])
				start = i + 1
			}
		}
	}
	parts = append(parts, inner[start:])
	for _, p := range parts {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		name, rest, _ := strings.Cut(p, ":")
		typ, def, _ := strings.Cut(rest, "=")
		out = append(out, [3]string{strings.TrimSpace(name), strings.TrimSpace(typ), strings.TrimSpace(def)})
	}
	return out
}

var principalColumns = []result.Column{col("Role", types.String), col("PrincipalType", types.String),
	col("PrincipalDisplayName", types.String), col("PrincipalObjectId", types.String), col("PrincipalFQN", types.String),
	col("Notes", types.String)}

func principalType(fqn string) string {
	switch {
	case strings.HasPrefix(strings.ToLower(fqn), "aadapp="):
		return "AAD Application"
	case strings.HasPrefix(strings.ToLower(fqn), "aaduser="):
		return "AAD User"
	case strings.HasPrefix(strings.ToLower(fqn), "aadgroup="):
		return "AAD Group"
	}
	return "Unknown"
}

func principalObjectID(fqn string) string {
	_, v, _ := strings.Cut(fqn, "=")
	id, _, _ := strings.Cut(v, ";")
	return id
}

func principalRows(d *storage.Database) [][]any {
	var rows [][]any
	for _, p := range d.Principals {
		name := p.DisplayName
		if name == "" {
			name = p.FQN
		}
		rows = append(rows, []any{"Database " + d.Name() + " " + access.RoleTitle(p.Role), principalType(p.FQN), name,
			principalObjectID(p.FQN), p.FQN, p.Notes})
	}
	return rows
}

func (r *run) showPrincipals() (*result.Set, error) {
	d, err := r.database(access.OpView)
	if err != nil {
		return nil, err
	}
	return one("Table_0", principalColumns, principalRows(d)), nil
}

// changePrincipals runs .add/.drop/.set database D <role> (...).
func (r *run) changePrincipals() (*result.Set, error) {
	d, err := r.database(access.OpAdmin)
	if err != nil {
		return nil, err
	}
	how := map[string]storage.PrincipalChange{".add principals": storage.PrincipalsAdd, ".drop principals": storage.PrincipalsDrop,
		".set principals": storage.PrincipalsSet}[r.c.kind]
	var ps []storage.Principal
	for _, fqn := range r.c.principals {
		if !strings.Contains(fqn, "=") {
			return nil, kerr.BadRequestf("principal '%s' is not a Kusto FQN; write it as 'aadapp=<application id>;<tenant id>' or 'aaduser=<object id>;<tenant id>'", fqn)
		}
		ps = append(ps, storage.Principal{FQN: fqn, Notes: r.c.notes})
	}
	if len(ps) == 0 && how != storage.PrincipalsSet {
		return nil, kerr.BadRequestf("name at least one principal")
	}
	if err := r.store.ChangePrincipals(r.ctx, d.Name(), r.c.role, how, ps); err != nil {
		return nil, err
	}
	return one("Table_0", principalColumns, principalRows(r.refresh(d.Name()))), nil
}
