package mgmt

import (
	"encoding/json"
	"strings"

	"odx/internal/access"
	"odx/internal/kerr"
	"odx/internal/kql/schema"
	"odx/internal/kql/types"
	"odx/internal/result"
	"odx/internal/storage"
)

var functionColumns = []result.Column{col("Name", types.String), col("Parameters", types.String),
	col("Body", types.String), col("Folder", types.String), col("DocString", types.String)}

func functionRow(f schema.Function) []any {
	return []any{f.Name, f.Parameters, f.Body, f.Folder, f.DocString}
}

func (r *run) putFunction() (*result.Set, error) {
	how := map[string]storage.FunctionChange{".create function": storage.FunctionCreate,
		".create-or-alter function": storage.FunctionCreateOrAlter, ".alter function": storage.FunctionAlter}[r.c.kind]
	op := access.OpCreate
	if how == storage.FunctionAlter {
		op = access.OpAdmin
	}
	d, err := r.database(op)
	if err != nil {
		return nil, err
	}
	if _, exists := d.Function(r.c.fn.Name); exists && how == storage.FunctionCreateOrAlter &&
		!r.caller.Can(access.OpAdmin, r.store.Snapshot().RolesOf(d.Name(), r.caller)) {
		return nil, access.Forbidden(r.caller, access.OpAdmin, d.Name())
	}
	if err := r.store.PutFunction(r.ctx, d.Name(), r.c.fn, how, r.c.ifNotExists); err != nil {
		return nil, err
	}
	f, _ := r.refresh(d.Name()).Function(r.c.fn.Name)
	return one("Table_0", functionColumns, [][]any{functionRow(f)}), nil
}

func (r *run) dropFunction() (*result.Set, error) {
	d, err := r.database(access.OpAdmin)
	if err != nil {
		return nil, err
	}
	if err := r.store.DropFunction(r.ctx, d.Name(), r.c.fn.Name, r.c.ifExists); err != nil {
		return nil, err
	}
	return one("Table_0", []result.Column{col("Name", types.String)}, [][]any{{r.c.fn.Name}}), nil
}

func (r *run) showFunctions() (*result.Set, error) {
	d, err := r.database(access.OpMonitor)
	if err != nil {
		return nil, err
	}
	var rows [][]any
	if r.c.kind == ".show function" {
		f, ok := d.Function(r.c.fn.Name)
		if !ok {
			return nil, kerr.NotFoundf("Function '%s' was not found in database '%s'", r.c.fn.Name, d.Name())
		}
		rows = append(rows, functionRow(f))
	} else {
		for _, f := range d.Functions() {
			rows = append(rows, functionRow(f))
		}
	}
	return one("Table_0", functionColumns, rows), nil
}

var policyColumns = []result.Column{col("PolicyName", types.String), col("EntityName", types.String),
	col("Policy", types.String), col("ChildEntities", types.Dynamic), col("EntityType", types.String)}

var policyNames = map[string]string{
	storage.PolicyRetention: "RetentionPolicy", storage.PolicyCaching: "CachingPolicy",
	storage.PolicyIngestionBatching: "IngestionBatchingPolicy", storage.PolicyStreamingIngestion: "StreamingIngestionPolicy",
	storage.PolicyMerge: "ExtentsMergePolicy",
}

// policyTarget resolves the database and (optional) table of a policy command.
func (r *run) policyTarget(op access.Op) (*storage.Database, *storage.Table, error) {
	d, err := r.database(op)
	if err != nil {
		return nil, nil, err
	}
	if r.c.table == "" {
		return d, nil, nil
	}
	t, err := r.table(d, r.c.table)
	return d, t, err
}

func policyRow(kind string, d *storage.Database, t *storage.Table) []any {
	text, entity, typ := d.Policies[kind], "["+d.Name()+"]", "Database"
	children := []string{}
	if t != nil {
		text, entity, typ = t.Policies[kind], "["+d.Name()+"].["+t.Name()+"]", "Table"
	} else {
		for _, tt := range d.Tbls() {
			children = append(children, tt.Name())
		}
	}
	if text == "" {
		text = "null"
	}
	ch, _ := json.Marshal(children)
	return []any{policyNames[kind], entity, text, string(ch), typ}
}

func (r *run) showPolicy() (*result.Set, error) {
	d, t, err := r.policyTarget(access.OpMonitor)
	if err != nil {
		return nil, err
	}
	return one("Table_0", policyColumns, [][]any{policyRow(r.c.policyKind, d, t)}), nil
}

// alterPolicy runs .alter, .alter-merge and .delete of a policy.
func (r *run) alterPolicy() (*result.Set, error) {
	d, t, err := r.policyTarget(access.OpAdmin)
	if err != nil {
		return nil, err
	}
	current := d.Policies[r.c.policyKind]
	tableName := ""
	if t != nil {
		current, tableName = t.Policies[r.c.policyKind], t.Name()
	}
	text := ""
	if r.c.kind != ".delete policy" {
		text, err = buildPolicy(r.c.policyKind, r.c.policy, r.c.policyArgs, current, r.c.kind == ".alter-merge policy" || r.c.policyArgs != nil)
		if err != nil {
			return nil, err
		}
	}
	if err := r.store.SetPolicy(r.ctx, d.Name(), tableName, r.c.policyKind, text); err != nil {
		return nil, err
	}
	d = r.refresh(d.Name())
	if t != nil {
		t, _ = d.Tbl(tableName)
	}
	return one("Table_0", policyColumns, [][]any{policyRow(r.c.policyKind, d, t)}), nil
}

// policyDefaults are the properties ADX shows for a freshly set policy.
func policyDefaults(kind string) map[string]any {
	switch kind {
	case storage.PolicyRetention:
		return map[string]any{"SoftDeletePeriod": "36500.00:00:00", "Recoverability": "Enabled"}
	case storage.PolicyCaching:
		return map[string]any{"DataHotSpan": map[string]any{"Value": "36500.00:00:00"}, "IndexHotSpan": map[string]any{"Value": "36500.00:00:00"}, "ColumnOverrides": []any{}}
	case storage.PolicyIngestionBatching:
		return map[string]any{"MaximumBatchingTimeSpan": "00:05:00", "MaximumNumberOfItems": 500, "MaximumRawDataSizeMB": 1024}
	case storage.PolicyStreamingIngestion:
		return map[string]any{"IsEnabled": false, "HintAllocatedRate": nil}
	case storage.PolicyMerge:
		return map[string]any{"RowCountUpperBoundForMerge": 16000000, "OriginalSizeMBUpperBoundForMerge": 0,
			"MaxExtentsToMerge": 100, "LoopPeriod": "01:00:00", "MaxRangeInHours": 24, "AllowRebuild": true,
			"AllowMerge": true, "Lookback": map[string]any{"Kind": "Default", "CustomPeriod": nil}}
	}
	return map[string]any{}
}

// buildPolicy validates and normalises a policy. With merge, the given
// properties are laid over the current policy (or ADX's defaults).
func buildPolicy(kind, text string, args map[string]string, current string, merge bool) (string, error) {
	base := policyDefaults(kind)
	if merge && current != "" {
		json.Unmarshal([]byte(current), &base)
	}
	given := map[string]any{}
	if text != "" {
		if err := json.Unmarshal([]byte(text), &given); err != nil {
			return "", kerr.BadRequestf("the %s policy is not a JSON object: %v", kind, err)
		}
	}
	for k, v := range args {
		switch {
		case kind == storage.PolicyRetention && k == "softdelete":
			given["SoftDeletePeriod"] = v
		case kind == storage.PolicyRetention && k == "recoverability":
			switch strings.ToLower(v) {
			case "enabled":
				given["Recoverability"] = "Enabled"
			case "disabled":
				given["Recoverability"] = "Disabled"
			default:
				return "", kerr.BadRequestf("recoverability must be 'enabled' or 'disabled', not '%s'", v)
			}
		case kind == storage.PolicyCaching && k == "hot":
			given["DataHotSpan"] = map[string]any{"Value": v}
			given["IndexHotSpan"] = map[string]any{"Value": v}
		case kind == storage.PolicyCaching && k == "hot_window":
			var windows []any
			for _, w := range strings.Split(v, "\n") {
				lo, hi, ok := strings.Cut(w, " .. ")
				if !ok {
					return "", kerr.BadRequestf("hot_window needs a range: datetime(from) .. datetime(to)")
				}
				from, err1 := creationTime(map[string]string{"creationtime": lo})
				to, err2 := creationTime(map[string]string{"creationtime": hi})
				if err1 != nil || err2 != nil {
					return "", kerr.BadRequestf("hot_window bounds must be datetimes: %s", w)
				}
				windows = append(windows, map[string]any{"MinValue": types.FormatDateTime(from), "MaxValue": types.FormatDateTime(to)})
			}
			given["HotWindows"] = windows
		case kind == storage.PolicyStreamingIngestion && (k == "enable" || k == "disable"):
			given["IsEnabled"] = k == "enable"
		default:
			return "", kerr.BadRequestf("'%s' is not a property of the %s policy short form", k, kind)
		}
	}
	for k, v := range given {
		base[k] = v
	}
	// Timespans may be written as literals (10d); store them as ADX shows them.
	for _, k := range []string{"SoftDeletePeriod", "MaximumBatchingTimeSpan", "LoopPeriod"} {
		if s, ok := base[k].(string); ok {
			ticks, err := storage.ParseTimeSpan(s)
			if err != nil {
				return "", kerr.BadRequestf("%s: %v", k, err)
			}
			base[k] = types.FormatTimeSpan(ticks)
		}
	}
	for _, k := range []string{"DataHotSpan", "IndexHotSpan"} {
		// Accept the flat form {"DataHotSpan": "1.00:00:00"} too.
		if s, ok := base[k].(string); ok {
			base[k] = map[string]any{"Value": s}
		}
		if m, ok := base[k].(map[string]any); ok {
			if s, ok := m["Value"].(string); ok {
				ticks, err := storage.ParseTimeSpan(s)
				if err != nil {
					return "", kerr.BadRequestf("%s: %v", k, err)
				}
				m["Value"] = types.FormatTimeSpan(ticks)
			}
		}
	}
	b, _ := json.Marshal(base)
	return string(b), nil
}

var mappingColumns = []result.Column{col("Name", types.String), col("Kind", types.String), col("Mapping", types.String),
	col("LastUpdatedOn", types.DateTime), col("Database", types.String), col("Table", types.String)}

var mappingKindNames = map[string]string{"csv": "Csv", "json": "Json", "avro": "Avro", "parquet": "Parquet", "orc": "Orc",
	"w3clogfile": "W3CLogFile", "sstream": "SStream"}

func mappingRow(m storage.Mapping) []any {
	return []any{m.Name, mappingKindNames[m.Kind], m.Text, m.LastUpdated, m.Database, m.Table}
}

// mappingScope resolves the database and table ("" at database scope) of a mapping command.
func (r *run) mappingScope(op access.Op) (*storage.Database, string, error) {
	d, err := r.database(op)
	if err != nil {
		return nil, "", err
	}
	if r.c.table != "" {
		if _, err := r.table(d, r.c.table); err != nil {
			return nil, "", err
		}
	}
	return d, r.c.table, nil
}

func (r *run) putMapping() (*result.Set, error) {
	d, table, err := r.mappingScope(access.OpAdmin)
	if err != nil {
		return nil, err
	}
	var parsed []map[string]any
	if err := json.Unmarshal([]byte(r.c.mappingText), &parsed); err != nil {
		return nil, kerr.BadRequestf("mapping '%s' must be a JSON array of column mappings: %v", r.c.mappingName, err)
	}
	how := map[string]storage.MappingChange{".create mapping": storage.MappingCreate,
		".create-or-alter mapping": storage.MappingCreateOrAlter, ".alter mapping": storage.MappingAlter}[r.c.kind]
	m := storage.Mapping{Database: d.Name(), Table: table, Kind: r.c.mappingKind, Name: r.c.mappingName, Text: r.c.mappingText}
	if err := r.store.PutMapping(r.ctx, m, how); err != nil {
		return nil, err
	}
	stored, _ := r.store.Mapping(d.Name(), table, m.Kind, m.Name)
	return one("Table_0", mappingColumns, [][]any{mappingRow(stored)}), nil
}

func (r *run) dropMapping() (*result.Set, error) {
	d, table, err := r.mappingScope(access.OpAdmin)
	if err != nil {
		return nil, err
	}
	if err := r.store.DropMapping(r.ctx, d.Name(), table, r.c.mappingKind, r.c.mappingName); err != nil {
		return nil, err
	}
	return r.listMappings(r.refresh(d.Name()), table)
}

func (r *run) showMappings() (*result.Set, error) {
	d, table, err := r.mappingScope(access.OpMonitor)
	if err != nil {
		return nil, err
	}
	return r.listMappings(d, table)
}

func (r *run) listMappings(d *storage.Database, table string) (*result.Set, error) {
	ms := d.Mappings
	if table != "" {
		t, _ := d.Tbl(table)
		ms = t.Mappings
	}
	var rows [][]any
	for _, m := range ms {
		if r.c.mappingKind == "" || m.Kind == r.c.mappingKind {
			rows = append(rows, mappingRow(m))
		}
	}
	return one("Table_0", mappingColumns, rows), nil
}
