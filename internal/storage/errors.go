package storage

import "odx/internal/kerr"

func errDatabaseMissing(db string) error {
	return kerr.New(kerr.BadRequest, kerr.CodeDatabaseMissing, "Database '%s' was not found; create it with `.create database %s`", db, db)
}

func errTableMissing(db, table string) error {
	return kerr.New(kerr.BadRequest, kerr.CodeTableMissing, "Table '%s' was not found in database '%s'", table, db)
}

func errExists(kind, name string) error {
	return kerr.New(kerr.BadRequest, kerr.CodeEntityExists, "%s '%s' already exists", kind, name)
}

func errNotFound(kind, name string) error {
	return kerr.NotFoundf("%s '%s' was not found", kind, name)
}
