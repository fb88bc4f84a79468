package engine

import (
	"context"
	"database/sql/driver"
	"encoding/binary"
	"fmt"

	"github.com/cespare/xxhash/v2"
	"github.com/duckdb/duckdb-go/v2"
)

// Kusto functions DuckDB lacks, written in Go and registered on every
// database odx opens. The KQL compiler lowers to them by name; they are
// part of the SQL dialect odx speaks to DuckDB.
//
//	odx_hash_string(VARCHAR) BIGINT  xxhash64 of the UTF-8 bytes, as Kusto's hash() of a string
//	odx_hash_long(BIGINT) BIGINT     xxhash64 of the 8 little-endian bytes, as hash() of a long or of datetime ticks
var kustoFunctions = map[string]duckdb.ScalarFunc{
	"odx_hash_string": goFunc{in: []duckdb.Type{duckdb.TYPE_VARCHAR}, out: duckdb.TYPE_BIGINT, fn: func(v []driver.Value) (any, error) {
		s, ok := v[0].(string)
		if !ok {
			return nil, fmt.Errorf("odx_hash_string: unexpected %T", v[0])
		}
		return int64(xxhash.Sum64String(s)), nil
	}},
	"odx_hash_long": goFunc{in: []duckdb.Type{duckdb.TYPE_BIGINT}, out: duckdb.TYPE_BIGINT, fn: func(v []driver.Value) (any, error) {
		n, ok := v[0].(int64)
		if !ok {
			return nil, fmt.Errorf("odx_hash_long: unexpected %T", v[0])
		}
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], uint64(n))
		return int64(xxhash.Sum64(b[:])), nil
	}},
}

// registerFunctions adds kustoFunctions to the database. DuckDB keeps them in
// its catalog, so one registration serves every connection of the pool.
func (d *DB) registerFunctions() error {
	c, err := d.sql.Conn(context.Background())
	if err != nil {
		return err
	}
	defer c.Close()
	for name, f := range kustoFunctions {
		if err := duckdb.RegisterScalarUDF(c, name, f); err != nil {
			return fmt.Errorf("cannot register %s: %w", name, err)
		}
	}
	return nil
}
