// Package armtest has in-memory implementations of the arm package's seams
// (Documents, DataPlane, Connections) for tests of the resource provider.
package armtest

import (
	"context"
	"slices"
	"strings"
	"sync"

	"odx/internal/arm"
)

// Documents is an in-memory arm.Documents; ids compare case-insensitively.
type Documents struct {
	mu   sync.Mutex
	docs map[string]map[string]arm.Doc // kind -> lower id -> doc
}

func NewDocuments() *Documents { return &Documents{docs: map[string]map[string]arm.Doc{}} }

func (d *Documents) PutDoc(_ context.Context, kind, id string, body []byte) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.docs[kind] == nil {
		d.docs[kind] = map[string]arm.Doc{}
	}
	d.docs[kind][strings.ToLower(id)] = arm.Doc{ID: id, Body: slices.Clone(body)}
	return nil
}

func (d *Documents) GetDoc(_ context.Context, kind, id string) ([]byte, bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	doc, ok := d.docs[kind][strings.ToLower(id)]
	return slices.Clone(doc.Body), ok, nil
}

func (d *Documents) ListDocs(_ context.Context, kind, idPrefix string) ([]arm.Doc, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []arm.Doc
	for k, doc := range d.docs[kind] {
		if strings.HasPrefix(k, strings.ToLower(idPrefix)) {
			out = append(out, arm.Doc{ID: doc.ID, Body: slices.Clone(doc.Body)})
		}
	}
	slices.SortFunc(out, func(a, b arm.Doc) int { return strings.Compare(strings.ToLower(a.ID), strings.ToLower(b.ID)) })
	return out, nil
}

func (d *Documents) DeleteDoc(_ context.Context, kind, id string) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, ok := d.docs[kind][strings.ToLower(id)]
	delete(d.docs[kind], strings.ToLower(id))
	return ok, nil
}

// DataPlane is an in-memory arm.DataPlane: databases with their policies,
// tables, mappings and principals.
type DataPlane struct {
	mu         sync.Mutex
	databases  map[string]arm.DatabaseSpec
	tables     map[string]bool   // db/table
	mappings   map[string]string // db/table/name -> kind
	principals map[string][]arm.DatabasePrincipal
}

func NewDataPlane() *DataPlane {
	return &DataPlane{databases: map[string]arm.DatabaseSpec{}, tables: map[string]bool{},
		mappings: map[string]string{}, principals: map[string][]arm.DatabasePrincipal{}}
}

// CreateDatabase is what `.create database` does.
func (p *DataPlane) CreateDatabase(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.databases[name]; !ok {
		p.databases[name] = arm.DatabaseSpec{Name: name}
	}
}

// CreateTable is what `.create table` does.
func (p *DataPlane) CreateTable(db, table string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tables[db+"/"+table] = true
}

// CreateMapping is what `.create table T ingestion <kind> mapping` does.
func (p *DataPlane) CreateMapping(db, table, name, kind string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mappings[db+"/"+table+"/"+name] = kind
}

// Principals returns the role entries of a database.
func (p *DataPlane) Principals(db string) []arm.DatabasePrincipal {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.principals[db])
}

func (p *DataPlane) ListDatabases(context.Context) ([]arm.DatabaseSpec, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]arm.DatabaseSpec, 0, len(p.databases))
	for _, d := range p.databases {
		out = append(out, d)
	}
	return out, nil
}

func (p *DataPlane) GetDatabase(_ context.Context, name string) (arm.DatabaseSpec, bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	d, ok := p.databases[name]
	return d, ok, nil
}

func (p *DataPlane) PutDatabase(_ context.Context, db arm.DatabaseSpec) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.databases[db.Name] = db
	return nil
}

func (p *DataPlane) DropDatabase(_ context.Context, name string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.databases, name)
	delete(p.principals, name)
	return nil
}

func (p *DataPlane) AddDatabasePrincipal(_ context.Context, db string, pr arm.DatabasePrincipal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !slices.Contains(p.principals[db], pr) {
		p.principals[db] = append(p.principals[db], pr)
	}
	return nil
}

func (p *DataPlane) DropDatabasePrincipal(_ context.Context, db string, pr arm.DatabasePrincipal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.principals[db] = slices.DeleteFunc(p.principals[db], func(x arm.DatabasePrincipal) bool { return x == pr })
	return nil
}

func (p *DataPlane) TableExists(_ context.Context, db, table string) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.tables[db+"/"+table], nil
}

func (p *DataPlane) MappingKind(_ context.Context, db, table, name string) (string, bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	k, ok := p.mappings[db+"/"+table+"/"+name]
	return k, ok, nil
}

// Connections records what the provider asks of the connection manager.
type Connections struct {
	mu      sync.Mutex
	running map[string]arm.DataConnectionResource // lower id -> definition
	applied int
	// Problems, when set, is what Validate reports.
	Problems func(arm.DataConnectionResource) []string
}

func NewConnections() *Connections {
	return &Connections{running: map[string]arm.DataConnectionResource{}}
}

func (c *Connections) Apply(_ context.Context, dc arm.DataConnectionResource) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.running[strings.ToLower(dc.ID)] = dc
	c.applied++
	return nil
}

func (c *Connections) Remove(_ context.Context, id string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.running, strings.ToLower(id))
	return nil
}

func (c *Connections) Validate(_ context.Context, dc arm.DataConnectionResource) []string {
	if c.Problems == nil {
		return nil
	}
	return c.Problems(dc)
}

func (c *Connections) Status(id string) arm.ConnectionStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.running[strings.ToLower(id)]; ok {
		return arm.ConnectionStatus{State: "Running"}
	}
	return arm.ConnectionStatus{State: "Stopped"}
}

// Running returns the definitions the manager runs, keyed by lower-cased id.
func (c *Connections) Running() map[string]arm.DataConnectionResource {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]arm.DataConnectionResource, len(c.running))
	for k, v := range c.running {
		out[k] = v
	}
	return out
}

// Applied counts Apply calls (starts and restarts).
func (c *Connections) Applied() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.applied
}
