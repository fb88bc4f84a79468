// Package geo is the spherical geometry behind KQL's geo_* functions:
// coordinates are WGS-84 longitude/latitude in degrees, measured on a sphere
// of the radius Kusto uses, so distances agree with ADX's documentation.
package geo

import (
	"encoding/json"
	"errors"
	"math"
	"sync"
)

// EarthRadius is the radius, in meters, of the sphere Kusto measures on: the
// distance its documentation gives for geo_distance_2points(-122.407628,
// 47.578557, -118.275287, 34.019056), 1546754.35197381 m, is the great-circle
// distance on this sphere.
const EarthRadius = 6371010.0

// ValidPoint reports whether lon is in [-180, 180] and lat in [-90, 90].
func ValidPoint(lon, lat float64) bool {
	return lon >= -180 && lon <= 180 && lat >= -90 && lat <= 90
}

func rad(d float64) float64 { return d * math.Pi / 180 }

// Distance is the great-circle distance in meters between two points, and
// false when a coordinate is out of range.
func Distance(lon1, lat1, lon2, lat2 float64) (float64, bool) {
	if !ValidPoint(lon1, lat1) || !ValidPoint(lon2, lat2) {
		return 0, false
	}
	p1, p2 := rad(lat1), rad(lat2)
	dp, dl := p2-p1, rad(lon2-lon1)
	h := math.Sin(dp/2)*math.Sin(dp/2) + math.Cos(p1)*math.Cos(p2)*math.Sin(dl/2)*math.Sin(dl/2)
	return 2 * EarthRadius * math.Asin(math.Sqrt(min(h, 1))), true
}

// vec is a point on the unit sphere.
type vec struct{ x, y, z float64 }

func toVec(lon, lat float64) vec {
	l, p := rad(lon), rad(lat)
	return vec{math.Cos(p) * math.Cos(l), math.Cos(p) * math.Sin(l), math.Sin(p)}
}

func (a vec) dot(b vec) float64 { return a.x*b.x + a.y*b.y + a.z*b.z }
func (a vec) cross(b vec) vec {
	return vec{a.y*b.z - a.z*b.y, a.z*b.x - a.x*b.z, a.x*b.y - a.y*b.x}
}
func (a vec) norm() float64 { return math.Sqrt(a.dot(a)) }

// angle is the central angle between two unit vectors.
func angle(a, b vec) float64 { return math.Atan2(a.cross(b).norm(), a.dot(b)) }

// segmentDistance is the angular distance from p to the shorter great-circle
// arc a-b.
func segmentDistance(p, a, b vec) float64 {
	n := a.cross(b)
	nn := n.norm()
	if nn < 1e-15 { // a and b coincide (or are antipodal): no defined arc
		return math.Min(angle(p, a), angle(p, b))
	}
	// The foot of the perpendicular lies on the arc when it is on the inner
	// side of both end points.
	if a.cross(p).dot(n) > 0 && p.cross(b).dot(n) > 0 {
		return math.Abs(math.Asin(max(-1, min(1, p.dot(n)/nn))))
	}
	return math.Min(angle(p, a), angle(p, b))
}

// GeoJSON shapes the functions accept.
type shape struct {
	Type        string          `json:"type"`
	Coordinates json.RawMessage `json:"coordinates"`
}

var errShape = errors.New("geo: not a valid GeoJSON shape")

func validRing(pts [][]float64) bool {
	for _, p := range pts {
		if len(p) < 2 || !ValidPoint(p[0], p[1]) {
			return false
		}
	}
	return true
}

// parseShape reads the coordinates of a GeoJSON shape of type single (one T)
// or multi (a list of them) as a list.
func parseShape[T any](geojson, single, multi string) ([]T, error) {
	var s shape
	if err := json.Unmarshal([]byte(geojson), &s); err != nil {
		return nil, errShape
	}
	switch s.Type {
	case single:
		var one T
		if err := json.Unmarshal(s.Coordinates, &one); err != nil {
			return nil, errShape
		}
		return []T{one}, nil
	case multi:
		var many []T
		if err := json.Unmarshal(s.Coordinates, &many); err != nil {
			return nil, errShape
		}
		return many, nil
	}
	return nil, errShape
}

// Lines reads a GeoJSON LineString or MultiLineString. The result is shared
// (cached): callers must not modify it.
func Lines(geojson string) ([][][]float64, error) {
	v, err := parsed.get(shapeKey{"lines", geojson}, func() (any, error) { return parseLines(geojson) })
	if err != nil {
		return nil, err
	}
	return v.([][][]float64), nil
}

func parseLines(geojson string) ([][][]float64, error) {
	lines, err := parseShape[[][]float64](geojson, "LineString", "MultiLineString")
	if err != nil {
		return nil, err
	}
	for _, l := range lines {
		if len(l) < 2 || !validRing(l) {
			return nil, errShape
		}
	}
	return lines, nil
}

// DistanceToLine is the shortest distance in meters from a point to a GeoJSON
// LineString or MultiLineString whose edges are great-circle arcs.
func DistanceToLine(lon, lat float64, geojson string) (float64, bool) {
	lines, err := Lines(geojson)
	if err != nil || !ValidPoint(lon, lat) {
		return 0, false
	}
	p := toVec(lon, lat)
	best := math.Inf(1)
	for _, l := range lines {
		best = math.Min(best, pathDistance(p, l))
	}
	return best * EarthRadius, true
}

// pathDistance is the angular distance from p to the nearest of the
// great-circle arcs joining consecutive points of path.
func pathDistance(p vec, path [][]float64) float64 {
	best := math.Inf(1)
	for i := 0; i+1 < len(path); i++ {
		best = math.Min(best, segmentDistance(p, toVec(path[i][0], path[i][1]), toVec(path[i+1][0], path[i+1][1])))
	}
	return best
}

// Polygons reads a GeoJSON Polygon or MultiPolygon: each polygon is a shell
// followed by its holes. The result is shared (cached): callers must not
// modify it.
func Polygons(geojson string) ([][][][]float64, error) {
	v, err := parsed.get(shapeKey{"polygons", geojson}, func() (any, error) { return parsePolygons(geojson) })
	if err != nil {
		return nil, err
	}
	return v.([][][][]float64), nil
}

func parsePolygons(geojson string) ([][][][]float64, error) {
	polys, err := parseShape[[][][]float64](geojson, "Polygon", "MultiPolygon")
	if err != nil {
		return nil, err
	}
	for _, p := range polys {
		if len(p) == 0 {
			return nil, errShape
		}
		for _, ring := range p {
			if len(ring) < 4 || !validRing(ring) {
				return nil, errShape
			}
		}
	}
	return polys, nil
}

// PointInPolygon reports whether a point is inside a GeoJSON Polygon or
// MultiPolygon (inside a shell and outside its holes). Edges are geodesics,
// as in Kusto: the rings are seen through the gnomonic projection centred on
// the point, which maps great circles to straight lines, and tested there
// with the even-odd rule. When part of a ring is 90 degrees or more away
// from the point, that projection does not exist, and the edges are taken as
// straight in longitude/latitude instead.
func PointInPolygon(lon, lat float64, geojson string) (bool, bool) {
	polys, err := Polygons(geojson)
	if err != nil || !ValidPoint(lon, lat) {
		return false, false
	}
	project := gnomonic(lon, lat)
	in := func(ring [][]float64) bool {
		if flat, ok := project(ring); ok {
			return inRing(0, 0, flat)
		}
		return inRing(lon, lat, ring)
	}
	for _, p := range polys {
		if !in(p[0]) {
			continue
		}
		inHole := false
		for _, hole := range p[1:] {
			if in(hole) {
				inHole = true
				break
			}
		}
		if !inHole {
			return true, true
		}
	}
	return false, true
}

// gnomonic returns the projection of rings onto the plane tangent to the
// sphere at (lon, lat), that point at the origin, x east and y north; false
// when a vertex is not in the hemisphere around the point.
func gnomonic(lon, lat float64) func([][]float64) ([][]float64, bool) {
	p := toVec(lon, lat)
	l, f := rad(lon), rad(lat)
	east := vec{-math.Sin(l), math.Cos(l), 0}
	north := vec{-math.Sin(f) * math.Cos(l), -math.Sin(f) * math.Sin(l), math.Cos(f)}
	return func(ring [][]float64) ([][]float64, bool) {
		out := make([][]float64, len(ring))
		for i, c := range ring {
			v := toVec(c[0], c[1])
			d := v.dot(p)
			if d < 1e-9 {
				return nil, false
			}
			out[i] = []float64{v.dot(east) / d, v.dot(north) / d}
		}
		return out, true
	}
}

// inRing is the even-odd ray-casting test.
func inRing(x, y float64, ring [][]float64) bool {
	in := false
	for i, j := 0, len(ring)-1; i < len(ring); j, i = i, i+1 {
		xi, yi, xj, yj := ring[i][0], ring[i][1], ring[j][0], ring[j][1]
		if (yi > y) != (yj > y) && x < (xj-xi)*(y-yi)/(yj-yi)+xi {
			in = !in
		}
	}
	return in
}

// PointJSON is the GeoJSON point Kusto returns for a coordinate.
func PointJSON(lon, lat float64) string {
	b, _ := json.Marshal(map[string]any{"type": "Point", "coordinates": []float64{lon, lat}})
	return string(b)
}

// DistanceToPolygon is the shortest distance in meters from a point to a
// GeoJSON Polygon or MultiPolygon: 0 inside it, else the distance to the
// nearest edge (edges as great-circle arcs).
func DistanceToPolygon(lon, lat float64, geojson string) (float64, bool) {
	inside, ok := PointInPolygon(lon, lat, geojson)
	if !ok {
		return 0, false
	}
	if inside {
		return 0, true
	}
	polys, _ := Polygons(geojson)
	p := toVec(lon, lat)
	best := math.Inf(1)
	for _, poly := range polys {
		for _, ring := range poly {
			best = math.Min(best, pathDistance(p, ring))
		}
	}
	return best * EarthRadius, true
}

// shapeCache keeps recently parsed shapes: a query usually tests every row
// against the same constant polygon or line, which need not be parsed again
// per row. It is cleared when full, which bounds its memory.
type shapeCache struct {
	mu      sync.Mutex
	entries map[shapeKey]cachedShape
}

// shapeKey is what a shape was parsed as and its text: a struct, so that a
// lookup per row does not build a new string.
type shapeKey struct{ kind, geojson string }

type cachedShape struct {
	v   any
	err error
}

const shapeCacheSize = 64

var parsed = &shapeCache{}

func (c *shapeCache) get(key shapeKey, parse func() (any, error)) (any, error) {
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if ok {
		return e.v, e.err
	}
	v, err := parse()
	c.mu.Lock()
	if c.entries == nil || len(c.entries) >= shapeCacheSize {
		c.entries = map[shapeKey]cachedShape{}
	}
	c.entries[key] = cachedShape{v, err}
	c.mu.Unlock()
	return v, err
}
