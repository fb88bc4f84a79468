package storage

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"

	"odx/internal/engine"
	"odx/internal/kerr"
	"odx/internal/kql/schema"
)

// CreateDatabase creates database name. The creator (if it has an FQN)
// becomes its first admin, as in Kusto. created is false when the database
// existed and ifNotExists was set.
func (s *Store) CreateDatabase(ctx context.Context, name string, persistent, ifNotExists bool, creator Principal) (created bool, err error) {
	if err := ValidateName("Database", name); err != nil {
		return false, err
	}
	if _, ok := s.Snapshot().databases[name]; ok {
		if ifNotExists {
			return false, nil
		}
		return false, errExists("Database", name)
	}
	schemaName := SchemaName(name)
	err = s.ddlTx(ctx, func(tx *engine.Tx) error {
		if _, ok := s.Snapshot().databases[name]; ok {
			return errExists("Database", name)
		}
		if _, err := tx.Exec(`CREATE SCHEMA ` + engine.QuoteIdent(schemaName)); err != nil {
			return fmt.Errorf("cannot create schema for database %s: %w", name, err)
		}
		now := s.now().UTC()
		if _, err := tx.Exec(`INSERT INTO odx_meta.databases VALUES (?, ?, ?, ?, ?, ?, '{}')`,
			name, schemaName, uuid.NewString(), now, persistent, name); err != nil {
			return err
		}
		if creator.FQN != "" {
			creator.Role = "admins"
			creator.Added = now
			return insertPrincipal(tx, name, creator)
		}
		return nil
	})
	if err != nil {
		if kerr.As(err).Code == kerr.CodeEntityExists && ifNotExists {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// DropDatabase drops a database with all its tables, rows and metadata.
func (s *Store) DropDatabase(ctx context.Context, name string, ifExists bool) (dropped bool, err error) {
	if _, ok := s.Snapshot().databases[name]; !ok {
		if ifExists {
			return false, nil
		}
		return false, errDatabaseMissing(name)
	}
	err = s.ddlTx(ctx, func(tx *engine.Tx) error {
		d, ok := s.Snapshot().databases[name]
		if !ok {
			return errDatabaseMissing(name)
		}
		if _, err := tx.Exec(`DROP SCHEMA ` + d.SchemaSQL + ` CASCADE`); err != nil {
			return fmt.Errorf("cannot drop database %s: %w", name, err)
		}
		for _, t := range []string{"databases WHERE name", "tables WHERE database_name", "functions WHERE database_name",
			"policies WHERE database_name", "principals WHERE database_name", "mappings WHERE database_name", "extents WHERE database_name"} {
			if _, err := tx.Exec(`DELETE FROM odx_meta.`+t+` = ?`, name); err != nil {
				return err
			}
		}
		return nil
	})
	return err == nil, err
}

func (s *Store) database(name string) (*Database, error) {
	d, ok := s.Snapshot().databases[name]
	if !ok {
		return nil, errDatabaseMissing(name)
	}
	return d, nil
}

func checkColumns(cols []schema.Column) error {
	if len(cols) == 0 {
		return kerr.BadRequestf("a table needs at least one column")
	}
	seen := map[string]string{}
	for _, c := range cols {
		if err := ValidateName("Column", c.Name); err != nil {
			return err
		}
		if c.Name == schema.ExtentColumn {
			return kerr.BadRequestf("column name '%s' is reserved by odx", c.Name)
		}
		k := strings.ToLower(c.Name)
		if prev, ok := seen[k]; ok {
			if prev == c.Name {
				return kerr.BadRequestf("column '%s' appears more than once", c.Name)
			}
			return kerr.BadRequestf("columns '%s' and '%s' differ only in case, which odx cannot store; rename one", prev, c.Name)
		}
		seen[k] = c.Name
	}
	return nil
}

// TableSpec describes a table for CreateTable and friends.
type TableSpec struct {
	Name      string
	Columns   []schema.Column
	Folder    *string // nil keeps the current value
	DocString *string
}

func deref(p *string, def string) string {
	if p == nil {
		return def
	}
	return *p
}

func createTableTx(tx *engine.Tx, d *Database, spec TableSpec, now any) error {
	tableRaw := TableName(spec.Name)
	var b strings.Builder
	b.WriteString("CREATE TABLE " + qualified(d.schemaName, tableRaw) + " (")
	for _, c := range spec.Columns {
		b.WriteString(engine.QuoteIdent(c.Name) + " " + c.Type.DuckDB() + ", ")
	}
	b.WriteString(engine.QuoteIdent(schema.ExtentColumn) + " UUID)")
	if _, err := tx.Exec(b.String()); err != nil {
		return fmt.Errorf("cannot create table %s: %w", spec.Name, err)
	}
	_, err := tx.Exec(`INSERT INTO odx_meta.tables VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		d.name, spec.Name, tableRaw, encodeColumns(spec.Columns), deref(spec.DocString, ""), deref(spec.Folder, ""), uuid.NewString(), now)
	return err
}

// TableChange says how CreateTable treats an existing table.
type TableChange uint8

const (
	// CreateOnly (`.create table`) succeeds on an existing table only when
	// its columns already are exactly the given ones.
	CreateOnly TableChange = iota
	// CreateMerge (`.create-merge table`) adds missing columns to an existing table.
	CreateMerge
	// Alter (`.alter table`) requires the table and sets its columns to
	// exactly the given ones, in that order, dropping the others.
	Alter
	// AlterMerge (`.alter-merge table`) requires the table and adds missing columns.
	AlterMerge
)

// CreateTables creates or changes tables in one transaction.
func (s *Store) CreateTables(ctx context.Context, db string, specs []TableSpec, how TableChange) error {
	if _, err := s.database(db); err != nil {
		return err
	}
	for _, spec := range specs {
		if err := ValidateName("Table", spec.Name); err != nil {
			return err
		}
		if err := checkColumns(spec.Columns); err != nil {
			return err
		}
	}
	return s.ddlTx(ctx, func(tx *engine.Tx) error {
		d, err := s.database(db)
		if err != nil {
			return err
		}
		now := s.now().UTC()
		for _, spec := range specs {
			t, exists := d.tables[spec.Name]
			if !exists {
				if how == Alter || how == AlterMerge {
					return errTableMissing(db, spec.Name)
				}
				if err := createTableTx(tx, d, spec, now); err != nil {
					return err
				}
				continue
			}
			cols, err := mergeColumns(t, spec.Columns, how)
			if err != nil {
				return err
			}
			if err := alterTableTx(tx, t, cols); err != nil {
				return err
			}
			if _, err := tx.Exec(`UPDATE odx_meta.tables SET columns = ?, folder = ?, docstring = ? WHERE database_name = ? AND name = ?`,
				encodeColumns(cols), deref(spec.Folder, t.Folder), deref(spec.DocString, t.DocString), db, t.name); err != nil {
				return err
			}
		}
		return nil
	})
}

// mergeColumns computes a table's new column list.
func mergeColumns(t *Table, want []schema.Column, how TableChange) ([]schema.Column, error) {
	switch how {
	case CreateOnly:
		if !slices.Equal(t.columns, want) {
			return nil, kerr.New(kerr.BadRequest, kerr.CodeEntityExists,
				"Table '%s' already exists with a different schema (%s); use .create-merge table or .alter table to change it", t.name, t.CSLSchema())
		}
		return t.columns, nil
	case Alter:
		return want, nil
	}
	cols := slices.Clone(t.columns)
	for _, w := range want {
		if c, ok := t.Column(w.Name); ok {
			if c.Type != w.Type {
				return nil, kerr.BadRequestf("column '%s' of table '%s' is of type '%s', not '%s'; use .alter column to change its type", w.Name, t.name, c.Type, w.Type)
			}
			continue
		}
		cols = append(cols, w)
	}
	return cols, nil
}

// alterTableTx makes the physical table match cols: drops columns no longer
// listed, adds new ones, and changes types (existing values are converted
// where possible and become null otherwise, as Kusto shows them).
func alterTableTx(tx *engine.Tx, t *Table, cols []schema.Column) error {
	q := qualified(t.schemaRaw, t.tableRaw)
	for _, old := range t.columns {
		if !slices.ContainsFunc(cols, func(c schema.Column) bool { return c.Name == old.Name }) {
			if _, err := tx.Exec(`ALTER TABLE ` + q + ` DROP COLUMN ` + engine.QuoteIdent(old.Name)); err != nil {
				return fmt.Errorf("cannot drop column %s: %w", old.Name, err)
			}
		}
	}
	for _, c := range cols {
		old, ok := t.Column(c.Name)
		switch {
		case !ok:
			if _, err := tx.Exec(`ALTER TABLE ` + q + ` ADD COLUMN ` + engine.QuoteIdent(c.Name) + ` ` + c.Type.DuckDB()); err != nil {
				return fmt.Errorf("cannot add column %s: %w", c.Name, err)
			}
		case old.Type != c.Type:
			id := engine.QuoteIdent(c.Name)
			if _, err := tx.Exec(`ALTER TABLE ` + q + ` ALTER COLUMN ` + id + ` SET DATA TYPE ` + c.Type.DuckDB() +
				` USING ` + convertSQL(id, old.Type, c.Type)); err != nil {
				return fmt.Errorf("cannot change the type of column %s: %w", c.Name, err)
			}
		}
	}
	return nil
}

// AlterColumnType changes one column's type (`.alter column T.c type=t`).
func (s *Store) AlterColumnType(ctx context.Context, db, table, column string, typ schema.Column) error {
	return s.editColumns(ctx, db, table, func(t *Table) ([]schema.Column, error) {
		cols := slices.Clone(t.columns)
		for i := range cols {
			if cols[i].Name == column {
				cols[i].Type = typ.Type
				return cols, nil
			}
		}
		return nil, errNotFound("Column", table+"."+column)
	})
}

// DropColumns removes columns from a table (`.drop column`, `.drop table T columns (...)`).
func (s *Store) DropColumns(ctx context.Context, db, table string, columns []string) error {
	return s.editColumns(ctx, db, table, func(t *Table) ([]schema.Column, error) {
		for _, c := range columns {
			if _, ok := t.Column(c); !ok {
				return nil, errNotFound("Column", table+"."+c)
			}
		}
		cols := slices.DeleteFunc(slices.Clone(t.columns), func(c schema.Column) bool { return slices.Contains(columns, c.Name) })
		if len(cols) == 0 {
			return nil, kerr.BadRequestf("cannot drop every column of table '%s'; drop the table instead", table)
		}
		return cols, nil
	})
}

// SetTableDetails changes a table's folder or docstring.
func (s *Store) SetTableDetails(ctx context.Context, db, table string, folder, docString *string) error {
	return s.editColumns(ctx, db, table, func(t *Table) ([]schema.Column, error) { return t.columns, nil }, folder, docString)
}

func (s *Store) editColumns(ctx context.Context, db, table string, edit func(t *Table) ([]schema.Column, error), details ...*string) error {
	return s.ddlTx(ctx, func(tx *engine.Tx) error {
		d, err := s.database(db)
		if err != nil {
			return err
		}
		t, ok := d.tables[table]
		if !ok {
			return errTableMissing(db, table)
		}
		cols, err := edit(t)
		if err != nil {
			return err
		}
		if err := checkColumns(cols); err != nil {
			return err
		}
		if err := alterTableTx(tx, t, cols); err != nil {
			return err
		}
		folder, doc := t.Folder, t.DocString
		if len(details) == 2 {
			folder, doc = deref(details[0], folder), deref(details[1], doc)
		}
		_, err = tx.Exec(`UPDATE odx_meta.tables SET columns = ?, folder = ?, docstring = ? WHERE database_name = ? AND name = ?`,
			encodeColumns(cols), folder, doc, db, table)
		return err
	})
}

// DropTables drops tables with their rows, extents, policies and mappings.
// It returns the names actually dropped.
func (s *Store) DropTables(ctx context.Context, db string, names []string, ifExists bool) ([]string, error) {
	var dropped []string
	err := s.ddlTx(ctx, func(tx *engine.Tx) error {
		dropped = dropped[:0]
		d, err := s.database(db)
		if err != nil {
			return err
		}
		for _, n := range names {
			t, ok := d.tables[n]
			if !ok {
				if ifExists {
					continue
				}
				return errTableMissing(db, n)
			}
			if _, err := tx.Exec(`DROP TABLE ` + t.sqlName); err != nil {
				return fmt.Errorf("cannot drop table %s: %w", n, err)
			}
			for _, m := range []string{"tables WHERE name", "policies WHERE table_name", "mappings WHERE table_name", "extents WHERE table_name"} {
				if _, err := tx.Exec(`DELETE FROM odx_meta.`+m+` = ? AND database_name = ?`, n, db); err != nil {
					return err
				}
			}
			dropped = append(dropped, n)
		}
		return nil
	})
	return dropped, err
}

// RenameTables renames tables; pairs are applied together, so `A=B, B=A` swaps.
func (s *Store) RenameTables(ctx context.Context, db string, pairs [][2]string) error {
	for _, p := range pairs {
		if err := ValidateName("Table", p[1]); err != nil {
			return err
		}
	}
	return s.ddlTx(ctx, func(tx *engine.Tx) error {
		d, err := s.database(db)
		if err != nil {
			return err
		}
		names := map[string]bool{}
		for n := range d.tables {
			names[n] = true
		}
		for _, p := range pairs {
			if !names[p[0]] {
				return errTableMissing(db, p[0])
			}
			delete(names, p[0])
		}
		for _, p := range pairs {
			if names[p[1]] {
				return errExists("Table", p[1])
			}
			names[p[1]] = true
		}
		// Two steps through temporary names, so swaps never collide.
		for i, p := range pairs {
			tmp := fmt.Sprintf("__odx_rename_%d", i)
			t := d.tables[p[0]]
			if _, err := tx.Exec(`ALTER TABLE ` + t.sqlName + ` RENAME TO ` + engine.QuoteIdent(tmp)); err != nil {
				return fmt.Errorf("cannot rename table %s: %w", p[0], err)
			}
			for _, m := range []string{"tables SET name = ? WHERE name", "policies SET table_name = ? WHERE table_name",
				"mappings SET table_name = ? WHERE table_name", "extents SET table_name = ? WHERE table_name"} {
				if _, err := tx.Exec(`UPDATE odx_meta.`+m+` = ? AND database_name = ?`, tmp, p[0], db); err != nil {
					return err
				}
			}
		}
		for i, p := range pairs {
			tmp := fmt.Sprintf("__odx_rename_%d", i)
			raw := TableName(p[1])
			if _, err := tx.Exec(`ALTER TABLE ` + qualified(d.schemaName, tmp) + ` RENAME TO ` + engine.QuoteIdent(raw)); err != nil {
				return fmt.Errorf("cannot rename table %s to %s: %w", p[0], p[1], err)
			}
			if _, err := tx.Exec(`UPDATE odx_meta.tables SET name = ?, sql_name = ? WHERE name = ? AND database_name = ?`, p[1], raw, tmp, db); err != nil {
				return err
			}
			for _, m := range []string{"policies", "mappings", "extents"} {
				if _, err := tx.Exec(`UPDATE odx_meta.`+m+` SET table_name = ? WHERE table_name = ? AND database_name = ?`, p[1], tmp, db); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// FunctionChange says how PutFunction treats an existing function.
type FunctionChange uint8

const (
	FunctionCreate FunctionChange = iota
	FunctionCreateOrAlter
	FunctionAlter
)

// PutFunction stores a function; ifNotExists makes FunctionCreate a no-op on an existing one.
func (s *Store) PutFunction(ctx context.Context, db string, f schema.Function, how FunctionChange, ifNotExists bool) error {
	if err := ValidateName("Function", f.Name); err != nil {
		return err
	}
	return s.ddlTx(ctx, func(tx *engine.Tx) error {
		d, err := s.database(db)
		if err != nil {
			return err
		}
		if _, ok := d.tables[f.Name]; ok {
			return kerr.BadRequestf("a table named '%s' exists already; a function cannot have the same name", f.Name)
		}
		_, exists := d.functions[f.Name]
		switch {
		case exists && how == FunctionCreate && ifNotExists:
			return nil
		case exists && how == FunctionCreate:
			return errExists("Function", f.Name)
		case !exists && how == FunctionAlter:
			return errNotFound("Function", f.Name)
		}
		if _, err := tx.Exec(`DELETE FROM odx_meta.functions WHERE database_name = ? AND name = ?`, db, f.Name); err != nil {
			return err
		}
		_, err = tx.Exec(`INSERT INTO odx_meta.functions VALUES (?, ?, ?, ?, ?, ?, ?)`, db, f.Name, f.Parameters, f.Body, f.Folder, f.DocString, s.now().UTC())
		return err
	})
}

// DropFunction removes a function.
func (s *Store) DropFunction(ctx context.Context, db, name string, ifExists bool) error {
	return s.ddlTx(ctx, func(tx *engine.Tx) error {
		d, err := s.database(db)
		if err != nil {
			return err
		}
		if _, ok := d.functions[name]; !ok {
			if ifExists {
				return nil
			}
			return errNotFound("Function", name)
		}
		_, err = tx.Exec(`DELETE FROM odx_meta.functions WHERE database_name = ? AND name = ?`, db, name)
		return err
	})
}

// SetPolicy stores a policy's JSON text for a database (table "") or table;
// an empty policy deletes it.
func (s *Store) SetPolicy(ctx context.Context, db, table, kind, policy string) error {
	return s.ddlTx(ctx, func(tx *engine.Tx) error {
		d, err := s.database(db)
		if err != nil {
			return err
		}
		if table != "" {
			if _, ok := d.tables[table]; !ok {
				return errTableMissing(db, table)
			}
		}
		if _, err := tx.Exec(`DELETE FROM odx_meta.policies WHERE database_name = ? AND table_name = ? AND kind = ?`, db, table, kind); err != nil {
			return err
		}
		if policy == "" {
			return nil
		}
		_, err = tx.Exec(`INSERT INTO odx_meta.policies VALUES (?, ?, ?, ?, ?)`, db, table, kind, policy, s.now().UTC())
		return err
	})
}

func insertPrincipal(tx *engine.Tx, db string, p Principal) error {
	_, err := tx.Exec(`INSERT INTO odx_meta.principals VALUES (?, ?, ?, ?, ?, ?)`, db, p.Role, p.FQN, p.DisplayName, p.Notes, p.Added)
	return err
}

// PrincipalChange says how ChangePrincipals edits a role.
type PrincipalChange uint8

const (
	PrincipalsAdd PrincipalChange = iota
	PrincipalsDrop
	PrincipalsSet // replaces the role's members (an empty list empties it)
)

// ChangePrincipals adds, drops or sets the members of one database role.
func (s *Store) ChangePrincipals(ctx context.Context, db, role string, how PrincipalChange, ps []Principal) error {
	return s.ddlTx(ctx, func(tx *engine.Tx) error {
		d, err := s.database(db)
		if err != nil {
			return err
		}
		now := s.now().UTC()
		if how == PrincipalsSet {
			if _, err := tx.Exec(`DELETE FROM odx_meta.principals WHERE database_name = ? AND role = ?`, db, role); err != nil {
				return err
			}
		}
		for _, p := range ps {
			held := slices.ContainsFunc(d.Principals, func(x Principal) bool { return x.Role == role && strings.EqualFold(x.FQN, p.FQN) })
			switch how {
			case PrincipalsDrop:
				if _, err := tx.Exec(`DELETE FROM odx_meta.principals WHERE database_name = ? AND role = ? AND lower(fqn) = lower(?)`, db, role, p.FQN); err != nil {
					return err
				}
				continue
			case PrincipalsAdd:
				if held {
					continue
				}
			}
			p.Role, p.Added = role, now
			if err := insertPrincipal(tx, db, p); err != nil {
				return err
			}
		}
		return nil
	})
}

// MappingChange says how PutMapping treats an existing mapping.
type MappingChange uint8

const (
	MappingCreate MappingChange = iota
	MappingCreateOrAlter
	MappingAlter
)

// PutMapping stores an ingestion mapping (table "" for database scope).
func (s *Store) PutMapping(ctx context.Context, m Mapping, how MappingChange) error {
	return s.ddlTx(ctx, func(tx *engine.Tx) error {
		existing, err := s.mappings(m.Database, m.Table)
		if err != nil {
			return err
		}
		exists := slices.ContainsFunc(existing, func(x Mapping) bool { return x.Kind == m.Kind && x.Name == m.Name })
		switch {
		case exists && how == MappingCreate:
			return errExists("Ingestion mapping", m.Name)
		case !exists && how == MappingAlter:
			return errNotFound("Ingestion mapping", m.Name)
		}
		if _, err := tx.Exec(`DELETE FROM odx_meta.mappings WHERE database_name = ? AND table_name = ? AND kind = ? AND name = ?`, m.Database, m.Table, m.Kind, m.Name); err != nil {
			return err
		}
		_, err = tx.Exec(`INSERT INTO odx_meta.mappings VALUES (?, ?, ?, ?, ?, ?)`, m.Database, m.Table, m.Kind, m.Name, m.Text, s.now().UTC())
		return err
	})
}

// DropMapping removes an ingestion mapping.
func (s *Store) DropMapping(ctx context.Context, db, table, kind, name string) error {
	return s.ddlTx(ctx, func(tx *engine.Tx) error {
		existing, err := s.mappings(db, table)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(existing, func(x Mapping) bool { return x.Kind == kind && x.Name == name }) {
			return errNotFound("Ingestion mapping", name)
		}
		_, err = tx.Exec(`DELETE FROM odx_meta.mappings WHERE database_name = ? AND table_name = ? AND kind = ? AND name = ?`, db, table, kind, name)
		return err
	})
}

// mappings returns the mappings of a table, or of the database when table is "".
func (s *Store) mappings(db, table string) ([]Mapping, error) {
	d, err := s.database(db)
	if err != nil {
		return nil, err
	}
	if table == "" {
		return d.Mappings, nil
	}
	t, ok := d.tables[table]
	if !ok {
		return nil, errTableMissing(db, table)
	}
	return t.Mappings, nil
}

// Mapping looks up a stored ingestion mapping by kind and name: the table's
// first, then the database's.
func (s *Store) Mapping(db, table, kind, name string) (Mapping, bool) {
	for _, scope := range []string{table, ""} {
		ms, _ := s.mappings(db, scope)
		for _, m := range ms {
			if strings.EqualFold(m.Kind, kind) && m.Name == name {
				return m, true
			}
		}
	}
	return Mapping{}, false
}
