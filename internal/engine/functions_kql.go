package engine

import (
	"database/sql/driver"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // datetime_utc_to_local must know every IANA zone, even where the host has no zoneinfo

	"github.com/cespare/xxhash/v2"
	"github.com/duckdb/duckdb-go/v2"

	"odx/internal/dynshape"
	"odx/internal/geo"
	"odx/internal/ipaddr"
	"odx/internal/kql/types"
	"odx/internal/pathparts"
	"odx/internal/punycode"
)

// More Kusto functions DuckDB lacks (hash_many, punycode_*, ipv6_*, geo_*,
// treepath, buildschema, parse_path, time zones). The compiler lowers to
// them by name (internal/kql/compile/fn_*.go). NULL in gives NULL out; a nil
// result is SQL NULL. Text results that are dynamic values are JSON text
// the compiler casts to JSON.
func init() {
	for name, f := range map[string]goFunc{
		// odx_hash_combine(h1, h2, ...): the combined hash of hash() values
		// (xxhash64 of their little-endian bytes).
		"odx_hash_combine": {variadic: duckdb.TYPE_BIGINT, out: duckdb.TYPE_BIGINT, fn: func(v []driver.Value) (any, error) {
			b := make([]byte, 0, 8*len(v))
			for _, x := range v {
				b = binary.LittleEndian.AppendUint64(b, uint64(x.(int64)))
			}
			return int64(xxhash.Sum64(b)), nil
		}},
		"odx_punycode_encode":        textFunc(punycode.Encode),
		"odx_punycode_decode":        textFunc(punycode.Decode),
		"odx_punycode_domain_encode": textFunc(punycode.DomainToASCII),
		"odx_punycode_domain_decode": textFunc(punycode.DomainToUnicode),
		// odx_ipv6_compare(a, b, prefix): -1, 0 or 1; prefix < 0 means none.
		"odx_ipv6_compare": {in: []duckdb.Type{duckdb.TYPE_VARCHAR, duckdb.TYPE_VARCHAR, duckdb.TYPE_BIGINT}, out: duckdb.TYPE_BIGINT,
			fn: func(v []driver.Value) (any, error) {
				a, errA := ipaddr.Parse(v[0].(string))
				b, errB := ipaddr.Parse(v[1].(string))
				if errA != nil || errB != nil {
					return nil, nil
				}
				return int64(ipaddr.Compare(a, b, int(v[2].(int64)))), nil
			}},
		// odx_ipv6_parse(ip, prefix): the canonical form, "" when ip is not an address.
		"odx_ipv6_parse": {in: []duckdb.Type{duckdb.TYPE_VARCHAR, duckdb.TYPE_BIGINT}, out: duckdb.TYPE_VARCHAR,
			fn: func(v []driver.Value) (any, error) {
				a, err := ipaddr.Parse(v[0].(string))
				if err != nil {
					return "", nil
				}
				return ipaddr.Canonical(a, int(v[1].(int64))), nil
			}},
		"odx_ipv6_in_range": {in: []duckdb.Type{duckdb.TYPE_VARCHAR, duckdb.TYPE_VARCHAR}, out: duckdb.TYPE_BOOLEAN,
			fn: func(v []driver.Value) (any, error) {
				ip, errA := ipaddr.Parse(v[0].(string))
				rng, errB := ipaddr.Parse(v[1].(string))
				if errA != nil || errB != nil {
					return nil, nil
				}
				return ipaddr.InRange(ip, rng), nil
			}},
		// odx_has_ipv4(prefix, text, needle, ...): whether text holds one of
		// the addresses (prefixes); a needle that is a JSON array holds several.
		"odx_has_ipv4": {in: []duckdb.Type{duckdb.TYPE_BOOLEAN, duckdb.TYPE_VARCHAR}, variadic: duckdb.TYPE_VARCHAR, out: duckdb.TYPE_BOOLEAN,
			fn: func(v []driver.Value) (any, error) {
				var needles []string
				for _, x := range v[2:] {
					s := x.(string)
					if strings.HasPrefix(s, "[") {
						var list []any
						if json.Unmarshal([]byte(s), &list) == nil {
							for _, e := range list {
								if str, ok := e.(string); ok {
									needles = append(needles, str)
								}
							}
						}
						continue
					}
					needles = append(needles, s)
				}
				return ipaddr.ContainsAny(v[1].(string), needles, v[0].(bool)), nil
			}},
		"odx_geo_distance": {in: []duckdb.Type{duckdb.TYPE_DOUBLE, duckdb.TYPE_DOUBLE, duckdb.TYPE_DOUBLE, duckdb.TYPE_DOUBLE}, out: duckdb.TYPE_DOUBLE,
			fn: func(v []driver.Value) (any, error) {
				return orNull(geo.Distance(v[0].(float64), v[1].(float64), v[2].(float64), v[3].(float64)))
			}},
		"odx_geo_in_polygon":          pointAndShape(duckdb.TYPE_BOOLEAN, geo.PointInPolygon),
		"odx_geo_distance_to_line":    pointAndShape(duckdb.TYPE_DOUBLE, geo.DistanceToLine),
		"odx_geo_distance_to_polygon": pointAndShape(duckdb.TYPE_DOUBLE, geo.DistanceToPolygon),
		// geohash and S2 tokens are "" for invalid input, as in Kusto.
		"odx_geo_geohash":        cellToken(geo.Geohash),
		"odx_geo_s2cell":         cellToken(geo.S2Token),
		"odx_geo_geohash_center": cellCenter(geo.GeohashCenter),
		"odx_geo_s2cell_center":  cellCenter(geo.S2TokenCenter),
		"odx_treepath": {in: []duckdb.Type{duckdb.TYPE_VARCHAR}, out: duckdb.TYPE_VARCHAR,
			fn: func(v []driver.Value) (any, error) {
				paths, err := dynshape.TreePath(v[0].(string))
				if err != nil {
					return nil, nil
				}
				b, _ := json.Marshal(paths)
				return string(b), nil
			}},
		"odx_buildschema": {in: []duckdb.Type{duckdb.TYPE_VARCHAR}, out: duckdb.TYPE_VARCHAR,
			fn: func(v []driver.Value) (any, error) {
				s, err := dynshape.BuildSchema(v[0].(string))
				if err != nil {
					return nil, nil
				}
				return s, nil
			}},
		"odx_parse_path": {in: []duckdb.Type{duckdb.TYPE_VARCHAR}, out: duckdb.TYPE_VARCHAR,
			fn: func(v []driver.Value) (any, error) { return pathJSON(pathparts.Parse(v[0].(string))), nil }},
		// Time zones work on ticks (100 ns since 0001-01-01, Kusto's datetime
		// unit) so that they serve whatever storage the compiler uses.
		"odx_utc_to_local_ticks": {in: []duckdb.Type{duckdb.TYPE_BIGINT, duckdb.TYPE_VARCHAR}, out: duckdb.TYPE_BIGINT,
			fn: func(v []driver.Value) (any, error) { return zoneShift(v[0].(int64), v[1].(string), true), nil }},
		"odx_local_to_utc_ticks": {in: []duckdb.Type{duckdb.TYPE_BIGINT, duckdb.TYPE_VARCHAR}, out: duckdb.TYPE_BIGINT,
			fn: func(v []driver.Value) (any, error) { return zoneShift(v[0].(int64), v[1].(string), false), nil }},
	} {
		kustoFunctions[name] = f
	}
}

// goFunc is a scalar function with fixed (or variadic) argument types.
type goFunc struct {
	in       []duckdb.Type
	variadic duckdb.Type // TYPE_INVALID (0) when not variadic
	out      duckdb.Type
	fn       func([]driver.Value) (any, error)
}

func (f goFunc) Config() duckdb.ScalarFuncConfig {
	var cfg duckdb.ScalarFuncConfig
	for _, t := range f.in {
		ti, _ := duckdb.NewTypeInfo(t)
		cfg.InputTypeInfos = append(cfg.InputTypeInfos, ti)
	}
	if f.variadic != duckdb.TYPE_INVALID {
		cfg.VariadicTypeInfo, _ = duckdb.NewTypeInfo(f.variadic)
	}
	cfg.ResultTypeInfo, _ = duckdb.NewTypeInfo(f.out)
	return cfg
}

func (f goFunc) Executor() duckdb.ScalarFuncExecutor {
	return duckdb.ScalarFuncExecutor{RowExecutor: f.fn}
}

// textFunc is a VARCHAR -> VARCHAR function whose failures are "" (Kusto's
// punycode functions return an empty string when they cannot convert).
func textFunc(conv func(string) (string, error)) goFunc {
	return goFunc{in: []duckdb.Type{duckdb.TYPE_VARCHAR}, out: duckdb.TYPE_VARCHAR, fn: func(v []driver.Value) (any, error) {
		s, ok := v[0].(string)
		if !ok {
			return nil, fmt.Errorf("unexpected %T", v[0])
		}
		out, err := conv(s)
		if err != nil {
			return "", nil
		}
		return out, nil
	}}
}

// pointAndShape is (lon, lat, GeoJSON shape) -> a value of type out; NULL
// when the point or the shape is invalid.
func pointAndShape[T any](out duckdb.Type, f func(lon, lat float64, geojson string) (T, bool)) goFunc {
	return goFunc{in: []duckdb.Type{duckdb.TYPE_DOUBLE, duckdb.TYPE_DOUBLE, duckdb.TYPE_VARCHAR}, out: out,
		fn: func(v []driver.Value) (any, error) {
			return orNull(f(v[0].(float64), v[1].(float64), v[2].(string)))
		}}
}

// cellToken is (lon, lat, level) -> the token of the cell holding the
// point: a geohash or an S2 token.
func cellToken(token func(lon, lat float64, level int) (string, bool)) goFunc {
	return goFunc{in: []duckdb.Type{duckdb.TYPE_DOUBLE, duckdb.TYPE_DOUBLE, duckdb.TYPE_BIGINT}, out: duckdb.TYPE_VARCHAR,
		fn: func(v []driver.Value) (any, error) {
			s, _ := token(v[0].(float64), v[1].(float64), int(v[2].(int64)))
			return s, nil
		}}
}

// cellCenter is token -> the GeoJSON point at the centre of its cell; NULL
// for an invalid token.
func cellCenter(center func(token string) (lon, lat float64, ok bool)) goFunc {
	return goFunc{in: []duckdb.Type{duckdb.TYPE_VARCHAR}, out: duckdb.TYPE_VARCHAR,
		fn: func(v []driver.Value) (any, error) {
			lon, lat, ok := center(v[0].(string))
			if !ok {
				return nil, nil
			}
			return geo.PointJSON(lon, lat), nil
		}}
}

// orNull turns a (value, valid) pair into the value or SQL NULL.
func orNull[T any](v T, ok bool) (any, error) {
	if !ok {
		return nil, nil
	}
	return v, nil
}

// pathJSON is parse_path's bag, its properties in Kusto's order.
func pathJSON(p pathparts.Parts) string {
	values := p.Values()
	kv := make([]any, 0, 2*len(values))
	for i, name := range pathparts.Names {
		kv = append(kv, name, values[i])
	}
	return jsonObject(kv...)
}

var zones sync.Map // name -> *time.Location

func loadZone(name string) (*time.Location, bool) {
	if l, ok := zones.Load(name); ok {
		return l.(*time.Location), true
	}
	l, err := time.LoadLocation(name)
	if err != nil || name == "" || name == "Local" {
		return nil, false
	}
	zones.Store(name, l)
	return l, true
}

// zoneShift converts ticks between UTC and the wall clock of an IANA zone;
// nil (NULL) for an unknown zone. A local time that a DST change skips or
// repeats resolves as Go's time.Date does.
func zoneShift(ticks int64, zone string, toLocal bool) any {
	loc, ok := loadZone(zone)
	if !ok {
		return nil
	}
	t, ok := types.TimeFromTicks(ticks)
	if !ok {
		return nil
	}
	if toLocal {
		_, offset := t.In(loc).Zone()
		return ticks + int64(offset)*types.TicksPerSecond
	}
	local := time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), loc)
	if shifted, ok := types.TicksFromTime(local); ok {
		return shifted
	}
	return nil
}
