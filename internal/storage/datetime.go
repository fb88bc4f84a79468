package storage

import (
	"context"
	"fmt"
	"strconv"

	"odx/internal/engine"
	"odx/internal/kql/types"
)

// Datetime columns of user tables hold Kusto's ticks since 0001-01-01 in a
// BIGINT (types.DuckDB), so that the whole 0001..9999 range fits; odx_meta's
// own timestamps stay TIMESTAMP_NS. This file converts between the two
// where storage moves values itself in SQL (ingested rows arrive as ticks,
// see columnar.DateTime): conversions of .alter column and .set-or-append,
// and data files written when datetimes were TIMESTAMP_NS.

var (
	epochTicksSQL  = strconv.FormatInt(types.UnixEpochTicks, 10)
	epochMicrosSQL = strconv.FormatInt(types.UnixEpochTicks/types.TicksPerMicrosecond, 10)
)

// ticksFromTimestampNsSQL converts a TIMESTAMP_NS expression to ticks,
// rounding toward the past as Kusto truncates to 100 ns.
func ticksFromTimestampNsSQL(x string) string {
	ns := "epoch_ns(" + x + ")"
	return "(" + ns + " // 100 - CASE WHEN " + ns + " % 100 < 0 THEN 1 ELSE 0 END + " + epochTicksSQL + ")"
}

// ticksFromTimestampSQL converts a TIMESTAMP (microseconds) expression to ticks.
func ticksFromTimestampSQL(x string) string {
	return "(epoch_us(" + x + ") * 10 + " + epochTicksSQL + ")"
}

// formatTicksSQL prints ticks as Kusto prints a datetime (yyyy-MM-ddTHH:mm:ss.fffffffZ).
func formatTicksSQL(x string) string {
	return "(strftime(make_timestamp(" + x + " // 10 - " + epochMicrosSQL + "), '%Y-%m-%dT%H:%M:%S.') || lpad(CAST(" + x +
		" % 10000000 AS VARCHAR), 7, '0') || 'Z')"
}

// convertSQL converts the SQL expression x, stored as Kusto type from, to
// the storage of Kusto type to; values that do not convert become null.
func convertSQL(x string, from, to types.Type) string {
	switch {
	case from == to:
		return x
	case to == types.DateTime && from == types.String:
		return ticksFromTimestampSQL("TRY_CAST(" + x + " AS TIMESTAMP)")
	case to == types.DateTime && from == types.Dynamic:
		return ticksFromTimestampSQL("TRY_CAST(" + x + " ->> '$' AS TIMESTAMP)")
	case to == types.DateTime && from != types.Long && from != types.Int:
		return "CAST(NULL AS BIGINT)"
	case from == types.DateTime && to == types.String:
		return formatTicksSQL(x)
	case from == types.DateTime && to == types.Dynamic:
		return "to_json(" + formatTicksSQL(x) + ")"
	}
	return "TRY_CAST(" + x + " AS " + to.DuckDB() + ")"
}

// migrateDateTimeTicks rewrites datetime columns that data files of older
// odx versions keep as TIMESTAMP_NS into ticks. It runs on open, before the
// catalog loads, and does nothing once every column is converted.
func (s *Store) migrateDateTimeTicks(ctx context.Context) error {
	type column struct{ schema, table, name string }
	var cols []column
	err := queryAll(ctx, s.db, `SELECT schema_name, table_name, column_name FROM duckdb_columns()
		WHERE schema_name LIKE 'db\_%' ESCAPE '\' AND data_type = 'TIMESTAMP_NS' ORDER BY schema_name, table_name, column_index`, func(v []any) error {
		cols = append(cols, column{str(v[0]), str(v[1]), str(v[2])})
		return nil
	})
	if err != nil || len(cols) == 0 {
		return err
	}
	return s.db.InTx(ctx, func(tx *engine.Tx) error {
		for _, c := range cols {
			id := engine.QuoteIdent(c.name)
			if _, err := tx.Exec(`ALTER TABLE ` + qualified(c.schema, c.table) + ` ALTER COLUMN ` + id +
				` SET DATA TYPE BIGINT USING ` + ticksFromTimestampNsSQL(id)); err != nil {
				return fmt.Errorf("cannot convert datetime column %s.%s.%s to ticks: %w", c.schema, c.table, c.name, err)
			}
			s.log.Info("storage: datetime column converted to ticks", "schema", c.schema, "table", c.table, "column", c.name)
		}
		return nil
	})
}
