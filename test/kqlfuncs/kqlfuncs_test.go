// Package kqlfuncs runs KQL's hash_many, punycode, ipv6, geo, time-zone,
// treepath, parse_path and buildschema functions end to end: compiled by
// internal/kql and executed by DuckDB with odx's Go functions. Expected
// values are the ones ADX's documentation gives.
package kqlfuncs

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"odx/internal/engine"
	"odx/internal/kql"
	"odx/internal/kql/types"
)

// openDB opens an in-memory engine that the test closes when it ends.
func openDB(t *testing.T) *engine.DB {
	t.Helper()
	db, err := engine.Open("", engine.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// firstRow compiles and runs query and returns its first row.
func firstRow(t *testing.T, db *engine.DB, query string) []any {
	t.Helper()
	q, err := kql.Compile(query, kql.Options{Now: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatalf("compile %s: %v", query, err)
	}
	rows, err := db.Query(context.Background(), q.SQL, q.Args...)
	if err != nil {
		t.Fatalf("run %s: %v", query, err)
	}
	defer rows.Close()
	if !rows.Next() {
		t.Fatalf("%s: no row", query)
	}
	v, err := rows.Values()
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range q.Columns {
		// datetimes come out of the engine as ticks since 0001-01-01
		if ticks, ok := v[i].(int64); ok && c.Type == types.DateTime {
			v[i] = nil
			if tm, ok := types.TimeFromTicks(ticks); ok {
				v[i] = tm
			}
		}
	}
	return v
}

// text renders a value for comparison: datetimes in Kusto's ISO form,
// reals to 6 decimals, JSON as its compact text.
func text(v any) string {
	switch x := v.(type) {
	case time.Time:
		return x.UTC().Format("2006-01-02T15:04:05.9999999Z")
	case float64:
		return fmt.Sprintf("%.6f", x)
	case []byte:
		return string(x)
	case nil:
		return "null"
	}
	return fmt.Sprint(v)
}

func TestFunctions(t *testing.T) {
	db := openDB(t)
	for _, c := range []struct {
		query string
		want  []string
	}{
		{`print punycode_to_string('acadmie-franaise-npb1a'), punycode_from_string('艺术'), punycode_to_string('a-é')`,
			[]string{"académie-française", "cqv902d", ""}},
		{`print punycode_domain_to_string('Rúyì.Jīngū.Bàng.com'), punycode_domain_from_string('xn--Lin-8na.Celtchair.org')`,
			[]string{"xn--Ry-lja8c.xn--Jng-uta63a.xn--Bng-9ka.com", "Lúin.Celtchair.org"}},
		{`print hash_many("Hello", "World") == hash_combine(hash("Hello"), hash("World")), hash_many("Hello", "World") == hash_many("World", "Hello")`,
			[]string{"true", "false"}},
		{`print ipv6_compare('fe80::85d:e82c:9446:7994', 'fe80::85d:e82c:9446:7995'), ipv6_compare('192.168.1.1/24', '192.168.1.255'), ipv6_compare('fe80::85d:e82c:9446:7994', 'fe80::85d:e82c:9446:7995', 127), ipv6_compare('not an ip', '::1')`,
			[]string{"-1", "0", "0", "null"}},
		{`print ipv6_is_match('::ffff:7f00:1', '127.0.0.1'), ipv6_is_match('192.168.1.1', '192.168.1.255', 24), ipv6_is_match('fe80::85d:e82c:9446:7994', 'fe80::85d:e82c:9446:7995')`,
			[]string{"true", "true", "false"}},
		{`print parse_ipv6('192.168.255.255/24'), parse_ipv6('fe80::85d:e82c:9446:7994'), parse_ipv6('nope'), parse_ipv6_mask('127.0.0.1', 24), parse_ipv6_mask('fe80::85d:e82c:9446:7994', 120)`,
			[]string{"0000:0000:0000:0000:0000:ffff:c0a8:ff00", "fe80:0000:0000:0000:085d:e82c:9446:7994", "", "0000:0000:0000:0000:0000:ffff:7f00:0000", "fe80:0000:0000:0000:085d:e82c:9446:7900"}},
		{`print ipv6_is_in_range('a5e:f127:8a9d:146d:e102:b5d3:c755:abcd', 'a5e:f127:8a9d:146d:e102:b5d3:c755:0000/112'), ipv6_is_in_any_range('a5e:f127:8a9d:146d:e102:b5d3:c755:abcd', dynamic(['::1', 'a5e:f127:8a9d:146d:e102:b5d3:c755:0000/112'])), ipv6_is_in_any_range('::2', '::1', 'fe80::/10')`,
			[]string{"true", "true", "false"}},
		{`print ipv4_is_in_any_range('192.168.1.6', '10.0.0.1/8', '192.168.1.1/24'), ipv4_is_in_any_range('192.168.1.6', dynamic(['10.0.0.1/8', '172.16.0.0/12'])), ipv4_is_in_any_range('192.168.1.6', dynamic(['192.168.0.0/16']))`,
			[]string{"true", "false", "true"}},
		{`print format_ipv4('192.168.1.255', 24), format_ipv4_mask(3232236031, 24), format_ipv4('192.168.1.1'), format_ipv4_mask('10.1.2.3/8'), format_ipv4('bad'), format_ipv4(3232236031, 33)`,
			[]string{"192.168.1.0", "192.168.1.0/24", "192.168.1.1", "10.0.0.0/8", "", ""}},
		{`print has_ipv4('05:04:54 127.0.0.1 GET /favicon.ico 404', '127.0.0.1'), has_ipv4('05:04:54 127.0.0.256 GET /favicon.ico 404', '127.0.0.256'), has_ipv4('05:04:54127.0.0.1 GET /favicon.ico 404', '127.0.0.1')`,
			[]string{"true", "false", "false"}},
		{`print has_ipv4_prefix('05:04:54 127.0.0.1 GET /favicon.ico 404', '127.0.'), has_ipv4_prefix('05:04:54 127.0.0.1 GET /favicon.ico 404', '127.0'), has_ipv4_prefix('05:04:54 127.0.0.256 GET /favicon.ico 404', '127.0.')`,
			[]string{"true", "false", "false"}},
		{`print has_any_ipv4_prefix('05:04:54 127.0.0.1 GET /favicon.ico 404', dynamic(["127.0.", "192.168."])), has_any_ipv4('05:04:54 127.0.0.1 GET /favicon.ico 404', '10.0.0.1', '127.0.0.1'), has_any_ipv4('05:04:54 127.0.0.1 GET', dynamic(null))`,
			[]string{"true", "true", "false"}},
		{`print geo_distance_2points(-122.407628, 47.578557, -118.275287, 34.019056), geo_distance_2points(300, 1, 1, 1)`,
			[]string{"1546754.351974", "null"}},
		{`print geo_point_in_circle(-122.317404, 47.609119, -122.317404, 47.61, 1000), geo_point_in_circle(-122.317404, 47.609119, -122.3, 47.7, 1000)`,
			[]string{"true", "false"}},
		{`print geo_point_in_polygon(-73.985, 40.75, dynamic({"type":"Polygon","coordinates":[[[-74.0,40.7],[-73.9,40.7],[-73.9,40.8],[-74.0,40.8],[-74.0,40.7]]]})), geo_point_in_polygon(-73.0, 40.75, dynamic({"type":"Polygon","coordinates":[[[-74.0,40.7],[-73.9,40.7],[-73.9,40.8],[-74.0,40.8],[-74.0,40.7]]]}))`,
			[]string{"true", "false"}},
		{`print geo_point_to_geohash(139.806115, 35.554128, 12), geo_point_to_geohash(139.806115, 35.554128), geo_point_to_geohash(-80.195829, 25.802215, 8), geo_point_to_geohash(200, 0)`,
			[]string{"xn76m27ty9g4", "xn76m", "dhwfz15h", ""}},
		{`print geo_point_to_s2cell(-80.195829, 25.802215, 8), geo_point_to_s2cell(0, 0, 0), geo_point_to_s2cell(0, 0, 31)`,
			[]string{"88d9b", "1", ""}},
		{`print point = geo_geohash_to_central_point('sunny') | project lon = toreal(point.coordinates[0])`,
			[]string{"42.473145"}},
		{`print c = geo_s2cell_to_central_point(geo_point_to_s2cell(-80.195829, 25.802215, 8)) | project geo_point_to_s2cell(toreal(c.coordinates[0]), toreal(c.coordinates[1]), 8), isnull(geo_s2cell_to_central_point('zz'))`,
			[]string{"88d9b", "true"}},
		{`print geo_distance_point_to_polygon(0.5, 0.5, dynamic({"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1],[0,0]]]})), geo_distance_point_to_polygon(0.5, 1.5, dynamic({"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1],[0,0]]]})) between (55000 .. 56000)`,
			[]string{"0.000000", "true"}},
		{`print geo_distance_point_to_line(-122.0, 48.0, dynamic({"type":"LineString","coordinates":[[-122,47],[-122,49]]})) < 1`,
			[]string{"true"}},
		{`print treepath(parse_json('{"listProperty":[100,200,300,"abcde",{"x":"y"}]}'))`,
			[]string{`["['listProperty']","['listProperty'][0]","['listProperty'][0]['x']"]`}},
		{`print p = parse_path('file://C:/temp/file.txt:some.exe') | project tostring(p.Scheme), tostring(p.RootPath), tostring(p.DirectoryPath), tostring(p.Filename), tostring(p.Extension), tostring(p.AlternateDataStreamName)`,
			[]string{"file", "C:", "C:/temp", "file.txt", "txt", "some.exe"}},
		{`print datetime_utc_to_local(datetime(2015-12-31 23:59:59.9), 'US/Eastern'), datetime_local_to_utc(datetime(2015-12-31 18:59:59.9), 'US/Eastern'), datetime_utc_to_local(datetime(2024-07-01), 'Europe/Paris'), datetime_utc_to_local(datetime(2024-07-01), 'Nowhere/Zone')`,
			[]string{"2015-12-31T18:59:59.9Z", "2015-12-31T23:59:59.9Z", "2024-07-01T02:00:00Z", "null"}},
		{`datatable(d:dynamic)[dynamic({"x":1, "y":3.5}), dynamic({"x":"somevalue", "z":[1, 2, 3]}), dynamic({"y":{"w":"zzz"}, "t":["aa", "bb"], "z":["foo"]})] | summarize buildschema(d)`,
			[]string{"{\"x\":[\"long\",\"string\"],\"y\":[\"double\",{\"w\":\"string\"}],\"z\":{\"`indexer`\":[\"long\",\"string\"]},\"t\":{\"`indexer`\":\"string\"}}"}},
	} {
		row := firstRow(t, db, c.query)
		var got []string
		for _, v := range row {
			got = append(got, text(v))
		}
		if strings.Join(got, " | ") != strings.Join(c.want, " | ") {
			t.Errorf("%s\n got: %q\nwant: %q", c.query, got, c.want)
		}
	}
}

// The distance is the documented one to the 8 decimals ADX prints.
func TestDistanceDocumentedValue(t *testing.T) {
	db := openDB(t)
	v := firstRow(t, db, `print geo_distance_2points(-122.407628, 47.578557, -118.275287, 34.019056)`)[0].(float64)
	if math.Abs(v-1546754.35197381) > 1e-6 {
		t.Fatalf("distance = %.8f, want 1546754.35197381", v)
	}
}

// Arguments of other types than the documented ones are converted the way
// Kusto converts them (tostring, toreal) instead of failing the query.
func TestLooseArgumentTypes(t *testing.T) {
	db := openDB(t)
	for _, q := range []string{
		`print hash_many(dynamic([1]), 1, 2.5, datetime(2020-01-01), true)`,
		`print hash_combine(dynamic(1), 2)`,
		`print ipv4_is_in_any_range(1, 2), ipv6_is_match(1, dynamic("::1")), parse_ipv6_mask(dynamic("::1"), 3)`,
		`print format_ipv4(dynamic(1)), format_ipv4_mask(2.5), format_ipv4(int(null))`,
		`print geo_point_in_polygon("a", "b", "c"), geo_distance_2points(dynamic(1), 2, "3", 4), geo_point_to_s2cell(1, 2, dynamic(3))`,
		`print punycode_from_string(123), treepath(dynamic(null)), parse_path(dynamic(["a"]))`,
		`print datetime_utc_to_local(datetime(null), 'UTC'), datetime_local_to_utc(now(), '')`,
		`datatable(x:long)[1, 2] | summarize buildschema(x)`,
		`datatable(x:dynamic)[] | summarize buildschema(x)`,
	} {
		firstRow(t, db, q)
	}
}
