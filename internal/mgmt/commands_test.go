package mgmt

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"odx/internal/kerr"
)

func TestDatabasesWorkFromNetDefaultDB(t *testing.T) {
	s, _ := newService(t, "")
	out := run1(t, s, admin, DefaultDatabase, ".create database Samples")
	if out.names() != "DatabaseName:string, PersistentStorage:string, Version:string, IsCurrent:bool, DatabaseAccessMode:string, PrettyName:string, ReservedSlot1:bool, DatabaseId:guid, InTransitionTo:string" {
		t.Fatalf("columns: %s", out.names())
	}
	run1(t, s, admin, "", ".create database ['my-db.v2'] volatile")
	run1(t, s, admin, DefaultDatabase, ".create database Samples ifnotexists")
	if _, err := s.Execute(context.Background(), admin, "", ".create database Samples"); kerr.As(err).Code != kerr.CodeEntityExists {
		t.Fatalf("duplicate create: %v", err)
	}
	dbs := run1(t, s, admin, "Samples", ".show databases")
	if got := dbs.column("DatabaseName"); !slices.Equal(got, []string{"Samples", "my-db.v2"}) {
		t.Fatalf("databases %v", got)
	}
	if got := dbs.column("IsCurrent"); !slices.Equal(got, []string{"true", "false"}) {
		t.Fatalf("IsCurrent %v", got)
	}
	if got := dbs.column("PersistentStorage"); got[1] != "volatile" {
		t.Fatalf("PersistentStorage %v", got)
	}
	run1(t, s, admin, "", ".drop database ['my-db.v2']")
	run1(t, s, admin, "", ".drop database nope ifexists")
	if got := run1(t, s, admin, "", ".show databases").column("DatabaseName"); !slices.Equal(got, []string{"Samples"}) {
		t.Fatalf("after drop: %v", got)
	}
}

func setup(t *testing.T, path string) *Service {
	s, _ := newService(t, path)
	run1(t, s, admin, "", ".create database DB")
	return s
}

func TestTableLifecycle(t *testing.T) {
	s := setup(t, "")
	out := run1(t, s, admin, "DB", ".create table Events (Timestamp:datetime, Name:string, ['Value x']:real) with (folder='ops', docstring=\"raw events\")")
	if out.names() != "TableName:string, Schema:string, DatabaseName:string, Folder:string, DocString:string" {
		t.Fatal(out.names())
	}
	var sch struct {
		Name           string
		OrderedColumns []struct{ Name, Type, CslType string }
	}
	json.Unmarshal([]byte(out.rows[0][1].(string)), &sch)
	if sch.Name != "Events" || len(sch.OrderedColumns) != 3 || sch.OrderedColumns[2].Name != "Value x" || sch.OrderedColumns[0].Type != "System.DateTime" {
		t.Fatalf("schema %+v", sch)
	}
	run1(t, s, admin, "DB", ".create tables A (x:long), B (y:string)")
	run1(t, s, admin, "DB", ".create-merge table Events (Name:string, Level:int)")
	if got := run1(t, s, admin, "DB", ".show table Events cslschema").column("Schema"); got[0] != "Timestamp:datetime,Name:string,['Value x']:real,Level:int" {
		t.Fatalf("after create-merge: %v", got)
	}
	run1(t, s, admin, "DB", ".alter-merge table A (z:dynamic)")
	run1(t, s, admin, "DB", ".alter table B (y:string, w:guid)")
	run1(t, s, admin, "DB", ".alter column B.w type=string")
	run1(t, s, admin, "DB", ".drop column A.z")
	run1(t, s, admin, "DB", ".alter table A docstring 'the A table'")
	tables := run1(t, s, admin, "DB", ".show tables")
	if tables.names() != "TableName:string, DatabaseName:string, Folder:string, DocString:string" {
		t.Fatal(tables.names())
	}
	if got := tables.column("TableName"); !slices.Equal(got, []string{"A", "B", "Events"}) {
		t.Fatalf("tables %v", got)
	}
	if got := tables.column("DocString"); !slices.Equal(got, []string{"the A table", "", "raw events"}) {
		t.Fatalf("docstrings %v", got)
	}
	if got := run1(t, s, admin, "DB", ".show table B cslschema").column("Schema"); got[0] != "y:string,w:string" {
		t.Fatalf("B %v", got)
	}
	if got := run1(t, s, admin, "DB", ".show table A cslschema").column("Schema"); got[0] != "x:long" {
		t.Fatalf("A %v", got)
	}
	show := run1(t, s, admin, "DB", ".show table Events")
	if got := show.column("AttributeType"); !slices.Equal(got, []string{"System.DateTime", "System.String", "System.Double", "System.Int32"}) {
		t.Fatalf(".show table: %v", got)
	}
	js := run1(t, s, admin, "DB", ".show table Events schema as json")
	if !strings.Contains(js.rows[0][1].(string), `"CslType":"real"`) {
		t.Fatalf("schema as json %v", js.rows[0][1])
	}
	run1(t, s, admin, "DB", ".rename tables A=B, B=A")
	run1(t, s, admin, "DB", ".rename table Events to Events2")
	if got := run1(t, s, admin, "DB", ".show table A cslschema").column("Schema"); got[0] != "y:string,w:string" {
		t.Fatalf("swap: %v", got)
	}
	run1(t, s, admin, "DB", ".drop tables (A, Nope) ifexists")
	left := run1(t, s, admin, "DB", ".drop table B")
	if got := left.column("TableName"); !slices.Equal(got, []string{"Events2"}) {
		t.Fatalf("remaining %v", got)
	}
	if _, err := s.Execute(context.Background(), admin, "DB", ".drop table B"); kerr.As(err).Code != kerr.CodeTableMissing {
		t.Fatalf("drop missing: %v", err)
	}
	schema := run1(t, s, admin, "DB", ".show database DB schema")
	if !slices.Contains(schema.column("ColumnName"), "Value x") {
		t.Fatalf("database schema %v", schema.rows)
	}
	dj := run1(t, s, admin, "DB", ".show database DB schema as json")
	var doc struct {
		Databases map[string]struct {
			Tables map[string]struct{ OrderedColumns []struct{ Name string } }
		}
	}
	if err := json.Unmarshal([]byte(dj.rows[0][0].(string)), &doc); err != nil || len(doc.Databases["DB"].Tables["Events2"].OrderedColumns) != 4 {
		t.Fatalf("schema json %v %v", dj.rows, err)
	}
	details := run1(t, s, admin, "DB", ".show tables details")
	if details.col("TotalRowCount") < 0 || details.col("RetentionPolicy") < 0 || len(details.rows) != 1 {
		t.Fatalf("details %s", details.names())
	}
}

func TestIngestInlineAndExtents(t *testing.T) {
	s := setup(t, "")
	run1(t, s, admin, "DB", ".create table T (n:long, s:string, d:dynamic, ok:bool, at:datetime, g:guid, dur:timespan, dec:decimal)")
	out := run1(t, s, admin, "DB", ".ingest inline into table T with (tags='[\"drop-by:a\"]') <|\n1,hello,\"{\"\"k\"\": 1}\",true,2024-01-02T03:04:05Z,6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9,01:00:00,1.5\n2,,,,,,,")
	if out.names() != "ExtentId:guid, ItemLoaded:string, Duration:timespan, HasErrors:bool, OperationId:guid" || len(out.rows) != 1 {
		t.Fatalf("ingest result %s %v", out.names(), out.rows)
	}
	run1(t, s, admin, "DB", ".ingest inline into table T with (format='json') <| {\"n\": 3, \"s\": \"x\", \"d\": [1,2]}")
	ext := run1(t, s, admin, "DB", ".show table T extents")
	if got := ext.column("RowCount"); !slices.Equal(got, []string{"2", "1"}) {
		t.Fatalf("extents %v", got)
	}
	if got := ext.column("Tags"); got[0] != "drop-by:a" {
		t.Fatalf("tags %v", got)
	}
	if len(run1(t, s, admin, "DB", ".show extents").rows) != 2 || len(run1(t, s, admin, "", ".show extents").rows) != 2 {
		t.Fatal("database or cluster scope extents")
	}
	if got := run1(t, s, admin, "DB", ".set-or-append Counts <| T | count").column("RowCount"); got[0] != "1" {
		t.Fatalf("set-or-append %v", got)
	}
	id := ext.rows[0][0].(string)
	dropped := run1(t, s, admin, "DB", ".drop extent "+id)
	if got := dropped.column("ExtentId"); !slices.Equal(got, []string{id}) {
		t.Fatalf("dropped %v", got)
	}
	counts := run1(t, s, admin, "DB", ".append Counts <| T | count")
	if counts.rows[0][5] != int64(1) {
		t.Fatalf("append %v", counts.rows)
	}
	// Counts now holds 3 (first count) and 1 (after the drop).
	q := queryFn(s)
	if got := q(t, "Counts").column("Count"); !slices.Equal(got, []string{"3", "1"}) {
		t.Fatalf("Counts %v", got)
	}
	run1(t, s, admin, "DB", ".drop extents older 0 days from T")
	if got := q(t, "T").rows; len(got) != 0 {
		t.Fatalf("rows after dropping all: %v", got)
	}
	// .set-or-replace swaps the content; .set refuses an existing table.
	run1(t, s, admin, "DB", ".set-or-replace Counts <| range Count from 1 to 5 step 1")
	if got := q(t, "Counts").column("Count"); len(got) != 5 {
		t.Fatalf("replace: %v", got)
	}
	if _, err := s.Execute(context.Background(), admin, "DB", ".set Counts <| Counts"); kerr.As(err).Code != kerr.CodeEntityExists {
		t.Fatalf(".set on existing: %v", err)
	}
	if _, err := s.Execute(context.Background(), admin, "DB", ".append Missing <| Counts"); kerr.As(err).Code != kerr.CodeTableMissing {
		t.Fatalf(".append to missing: %v", err)
	}
	// ingestIfNotExists skips a second ingestion with the same ingest-by tag.
	cmd := ".ingest inline into table T with (tags='[\"ingest-by:x\"]', ingestIfNotExists='[\"x\"]') <| 9"
	run1(t, s, admin, "DB", cmd)
	if got := run1(t, s, admin, "DB", cmd); len(got.rows) != 0 {
		t.Fatalf("second ingest-by:x should be skipped: %v", got.rows)
	}
	// A value that does not convert is stored as null and reported, as ADX
	// does: the command succeeds and says it had errors.
	if got := run1(t, s, admin, "DB", ".ingest inline into table T <| notanumber").column("HasErrors"); !slices.Equal(got, []string{"true"}) {
		t.Fatalf("bad data: HasErrors %v, want [true]", got)
	}
}

func queryFn(s *Service) func(t *testing.T, text string) table {
	return func(t *testing.T, text string) table {
		t.Helper()
		set, err := s.q.Query(context.Background(), admin, "DB", text, nil)
		if err != nil {
			t.Fatal(err)
		}
		return readSet(t, set)
	}
}

func TestFunctions(t *testing.T) {
	s := setup(t, "")
	out := run1(t, s, admin, "DB", ".create function with (folder='lib', docstring='adds') Add(a:long, b:long=1) { print r = a + b }")
	if got := out.rows[0]; got[0] != "Add" || got[1] != "(a:long, b:long=1)" || got[2] != "{ print r = a + b }" || got[3] != "lib" || got[4] != "adds" {
		t.Fatalf("function row %v", got)
	}
	if _, err := s.Execute(context.Background(), admin, "DB", ".create function Add() { 1 }"); kerr.As(err).Code != kerr.CodeEntityExists {
		t.Fatalf("duplicate: %v", err)
	}
	run1(t, s, admin, "DB", ".create function ifnotexists Add() { 1 }")
	run1(t, s, admin, "DB", ".create-or-alter function Add() { print 'a}b' }")
	if got := run1(t, s, admin, "DB", ".show function Add").column("Body"); got[0] != "{ print 'a}b' }" {
		t.Fatalf("body %v", got)
	}
	if _, err := s.Execute(context.Background(), admin, "DB", ".create function Two() { 2 } x"); kerr.As(err).Code != kerr.CodeSyntax {
		t.Fatalf("trailing text after the body: %v", err)
	}
	if _, err := s.Execute(context.Background(), admin, "DB", ".alter function Two() { 2 }"); kerr.As(err).Code != kerr.CodeEntityNotFound {
		t.Fatalf("alter of a missing function: %v", err)
	}
	run1(t, s, admin, "DB", ".drop function Add")
	if got := run1(t, s, admin, "DB", ".show functions").rows; len(got) != 0 {
		t.Fatalf("functions after drop %v", got)
	}
}

func TestPoliciesPrincipalsMappings(t *testing.T) {
	s := setup(t, "")
	run1(t, s, admin, "DB", ".create table T (a:long)")
	p := run1(t, s, admin, "DB", ".alter table T policy retention ```{\"SoftDeletePeriod\": \"10.00:00:00\", \"Recoverability\": \"Disabled\"}```")
	if p.names() != "PolicyName:string, EntityName:string, Policy:string, ChildEntities:dynamic, EntityType:string" {
		t.Fatal(p.names())
	}
	if p.rows[0][0] != "RetentionPolicy" || p.rows[0][1] != "[DB].[T]" || p.rows[0][4] != "Table" {
		t.Fatalf("policy row %v", p.rows[0])
	}
	run1(t, s, admin, "DB", ".alter-merge table T policy retention softdelete = 30d")
	var ret struct{ SoftDeletePeriod, Recoverability string }
	json.Unmarshal([]byte(run1(t, s, admin, "DB", ".show table T policy retention").rows[0][2].(string)), &ret)
	if ret.SoftDeletePeriod != "30.00:00:00" || ret.Recoverability != "Disabled" {
		t.Fatalf("merged retention %+v", ret)
	}
	run1(t, s, admin, "DB", ".alter database DB policy caching hot = 1d")
	if got := run1(t, s, admin, "DB", ".show database DB policy caching").rows[0][2].(string); !strings.Contains(got, `"DataHotSpan":{"Value":"1.00:00:00"}`) {
		t.Fatalf("caching %s", got)
	}
	hw := run1(t, s, admin, "", ".alter table DB.T policy caching hot = 3d, hot_window = datetime(2021-01-01) .. datetime(2021-02-01), hot_window = datetime(2021-04-01) .. datetime(2021-05-01)")
	if got := hw.rows[0][2].(string); !strings.Contains(got, `"HotWindows":[{"MaxValue":"2021-02-01T00:00:00.0000000Z","MinValue":"2021-01-01T00:00:00.0000000Z"},{`) {
		t.Fatalf("hot windows %s", got)
	}
	run1(t, s, admin, "DB", `.alter database DB policy caching '{"DataHotSpan":"2.00:00:00","IndexHotSpan":"2.00:00:00"}'`)
	if got := run1(t, s, admin, "", ".show table DB.T policy caching").rows[0][2].(string); !strings.Contains(got, `"DataHotSpan":{"Value":"3.00:00:00"}`) {
		t.Fatalf("qualified table policy %s", got)
	}
	if got := run1(t, s, admin, "DB", ".show database DB policy caching").rows[0][2].(string); !strings.Contains(got, `"DataHotSpan":{"Value":"2.00:00:00"}`) {
		t.Fatalf("flat caching form normalised: %s", got)
	}
	run1(t, s, admin, "DB", ".alter table T policy streamingingestion enable")
	run1(t, s, admin, "DB", `.alter table T policy ingestionbatching '{"MaximumBatchingTimeSpan":"00:00:30"}'`)
	run1(t, s, admin, "DB", ".delete table T policy ingestionbatching")
	if got := run1(t, s, admin, "DB", ".show table T policy ingestionbatching").rows[0][2]; got != "null" {
		t.Fatalf("deleted policy shows %v", got)
	}

	pr := run1(t, s, admin, "DB", ".add database DB viewers ('aadapp=11111111-2222-3333-4444-555555555555;tenant1') 'reporting app'")
	if pr.names() != "Role:string, PrincipalType:string, PrincipalDisplayName:string, PrincipalObjectId:string, PrincipalFQN:string, Notes:string" {
		t.Fatal(pr.names())
	}
	if got := pr.rows[0]; got[0] != "Database DB Viewer" || got[1] != "AAD Application" || got[3] != "11111111-2222-3333-4444-555555555555" || got[5] != "reporting app" {
		t.Fatalf("principal %v", got)
	}
	run1(t, s, admin, "DB", ".add database DB ingestors ('aadapp=ing;tenant1')")
	run1(t, s, admin, "DB", ".drop database DB viewers ('aadapp=11111111-2222-3333-4444-555555555555;tenant1')")
	if got := run1(t, s, admin, "DB", ".show database DB principals").column("PrincipalFQN"); !slices.Equal(got, []string{"aadapp=ing;tenant1"}) {
		t.Fatalf("principals %v", got)
	}
	run1(t, s, admin, "DB", ".set database DB ingestors none")
	if got := run1(t, s, admin, "DB", ".show database DB principals").rows; len(got) != 0 {
		t.Fatalf("principals after set none %v", got)
	}

	m := run1(t, s, admin, "DB", `.create table T ingestion json mapping "m1" '[{"column":"a","Properties":{"Path":"$.a"}}]'`)
	if m.names() != "Name:string, Kind:string, Mapping:string, LastUpdatedOn:datetime, Database:string, Table:string" || m.rows[0][1] != "Json" {
		t.Fatalf("mapping %s %v", m.names(), m.rows)
	}
	run1(t, s, admin, "DB", `.create-or-alter table T ingestion csv mapping "c1" '[' '{"column":"a","Properties":{"Ordinal":"0"}}' ']'`)
	run1(t, s, admin, "DB", `.create database DB ingestion json mapping "dbwide" '[]'`)
	if got := run1(t, s, admin, "DB", ".show table T ingestion mappings").column("Name"); !slices.Equal(got, []string{"c1", "m1"}) {
		t.Fatalf("mappings %v", got)
	}
	if got := run1(t, s, admin, "DB", ".show table T ingestion csv mappings").column("Mapping"); got[0] != `[{"column":"a","Properties":{"Ordinal":"0"}}]` {
		t.Fatalf("csv mapping %v", got)
	}
	run1(t, s, admin, "DB", `.drop table T ingestion json mapping "m1"`)
	if got := run1(t, s, admin, "DB", ".show database DB ingestion mappings").column("Name"); !slices.Equal(got, []string{"dbwide"}) {
		t.Fatalf("db mappings %v", got)
	}
	if _, err := s.Execute(context.Background(), admin, "DB", `.create table T ingestion json mapping "bad" 'not json'`); kerr.As(err).Category != kerr.BadRequest {
		t.Fatalf("bad mapping: %v", err)
	}
}

func TestVersionAndCluster(t *testing.T) {
	s, _ := newService(t, "")
	v := run1(t, s, admin, DefaultDatabase, ".show version")
	if v.names() != "BuildVersion:string, BuildTime:datetime, ServiceType:string, ProductVersion:string" {
		t.Fatal(v.names())
	}
	c := run1(t, s, admin, DefaultDatabase, ".show cluster")
	if c.col("NodeId") != 0 || c.col("Address") != 1 || len(c.rows) != 1 {
		t.Fatal(c.names())
	}
}

func TestRestartKeepsCommandsState(t *testing.T) {
	path := filepath.Join(t.TempDir(), "odx.duckdb")
	s, st := newService(t, path)
	run1(t, s, admin, "", ".create database DB")
	run1(t, s, admin, "DB", ".create table T (a:long)")
	run1(t, s, admin, "DB", ".ingest inline into table T <| 1\n2")
	run1(t, s, admin, "DB", ".create function F() { T }")
	run1(t, s, admin, "DB", ".alter table T policy retention softdelete = 7d")
	st.Close()
	s2, _ := newService(t, path)
	if got := run1(t, s2, admin, "DB", ".show table T extents").column("RowCount"); !slices.Equal(got, []string{"2"}) {
		t.Fatalf("extents after restart %v", got)
	}
	if got := run1(t, s2, admin, "DB", ".show functions").column("Name"); !slices.Equal(got, []string{"F"}) {
		t.Fatalf("functions after restart %v", got)
	}
}

func TestDropExtentsByTag(t *testing.T) {
	s := setup(t, "")
	run1(t, s, admin, "DB", ".create table T (a:long)")
	run1(t, s, admin, "DB", `.ingest inline into table T with (tags='["drop-by:batch7"]') <| 1`)
	run1(t, s, admin, "DB", `.ingest inline into table T with (tags='["drop-by:batch8"]') <| 2`)
	run1(t, s, admin, "DB", `.ingest inline into table T <| 3`)
	out := run1(t, s, admin, "DB", `.drop extents <| .show table T extents where tags has "drop-by:BATCH7"`)
	if len(out.rows) != 1 {
		t.Fatalf("dropped %v", out.rows)
	}
	out = run1(t, s, admin, "DB", `.drop extents <| .show database DB extents | where tags contains "batch"`)
	if len(out.rows) != 1 {
		t.Fatalf("dropped %v", out.rows)
	}
	if got := queryFn(s)(t, "T").column("a"); !slices.Equal(got, []string{"3"}) {
		t.Fatalf("left %v", got)
	}
	if _, err := s.Execute(context.Background(), admin, "DB", `.drop extents <| T | where a > 1`); kerr.As(err).Code != kerr.CodeSyntax {
		t.Fatalf("unsupported form: %v", err)
	}
}
