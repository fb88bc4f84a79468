package mgmt

import (
	"strings"

	"odx/internal/access"
	"odx/internal/kql/types"
	"odx/internal/storage"
)

var mappingKinds = []string{"csv", "json", "avro", "parquet", "orc", "w3clogfile", "apacheavro", "sstream"}

var policyKinds = []string{storage.PolicyRetention, storage.PolicyIngestionBatching, storage.PolicyStreamingIngestion,
	storage.PolicyMerge, storage.PolicyCaching}

// createAlter parses .create/.create-merge/.create-or-alter/.alter/.alter-merge.
func (p *parser) createAlter(verb string) (*command, error) {
	c := &command{}
	switch {
	case p.isWord("database"):
		p.advance()
		db, err := p.name("database")
		if err != nil {
			return nil, err
		}
		c.db = db
		switch {
		case p.isWord("ingestion"):
			return p.mappingDef(c, verb, "database")
		case p.isWord("policy"):
			return p.policyDef(c, verb, "database")
		}
		if verb != ".create" {
			return nil, p.errorf("expected 'policy' or 'ingestion', found %s", p.tok.describe())
		}
		c.kind = ".create database"
		if _, ok := p.acceptWord("volatile"); ok {
			c.volatile = true
		} else if _, ok := p.acceptWord("persist"); ok {
			// The storage containers of a persistent database: odx keeps everything in its data file.
			if _, err := p.nameList("container"); err != nil {
				return nil, err
			}
		}
		if _, ok := p.acceptWord("ifnotexists"); ok {
			c.ifNotExists = true
		}
		return c, nil
	case p.isWord("table") || p.isWord("tables"):
		plural := p.isWord("tables")
		p.advance()
		if plural {
			if verb != ".create" && verb != ".create-merge" {
				return nil, p.errorf("'%s tables' is not a command; use '%s table'", verb, verb)
			}
			c.kind = verb + " tables"
			for {
				n, err := p.name("table")
				if err != nil {
					return nil, err
				}
				cols, err := p.columnList()
				if err != nil {
					return nil, err
				}
				c.tableSpecs = append(c.tableSpecs, tableSpec{n, cols})
				if !p.acceptPunct(",") {
					break
				}
			}
			return c, p.withProps(c)
		}
		t, err := p.qualifiedTable(c)
		if err != nil {
			return nil, err
		}
		c.table = t
		switch {
		case p.isWord("ingestion"):
			return p.mappingDef(c, verb, "table")
		case p.isWord("policy"):
			return p.policyDef(c, verb, "table")
		case (verb == ".alter") && (p.isWord("docstring") || p.isWord("folder")):
			w, _ := p.acceptWord("docstring", "folder")
			v, err := p.str()
			if err != nil {
				return nil, err
			}
			c.kind = ".alter table details"
			if w == "docstring" {
				c.docString = &v
			} else {
				c.folder = &v
			}
			return c, nil
		}
		if verb == ".create-or-alter" {
			return nil, p.errorf("expected 'ingestion' after '.create-or-alter table %s', found %s", t, p.tok.describe())
		}
		cols, err := p.columnList()
		if err != nil {
			return nil, err
		}
		c.kind = verb + " table"
		c.tableSpecs = []tableSpec{{t, cols}}
		return c, p.withProps(c)
	case p.isWord("function"):
		p.advance()
		if verb == ".create-merge" || verb == ".alter-merge" {
			return nil, p.errorf("'%s function' is not a command; use '.create-or-alter function'", verb)
		}
		c.kind = verb + " function"
		if _, ok := p.acceptWord("ifnotexists"); ok {
			c.ifNotExists = true
		}
		if err := p.withProps(c); err != nil {
			return nil, err
		}
		n, err := p.name("function")
		if err != nil {
			return nil, err
		}
		c.fn.Name = n
		if !p.isPunct("(") {
			return nil, p.errorf("expected '(' to open the parameter list of function %s, found %s", n, p.tok.describe())
		}
		end, err := matchClose(p.sc.src, p.tok.pos)
		if err != nil {
			return nil, p.errorf("the parameter list of function %s is not closed: %v", n, err)
		}
		c.fn.Parameters = p.sc.src[p.tok.pos:end]
		p.sc.pos = end
		p.advance()
		if !p.isPunct("{") {
			return nil, p.errorf("expected '{' to open the body of function %s, found %s", n, p.tok.describe())
		}
		end, err = matchClose(p.sc.src, p.tok.pos)
		if err != nil {
			return nil, p.errorf("the body of function %s is not closed: %v", n, err)
		}
		c.fn.Body = p.sc.src[p.tok.pos:end]
		p.sc.pos = end
		p.advance()
		c.fn.Folder, c.fn.DocString = c.props["folder"], c.props["docstring"]
		return c, nil
	case p.isWord("column") && verb == ".alter":
		p.advance()
		c.kind = ".alter column"
		if err := p.tableColumnRef(c); err != nil {
			return nil, err
		}
		if _, err := p.expectWord("type"); err != nil {
			return nil, err
		}
		if err := p.expectPunct("="); err != nil {
			return nil, err
		}
		typTok := p.tok
		tn, err := p.name("type")
		if err != nil {
			return nil, err
		}
		t, ok := types.Parse(tn)
		if !ok {
			return nil, p.sc.errAt(typTok.pos, "unknown type '%s'", tn)
		}
		c.colType = t
		return c, nil
	}
	return nil, p.errorf("expected 'database', 'table', 'tables', 'function' or 'column' after '%s', found %s", verb, p.tok.describe())
}

// mappingDef parses `ingestion <kind> mapping "name" '<json>'` (or `mappings`
// for show). scope is "table" or "database".
func (p *parser) mappingDef(c *command, verb, scope string) (*command, error) {
	p.advance() // ingestion
	if err := p.mappingKind(c); err != nil {
		return nil, err
	}
	if _, err := p.expectWord("mapping"); err != nil {
		return nil, err
	}
	n, err := p.nameOrString("mapping")
	if err != nil {
		return nil, err
	}
	c.mappingName = n
	switch verb {
	case ".create", ".create-or-alter", ".alter":
		c.kind = verb + " mapping"
		text, err := p.str()
		if err != nil {
			return nil, err
		}
		c.mappingText = text
		if err := p.withProps(c); err != nil {
			return nil, err
		}
	case ".drop":
		c.kind = ".drop mapping"
	default:
		return nil, p.errorf("'%s %s ... ingestion' is not a command", verb, scope)
	}
	return c, nil
}

func (p *parser) mappingKind(c *command) error {
	for _, k := range mappingKinds {
		if _, ok := p.acceptWord(k); ok {
			c.mappingKind = k
			if k == "apacheavro" {
				c.mappingKind = "avro"
			}
			return nil
		}
	}
	return p.errorf("expected a mapping kind (%s), found %s", strings.Join(mappingKinds[:6], ", "), p.tok.describe())
}

// policyDef parses `policy <kind> <json>` or `policy <kind> key = value ...`.
func (p *parser) policyDef(c *command, verb, scope string) (*command, error) {
	p.advance() // policy
	if err := p.policyKind(c); err != nil {
		return nil, err
	}
	switch verb {
	case ".alter", ".alter-merge":
		c.kind = verb + " policy"
	case ".show":
		c.kind = ".show policy"
		return c, nil
	case ".delete":
		c.kind = ".delete policy"
		return c, nil
	default:
		return nil, p.errorf("'%s %s ... policy' is not a command; use .alter or .alter-merge", verb, scope)
	}
	if p.tok.kind == tokString {
		v, err := p.str()
		if err != nil {
			return nil, err
		}
		c.policy = v
		return c, nil
	}
	// Short forms: `softdelete = 10d recoverability = disabled`, `hot = 7d`, `enable`, `disable`.
	c.policyArgs = map[string]string{}
	for p.tok.kind == tokIdent {
		k := strings.ToLower(p.tok.text)
		p.advance()
		if k == "enable" || k == "disable" {
			c.policyArgs[k] = "true"
			continue
		}
		if err := p.expectPunct("="); err != nil {
			return nil, err
		}
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		if p.isPunct(".") {
			// A range: hot_window = datetime(a) .. datetime(b).
			p.advance()
			if err := p.expectPunct("."); err != nil {
				return nil, err
			}
			hi, err := p.value()
			if err != nil {
				return nil, err
			}
			v += " .. " + hi
		}
		if prev, ok := c.policyArgs[k]; ok {
			v = prev + "\n" + v
		}
		c.policyArgs[k] = v
		p.acceptPunct(",")
	}
	if len(c.policyArgs) == 0 {
		return nil, p.errorf("expected the policy as a JSON string literal, found %s", p.tok.describe())
	}
	return c, nil
}

func (p *parser) policyKind(c *command) error {
	for _, k := range policyKinds {
		if _, ok := p.acceptWord(k); ok {
			c.policyKind = k
			return nil
		}
	}
	return p.errorf("expected a policy kind (%s), found %s", strings.Join(policyKinds, ", "), p.tok.describe())
}

// drop parses .drop commands.
func (p *parser) drop() (*command, error) {
	c := &command{}
	switch {
	case p.isWord("database"):
		p.advance()
		db, err := p.name("database")
		if err != nil {
			return nil, err
		}
		c.db = db
		if p.isWord("ingestion") {
			return p.mappingDef(c, ".drop", "database")
		}
		if role, ok := p.role(); ok {
			c.kind, c.role = ".drop principals", role
			return c, p.principalList(c)
		}
		c.kind = ".drop database"
		if _, ok := p.acceptWord("ifexists"); ok {
			c.ifExists = true
		}
		return c, nil
	case p.isWord("table"):
		p.advance()
		t, err := p.qualifiedTable(c)
		if err != nil {
			return nil, err
		}
		c.table = t
		if p.isWord("ingestion") {
			return p.mappingDef(c, ".drop", "table")
		}
		if _, ok := p.acceptWord("columns"); ok {
			c.kind = ".drop column"
			cols, err := p.nameList("column")
			c.tables = cols
			return c, err
		}
		c.kind = ".drop tables"
		c.tables = []string{t}
		if _, ok := p.acceptWord("ifexists"); ok {
			c.ifExists = true
		}
		return c, nil
	case p.isWord("tables"):
		p.advance()
		c.kind = ".drop tables"
		ts, err := p.nameList("table")
		if err != nil {
			return nil, err
		}
		c.tables = ts
		if _, ok := p.acceptWord("ifexists"); ok {
			c.ifExists = true
		}
		return c, nil
	case p.isWord("column"):
		p.advance()
		c.kind = ".drop column"
		if err := p.tableColumnRef(c); err != nil {
			return nil, err
		}
		c.tables = []string{c.column}
		return c, nil
	case p.isWord("function"):
		p.advance()
		c.kind = ".drop function"
		n, err := p.name("function")
		if err != nil {
			return nil, err
		}
		c.fn.Name = n
		if _, ok := p.acceptWord("ifexists"); ok {
			c.ifExists = true
		}
		return c, nil
	case p.isWord("extent"):
		p.advance()
		c.kind = ".drop extents"
		// A guid is taken as written: digits-first guids do not scan as one token.
		start := p.tok.pos
		end := start
		for end < len(p.sc.src) && !strings.ContainsRune(" \t\r\n;", rune(p.sc.src[end])) {
			end++
		}
		if end == start {
			return nil, p.errorf("expected an extent id, found %s", p.tok.describe())
		}
		c.extentIDs = []string{strings.Trim(p.sc.src[start:end], `'"`)}
		p.sc.pos = end
		p.advance()
		return c, p.fromTable(c)
	case p.isWord("extents"):
		p.advance()
		c.kind = ".drop extents"
		if p.isPunct("<|") {
			return p.dropExtentsOfShow(c)
		}
		if p.isPunct("(") {
			ids, err := p.extentIDList()
			if err != nil {
				return nil, err
			}
			c.extentIDs = ids
			return c, p.fromTable(c)
		}
		if _, ok := p.acceptWord("older"); ok {
			numTok := p.tok
			if numTok.kind != tokNumber {
				return nil, p.errorf("expected a number after 'older', found %s", p.tok.describe())
			}
			p.advance()
			unit, err := p.expectWord("days", "hours")
			if err != nil {
				return nil, err
			}
			ticks, err := storage.ParseTimeSpan(numTok.text + map[string]string{"days": "d", "hours": "h"}[unit])
			if err != nil {
				return nil, p.sc.errAt(numTok.pos, "%v", err)
			}
			c.olderTicks = ticks
		}
		return c, p.fromTable(c)
	}
	return nil, p.errorf("expected 'database', 'table', 'tables', 'column', 'function' or 'extents' after '.drop', found %s", p.tok.describe())
}

// extentIDList reads `(guid, guid)` where guids may be written bare.
func (p *parser) extentIDList() ([]string, error) {
	start := p.tok.pos
	end, err := matchClose(p.sc.src, start)
	if err != nil {
		return nil, p.errorf("the extent id list is not closed")
	}
	var ids []string
	for _, part := range strings.Split(p.sc.src[start+1:end-1], ",") {
		id := strings.Trim(strings.TrimSpace(part), `'"`)
		if id != "" {
			ids = append(ids, id)
		}
	}
	p.sc.pos = end
	p.advance()
	return ids, nil
}

func (p *parser) fromTable(c *command) error {
	if _, ok := p.acceptWord("from"); !ok {
		return nil
	}
	if _, ok := p.acceptWord("all"); ok {
		_, err := p.expectWord("tables")
		c.allTables = true
		return err
	}
	t, err := p.name("table")
	c.table = t
	return err
}

func (p *parser) role() (string, bool) {
	for _, r := range access.Roles {
		if _, ok := p.acceptWord(r); ok {
			return r, true
		}
	}
	return "", false
}

// principalList reads `('aadapp=...', ...) ['notes']` or `none`.
func (p *parser) principalList(c *command) error {
	if _, ok := p.acceptWord("none"); ok {
		return nil
	}
	ps, err := p.nameList("principal")
	if err != nil {
		return err
	}
	c.principals = ps
	if p.tok.kind == tokString {
		c.notes, err = p.str()
	}
	return err
}

// show parses .show commands.
func (p *parser) show() (*command, error) {
	c := &command{}
	switch {
	case p.isWord("databases"):
		p.advance()
		c.kind = ".show databases"
		if _, ok := p.acceptWord("details"); ok {
			c.details = true
		}
		return c, nil
	case p.isWord("database"):
		p.advance()
		// The database name is optional: `.show database schema`.
		if p.tok.kind == tokIdent && !p.isWord("schema") && !p.isWord("principals") && !p.isWord("policy") &&
			!p.isWord("extents") && !p.isWord("ingestion") && !p.isWord("cslschema") || p.tok.quoted {
			c.db, _ = p.name("database")
		}
		switch {
		case p.isWord("schema") || p.isWord("cslschema"):
			csl := p.isWord("cslschema")
			p.advance()
			c.kind = ".show database schema"
			if _, ok := p.acceptWord("details"); ok {
				c.details = true
			}
			if _, ok := p.acceptWord("as"); ok {
				if _, err := p.expectWord("json"); err != nil {
					return nil, err
				}
				c.asJSON = true
			}
			if csl {
				c.kind = ".show database cslschema"
			}
			return c, nil
		case p.isWord("principals"):
			p.advance()
			c.kind = ".show principals"
			return c, nil
		case p.isWord("policy"):
			return p.policyDef(c, ".show", "database")
		case p.isWord("extents"):
			p.advance()
			c.kind = ".show extents"
			return c, nil
		case p.isWord("ingestion"):
			return p.showMappings(c)
		case p.atEnd():
			c.kind = ".show database"
			return c, nil
		}
		return nil, p.errorf("expected 'schema', 'principals', 'policy', 'extents' or 'ingestion', found %s", p.tok.describe())
	case p.isWord("tables"):
		p.advance()
		c.kind = ".show tables"
		if p.isPunct("(") {
			ts, err := p.nameList("table")
			if err != nil {
				return nil, err
			}
			c.tables = ts
		}
		if _, ok := p.acceptWord("details"); ok {
			c.details = true
		}
		if _, ok := p.acceptWord("extents"); ok {
			c.kind = ".show extents"
		}
		return c, nil
	case p.isWord("table"):
		p.advance()
		t, err := p.qualifiedTable(c)
		if err != nil {
			return nil, err
		}
		c.table = t
		switch {
		case p.isWord("schema"):
			p.advance()
			if _, err := p.expectWord("as"); err != nil {
				return nil, err
			}
			if _, err := p.expectWord("json"); err != nil {
				return nil, err
			}
			c.kind = ".show table schema"
			return c, nil
		case p.isWord("cslschema"):
			p.advance()
			c.kind = ".show table cslschema"
			return c, nil
		case p.isWord("details"):
			p.advance()
			c.kind, c.tables, c.details = ".show tables", []string{t}, true
			return c, nil
		case p.isWord("extents"):
			p.advance()
			c.kind = ".show extents"
			return c, nil
		case p.isWord("policy"):
			return p.policyDef(c, ".show", "table")
		case p.isWord("ingestion"):
			return p.showMappings(c)
		case p.atEnd():
			c.kind = ".show table"
			return c, nil
		}
		return nil, p.errorf("expected 'schema', 'cslschema', 'details', 'extents', 'policy' or 'ingestion', found %s", p.tok.describe())
	case p.isWord("extents"):
		p.advance()
		c.kind = ".show extents"
		return c, nil
	case p.isWord("functions"):
		p.advance()
		c.kind = ".show functions"
		return c, nil
	case p.isWord("function"):
		p.advance()
		c.kind = ".show function"
		n, err := p.name("function")
		c.fn.Name = n
		return c, err
	case p.isWord("version"):
		p.advance()
		c.kind = ".show version"
		return c, nil
	case p.isWord("cluster"):
		p.advance()
		c.kind = ".show cluster"
		return c, nil
	}
	return nil, p.errorf("expected what to show (databases, database, tables, table, extents, functions, function, version, cluster), found %s", p.tok.describe())
}

// addSet parses .add/.set database roles and .set/.append/.set-or-append/.set-or-replace.
func (p *parser) addSet(verb string) (*command, error) {
	c := &command{}
	if (verb == ".add" || verb == ".set") && p.isWord("database") {
		p.advance()
		db, err := p.name("database")
		if err != nil {
			return nil, err
		}
		c.db = db
		role, ok := p.role()
		if !ok {
			return nil, p.errorf("expected a role (%s), found %s", strings.Join(access.Roles, ", "), p.tok.describe())
		}
		c.kind, c.role = verb+" principals", role
		return c, p.principalList(c)
	}
	if verb == ".add" {
		return nil, p.errorf("expected 'database' after '.add', found %s", p.tok.describe())
	}
	c.kind = verb
	p.acceptWord("async")
	t, err := p.name("table")
	if err != nil {
		return nil, err
	}
	c.table = t
	if err := p.withProps(c); err != nil {
		return nil, err
	}
	return c, p.rawQuery(c)
}

// rename parses .rename table A to B / .rename tables A=B, C=D.
func (p *parser) rename() (*command, error) {
	c := &command{kind: ".rename tables"}
	w, err := p.expectWord("table", "tables")
	if err != nil {
		return nil, err
	}
	for {
		from, err := p.name("table")
		if err != nil {
			return nil, err
		}
		if w == "table" {
			if _, err := p.expectWord("to"); err != nil {
				return nil, err
			}
		} else if err := p.expectPunct("="); err != nil {
			return nil, err
		}
		to, err := p.name("table")
		if err != nil {
			return nil, err
		}
		c.pairs = append(c.pairs, [2]string{from, to})
		if w == "table" || !p.acceptPunct(",") {
			break
		}
	}
	return c, nil
}

// deletePolicy parses .delete table|database X policy K.
func (p *parser) deletePolicy() (*command, error) {
	c := &command{}
	scope, err := p.expectWord("table", "database")
	if err != nil {
		return nil, err
	}
	if scope == "table" {
		t, err := p.qualifiedTable(c)
		if err != nil {
			return nil, err
		}
		c.table = t
	} else {
		n, err := p.name(scope)
		if err != nil {
			return nil, err
		}
		c.db = n
	}
	if !p.isWord("policy") {
		return nil, p.errorf("expected 'policy', found %s", p.tok.describe())
	}
	return p.policyDef(c, ".delete", scope)
}

// dropExtentsOfShow parses the `.drop extents <| .show table T extents where
// tags has 'drop-by:x'` form (also `| where Tags has "..."`), the way extents
// tagged at ingestion are dropped. Other queries over `.show extents` are not
// supported.
func (p *parser) dropExtentsOfShow(c *command) (*command, error) {
	p.advance() // <|
	if p.tok.kind != tokCommand || p.tok.text != ".show" {
		return nil, p.errorf("odx supports '.drop extents <| .show table T extents where tags has \"tag\"'; found %s", p.tok.describe())
	}
	p.advance()
	switch {
	case p.isWord("table"):
		p.advance()
		t, err := p.qualifiedTable(c)
		if err != nil {
			return nil, err
		}
		c.table = t
	case p.isWord("database"):
		p.advance()
		db, err := p.name("database")
		if err != nil {
			return nil, err
		}
		c.db, c.allTables = db, true
	default:
		c.allTables = true
	}
	if _, err := p.expectWord("extents"); err != nil {
		return nil, err
	}
	piped := p.acceptPunct("|")
	if _, ok := p.acceptWord("where"); ok {
		if _, err := p.expectWord("tags"); err != nil {
			return nil, err
		}
		switch {
		case p.isWord("has"):
			c.tagOp = "has"
		case p.isWord("contains"):
			c.tagOp = "contains"
		case p.isPunct("=") || p.isPunct("!"):
			return nil, p.errorf("only 'tags has' and 'tags contains' are supported here")
		default:
			return nil, p.errorf("expected 'has' or 'contains', found %s", p.tok.describe())
		}
		p.advance()
		v, err := p.str()
		if err != nil {
			return nil, err
		}
		c.tag = v
	} else if piped {
		return nil, p.errorf("expected 'where' after '|', found %s", p.tok.describe())
	}
	return c, nil
}

// showMappings parses `ingestion [kind] mappings` after `.show table T` or
// `.show database D`.
func (p *parser) showMappings(c *command) (*command, error) {
	p.advance()
	c.kind = ".show mappings"
	if !p.isWord("mappings") {
		if err := p.mappingKind(c); err != nil {
			return nil, err
		}
	}
	_, err := p.expectWord("mappings")
	return c, err
}
