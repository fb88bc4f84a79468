package pipeline

import (
	"strings"
	"time"

	"odx/internal/ingest/format"
	"odx/internal/ingest/mapping"
	"odx/internal/ingest/props"
	"odx/internal/kerr"
	"odx/internal/kql/schema"
)

// CodeMappingNotFound is ADX's code for a mapping reference that names no mapping.
const CodeMappingNotFound = "BadRequest_MappingReferenceWasNotFound"

// target is a request resolved against the catalog: the table's columns,
// the format and compression, and the mapping to bind with.
type target struct {
	columns      []schema.Column
	format       format.Format
	compression  format.Compression
	zipPattern   string
	ignoreFirst  bool
	validation   props.ValidationPolicy
	mapping      *mapping.Mapping
	tags         []string
	ifNotExists  []string
	creationTime time.Time
	// binder is the compiled mapping, set by callers that bind many sources
	// with one target (ConnectionSink); nil otherwise.
	binder *mapping.Binder
}

// resolve finds the table and the mapping of req. Format and compression
// come from the properties, else from the source's name (x.csv.gz), else csv.
func (s *Service) resolve(req Request) (*target, error) {
	if strings.TrimSpace(req.Database) == "" {
		return nil, kerr.New(kerr.BadRequest, "BadRequest_EmptyDatabaseName", "no database is named; give the target database")
	}
	if strings.TrimSpace(req.Table) == "" {
		return nil, kerr.New(kerr.BadRequest, "BadRequest_InvalidOrEmptyTableName", "no table is named; give the target table")
	}
	d, ok := s.store.Snapshot().DB(req.Database)
	if !ok {
		return nil, kerr.New(kerr.BadRequest, kerr.CodeDatabaseMissing, "Database '%s' was not found; create it with `.create database %s`", req.Database, req.Database)
	}
	tbl, ok := d.Tbl(req.Table)
	if !ok {
		return nil, kerr.New(kerr.BadRequest, kerr.CodeTableMissing, "Table '%s' was not found in database '%s'; create it with `.create table %s (...)`", req.Table, req.Database, req.Table)
	}
	p := req.Props
	if p == nil {
		p = &props.Properties{Validation: props.DefaultValidationPolicy}
	}
	t := &target{columns: tbl.Columns(), format: p.Format, compression: p.Compression, zipPattern: p.ZipPattern,
		ignoreFirst: p.IgnoreFirstRecord, validation: p.Validation, tags: p.Tags, ifNotExists: p.IngestIfNotExists}
	if p.CreationTime != nil {
		t.creationTime = *p.CreationTime
	}
	for _, v := range p.IngestIfNotExists {
		t.tags = append(t.tags, "ingest-by:"+v)
	}
	guessed, comp, ok := format.Guess(req.Source)
	if t.format == "" {
		t.format = format.CSV
		if ok {
			t.format = guessed
		}
	}
	if t.compression == format.None && !(t.format.Binary() && comp == format.Gzip) {
		t.compression = comp
	}
	m, err := s.mappingFor(req.Database, req.Table, t.format, p, t.columns)
	if err != nil {
		return nil, err
	}
	t.mapping = m
	return t, nil
}

// mappingFor picks the mapping: inline, else by reference (the table's
// mapping of that name over the database's), else the identity mapping.
func (s *Service) mappingFor(db, table string, f format.Format, p *props.Properties, cols []schema.Column) (*mapping.Mapping, error) {
	kind := mapping.KindOf(f)
	if p.InlineMapping != "" {
		return p.Mapping(f)
	}
	if p.MappingReference != "" {
		m, ok := s.store.Mapping(db, table, strings.ToLower(string(kind)), p.MappingReference)
		if !ok {
			return nil, kerr.New(kerr.BadRequest, CodeMappingNotFound,
				"Mapping reference '%s' of type '%s' in database '%s' could not be found; create it with `.create table %s ingestion %s mapping \"%s\" '[...]'`",
				p.MappingReference, strings.ToLower(string(kind))+"Mapping", db, table, strings.ToLower(string(kind)), p.MappingReference)
		}
		return mapping.Parse(kind, m.Text)
	}
	return mapping.Identity(kind, cols), nil
}
