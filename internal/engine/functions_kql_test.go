package engine

import (
	"context"
	"testing"
)

// Each function is called through DuckDB, as the compiled KQL calls it.
func TestKustoScalarUDFs(t *testing.T) {
	db, err := Open("", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, c := range []struct {
		query string
		want  any
	}{
		{"SELECT odx_punycode_encode('艺术')", "cqv902d"},
		{"SELECT odx_punycode_decode('acadmie-franaise-npb1a')", "académie-française"},
		{"SELECT odx_punycode_decode('a-é')", ""},
		{"SELECT odx_punycode_domain_decode('xn--Ry-lja8c.xn--Jng-uta63a.xn--Bng-9ka.com')", "Rúyì.Jīngū.Bàng.com"},
		{"SELECT odx_punycode_domain_encode('Gáe.Bulg.edu')", "xn--Ge-mia.Bulg.edu"},
		{"SELECT odx_ipv6_compare('fe80::85d:e82c:9446:7994', 'fe80::85d:e82c:9446:7995', -1)", int64(-1)},
		{"SELECT odx_ipv6_compare('192.168.1.1/24', '::ffff:c0a8:01ff', -1)", int64(0)},
		{"SELECT odx_ipv6_compare('nonsense', '::1', -1)", nil},
		{"SELECT odx_ipv6_parse('192.168.255.255/24', -1)", "0000:0000:0000:0000:0000:ffff:c0a8:ff00"},
		{"SELECT odx_ipv6_parse('x', -1)", ""},
		{"SELECT odx_ipv6_in_range('10.1.2.3', '10.0.0.0/8')", true},
		{"SELECT odx_has_ipv4(false, '05:04:54 127.0.0.1 GET', '10.0.0.1', '127.0.0.1')", true},
		{`SELECT odx_has_ipv4(true, '05:04:54 127.0.0.1 GET', '["192.", "127.0."]')`, true},
		{"SELECT odx_has_ipv4(true, '05:04:54 127.0.0.1 GET', '127.0')", false},
		{"SELECT round(odx_geo_distance(-122.407628, 47.578557, -118.275287, 34.019056), 4)", 1546754.352},
		{"SELECT odx_geo_distance(300, 1, 1, 1)", nil},
		{"SELECT odx_geo_geohash(139.806115, 35.554128, 12)", "xn76m27ty9g4"},
		{"SELECT odx_geo_s2cell(-80.195829, 25.802215, 8)", "88d9b"},
		{"SELECT odx_geo_geohash_center('s')", `{"coordinates":[22.5,22.5],"type":"Point"}`},
		{`SELECT odx_geo_in_polygon(1, 1, '{"type":"Polygon","coordinates":[[[0,0],[2,0],[2,2],[0,2],[0,0]]]}')`, true},
		{`SELECT odx_treepath('{"prop1":[1,2,3,4], "prop2":"value2"}')`, `["['prop1']","['prop1'][0]","['prop2']"]`},
		{`SELECT odx_buildschema('[{"x":1},{"x":"a"}]')`, `{"x":["long","string"]}`},
		{`SELECT odx_parse_path('/usr/lib/file.txt')`, `{"Scheme":"","RootPath":"","DirectoryPath":"/usr/lib","DirectoryName":"lib","Filename":"file.txt","Extension":"txt","AlternateDataStreamName":""}`},
		// 2024-07-01T00:00:00Z in ticks, and Paris at UTC+2 in summer.
		{"SELECT odx_utc_to_local_ticks(638553888000000000, 'Europe/Paris') - 638553888000000000", int64(2 * 3600 * 10_000_000)},
		{"SELECT odx_local_to_utc_ticks(638553888000000000, 'Europe/Paris') - 638553888000000000", int64(-2 * 3600 * 10_000_000)},
		{"SELECT odx_utc_to_local_ticks(638553888000000000, 'Not/AZone')", nil},
		{"SELECT odx_hash_combine(1, 2) = odx_hash_combine(1, 2) AND odx_hash_combine(1, 2) <> odx_hash_combine(2, 1)", true},
	} {
		rows, err := db.Query(context.Background(), c.query)
		if err != nil {
			t.Errorf("%s: %v", c.query, err)
			continue
		}
		if !rows.Next() {
			t.Errorf("%s: no row", c.query)
			rows.Close()
			continue
		}
		v, err := rows.Values()
		rows.Close()
		if err != nil {
			t.Errorf("%s: %v", c.query, err)
			continue
		}
		if f, ok := v[0].(float64); ok {
			if w, _ := c.want.(float64); f-w > 1e-3 || w-f > 1e-3 {
				t.Errorf("%s = %v, want %v", c.query, f, c.want)
			}
			continue
		}
		if v[0] != c.want {
			t.Errorf("%s = %#v, want %#v", c.query, v[0], c.want)
		}
	}
}
