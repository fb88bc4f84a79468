// Package bench compares KQL compiled by odx with hand-written DuckDB SQL on
// a telemetry table (10M rows by default; BENCH_ROWS overrides).
//
//	go test -run '^$' -bench KQL -benchtime 1x ./test/bench/
//
// BENCH_ONLY (a regular expression over the query names) runs a subset.
package bench

import (
	"context"
	"fmt"
	"math"
	"os"
	"regexp"
	"strconv"
	"testing"
	"time"

	"odx/internal/engine"
	"odx/internal/kql"
	"odx/internal/kql/schema/schematest"
)

type benchQuery struct {
	name string
	kql  string
	sql  string
}

// The hand-written SQL is what a DuckDB user would write for the same
// result, including Kusto's semantics where they matter (term match for has).
// odx stores datetimes as BIGINT ticks; the SQL of the time queries reads
// TelemetryTimes, the same timestamps in DuckDB's native TIMESTAMP_NS.
var queries = []benchQuery{
	{"count", `Telemetry | count`, `SELECT count(*) FROM "bench"."Telemetry"`},
	{"filter_count", `Telemetry | where Level == "Error" | count`, `SELECT count(*) FROM "bench"."Telemetry" WHERE "Level" = 'Error'`},
	{"bin_1h", `Telemetry | summarize count() by bin(Timestamp, 1h)`,
		`SELECT time_bucket(INTERVAL 1 hour, CAST("Timestamp" AS TIMESTAMP)) AS b, count(*) FROM "bench"."TelemetryTimes" GROUP BY b`},
	{"by_device", `Telemetry | summarize avg(Value), max(Value) by Device`,
		`SELECT "Device", avg("Value"), max("Value") FROM "bench"."Telemetry" GROUP BY "Device"`},
	{"top", `Telemetry | top 10 by Value desc`, `SELECT * EXCLUDE ("__odx_extent") FROM "bench"."Telemetry" ORDER BY "Value" DESC LIMIT 10`},
	{"dcount", `Telemetry | summarize dcount(Device)`, `SELECT count(DISTINCT "Device") FROM "bench"."Telemetry"`},
	{"has", `Telemetry | where Message has "timeout" | count`,
		`SELECT count(*) FROM "bench"."Telemetry" WHERE regexp_matches("Message", '(?i)\btimeout\b')`},
	{"contains", `Telemetry | where Message contains "refus" | count`,
		`SELECT count(*) FROM "bench"."Telemetry" WHERE contains(lower("Message"), 'refus')`},
	{"extend_project", `Telemetry | extend v2 = Value * 2 + 1 | project Device, v2 | summarize sum(v2)`,
		`SELECT sum("Value" * 2 + 1) FROM "bench"."Telemetry"`},
	{"join_dim", `Telemetry | join kind=inner (Devices) on Device | summarize count() by Region1`,
		`SELECT d."Region", count(*) FROM "bench"."Telemetry" t JOIN "bench"."Devices" d ON t."Device" = d."Device" GROUP BY d."Region"`},
	{"mv_expand", `Telemetry | where Level == "Warn" | mv-expand tag = Props.tags to typeof(string) | summarize count() by tag`,
		`SELECT tag, count(*) FROM (SELECT unnest(CAST(json_extract("Props", '$.tags') AS VARCHAR[])) AS tag FROM "bench"."Telemetry" WHERE "Level" = 'Warn') GROUP BY tag`},
	{"parse", `Telemetry | parse Message with "code=" code:long " " * | summarize count() by code`,
		`SELECT TRY_CAST(regexp_extract("Message", '^code=(-?\d+) ', 1) AS BIGINT) AS code, count(*) FROM "bench"."Telemetry" GROUP BY code`},
	{"make_series", `Telemetry | make-series n = count() default = 0 on Timestamp from datetime(2024-01-01) to datetime(2024-01-31) step 1d by Region`,
		`WITH b AS (SELECT "Region", CAST(epoch_ns("Timestamp") // 86400000000000 AS BIGINT) - 19723 AS d, count(*) AS n FROM "bench"."TelemetryTimes"
			WHERE "Timestamp" >= TIMESTAMP '2024-01-01' AND "Timestamp" < TIMESTAMP '2024-01-31' GROUP BY ALL),
		g AS (SELECT r."Region", i FROM (SELECT DISTINCT "Region" FROM "bench"."Telemetry") r, range(30) t(i))
		SELECT g."Region", list(COALESCE(b.n, 0) ORDER BY g.i), list(TIMESTAMP '2024-01-01' + g.i * INTERVAL 1 day ORDER BY g.i)
		FROM g LEFT JOIN b ON b."Region" = g."Region" AND b.d = g.i GROUP BY g."Region"`},
	{"mv_apply", `Telemetry | where Level == "Warn" | mv-apply tag = Props.tags to typeof(string) on (where tag != "x" | summarize n = count()) | summarize sum(n)`,
		// mv-apply runs a subquery per row: unnest each row's array and group by the row
		`SELECT sum(n) FROM (SELECT count(*) AS n FROM (SELECT row_number() OVER () AS rid, "Props" FROM "bench"."Telemetry" WHERE "Level" = 'Warn') r,
			unnest(CAST(json_extract(r."Props", '$.tags') AS VARCHAR[])) u(tag) WHERE tag <> 'x' GROUP BY rid)`},
	{"percentiles", `Telemetry | summarize percentiles(Value, 50, 95)`,
		`SELECT quantile_disc("Value", 0.5), quantile_disc("Value", 0.95) FROM "bench"."Telemetry"`},
}

func setup(b *testing.B) (*engine.DB, kql.Options) {
	rows := 10_000_000
	if s := os.Getenv("BENCH_ROWS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			b.Fatalf("BENCH_ROWS: %v", err)
		}
		rows = n
	}
	db, err := engine.Open("", engine.Options{})
	if err != nil {
		b.Fatal(err)
	}
	cat := schematest.New()
	d := cat.AddDatabase("bench")
	tel := d.AddTable("Telemetry", "Timestamp:datetime, Device:string, Region:string, Level:string, Value:real, Message:string, Props:dynamic")
	dev := d.AddTable("Devices", "Device:string, Region:string, Owner:string")
	ctx := context.Background()
	start := time.Now()
	for _, stmt := range []string{
		`CREATE SCHEMA "bench"`,
		tel.CreateSQL(), dev.CreateSQL(),
		fmt.Sprintf(`INSERT INTO "bench"."Telemetry" SELECT
			epoch_us(TIMESTAMP '2024-01-01') * 10 + 621355968000000000 + CAST(i * (25920000000000 / %d) AS BIGINT),
			'dev-' || lpad(CAST(hash(i) %% 1000 AS VARCHAR), 4, '0'),
			'region-' || CAST(hash(i) %% 10 AS VARCHAR),
			['Debug', 'Info', 'Info', 'Info', 'Warn', 'Error'][1 + CAST(hash(i * 7) %% 6 AS INTEGER)],
			(hash(i * 13) %% 100000) / 100.0,
			rpad('code=' || CAST(hash(i * 3) %% 50 AS VARCHAR) || ' ' || ['request ok', 'connection timeout', 'refused by peer', 'slow response'][1 + CAST(hash(i * 5) %% 4 AS INTEGER)] || ' at node', 60, '.'),
			CAST('{"tags":["' || ['a','b','c'][1 + CAST(i %% 3 AS INTEGER)] || '","x"],"v":' || CAST(i %% 100 AS VARCHAR) || '}' AS JSON),
			uuid()
			FROM range(%d) t(i)`, rows, rows),
		`CREATE TABLE "bench"."TelemetryTimes" AS SELECT make_timestamp_ns(("Timestamp" - 621355968000000000) * 100) AS "Timestamp", "Region" FROM "bench"."Telemetry"`,
		`INSERT INTO "bench"."Devices" SELECT 'dev-' || lpad(CAST(i AS VARCHAR), 4, '0'), 'region-' || CAST(i % 10 AS VARCHAR), 'owner-' || CAST(i % 37 AS VARCHAR), uuid() FROM range(1000) t(i)`,
	} {
		if _, err := db.Exec(ctx, stmt); err != nil {
			b.Fatalf("setup: %v", err)
		}
	}
	fmt.Printf("bench: %d rows loaded in %s\n", rows, time.Since(start).Round(time.Millisecond))
	return db, kql.Options{Database: "bench", Catalog: cat, Now: time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC)}
}

// once runs a query to the end and returns its wall time.
func once(b *testing.B, db *engine.DB, sql string, args []any) time.Duration {
	best := time.Duration(math.MaxInt64)
	for i := 0; i < 1; i++ {
		start := time.Now()
		rows, err := db.Query(context.Background(), sql, args...)
		if err != nil {
			b.Fatalf("%v\n%s", err, sql)
		}
		for rows.Next() {
			if _, err := rows.Values(); err != nil {
				b.Fatal(err)
			}
		}
		if err := rows.Err(); err != nil {
			b.Fatal(err)
		}
		rows.Close()
		if d := time.Since(start); d < best {
			best = d
		}
	}
	return best
}

// BenchmarkKQL prints, per query, the KQL time, the hand-written SQL time,
// their ratio and the compile time, then the geometric mean of the ratios.
func BenchmarkKQL(b *testing.B) {
	db, opts := setup(b)
	defer db.Close()
	logSum := 0.0
	worst := 0.0
	only := regexp.MustCompile(os.Getenv("BENCH_ONLY"))
	ran := 0
	fmt.Printf("%-15s %10s %10s %7s %10s\n", "query", "kql", "sql", "ratio", "compile")
	for _, q := range queries {
		if !only.MatchString(q.name) {
			continue
		}
		ran++
		cstart := time.Now()
		const compiles = 100
		var cq *kql.Query
		var err error
		for i := 0; i < compiles; i++ {
			cq, err = kql.Compile(q.kql, opts)
			if err != nil {
				b.Fatalf("%s: %v", q.name, err)
			}
		}
		compileTime := time.Since(cstart) / compiles
		// Alternate the two and keep each one's best run, so that load from
		// other processes on the machine hits both alike.
		kt, st := time.Duration(math.MaxInt64), time.Duration(math.MaxInt64)
		for i := 0; i < 5; i++ {
			kt = min(kt, once(b, db, cq.SQL, cq.Args))
			st = min(st, once(b, db, q.sql, nil))
		}
		ratio := float64(kt) / float64(st)
		logSum += math.Log(ratio)
		worst = math.Max(worst, ratio)
		fmt.Printf("%-15s %10s %10s %7.2f %10s\n", q.name, kt.Round(time.Microsecond), st.Round(time.Microsecond), ratio, compileTime.Round(time.Microsecond))
	}
	fmt.Printf("geometric mean ratio %.2f, worst %.2f\n", math.Exp(logSum/float64(max(ran, 1))), worst)
	for i := 0; i < b.N; i++ {
	}
}
