package geo

import (
	"math"
	"testing"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// Values from Kusto's geo_* documentation.
func TestDistance(t *testing.T) {
	d, ok := Distance(-122.407628, 47.578557, -118.275287, 34.019056)
	if !ok || !near(d, 1546754.35197381, 1e-4) {
		t.Fatalf("Seattle to Los Angeles = %v, %v; want 1546754.35197381", d, ok)
	}
	if _, ok := Distance(300, 1, 1, 1); ok {
		t.Fatal("a longitude of 300 must be invalid")
	}
	if d, _ := Distance(10, 20, 10, 20); d != 0 {
		t.Fatalf("distance of a point to itself = %v", d)
	}
}

func TestGeohash(t *testing.T) {
	for _, c := range []struct {
		lon, lat float64
		acc      int
		want     string
	}{
		{139.806115, 35.554128, 12, "xn76m27ty9g4"},
		{-80.195829, 25.802215, 8, "dhwfz15h"},
	} {
		got, ok := Geohash(c.lon, c.lat, c.acc)
		if !ok || got != c.want {
			t.Errorf("Geohash(%v, %v, %d) = %q, want %q", c.lon, c.lat, c.acc, got, c.want)
		}
		lon, lat, ok := GeohashCenter(got)
		if !ok || !near(lon, c.lon, 1e-3) || !near(lat, c.lat, 1e-3) {
			t.Errorf("GeohashCenter(%q) = %v, %v, %v", got, lon, lat, ok)
		}
	}
	if _, ok := Geohash(0, 0, 19); ok {
		t.Error("accuracy 19 must be invalid")
	}
	if _, _, ok := GeohashCenter("a"); ok { // 'a' is not in the geohash alphabet
		t.Error(`GeohashCenter("a") must fail`)
	}
	lon, lat, _ := GeohashCenter("s")
	if lon != 22.5 || lat != 22.5 {
		t.Errorf(`GeohashCenter("s") = %v, %v; want 22.5, 22.5`, lon, lat)
	}
}

func TestS2(t *testing.T) {
	got, ok := S2Token(-80.195829, 25.802215, 8)
	if !ok || got != "88d9b" {
		t.Fatalf("S2Token = %q, want 88d9b", got)
	}
	// Level 0 cells are the six cube faces: tokens 1, 3, 5, 7, 9 and b.
	for _, c := range []struct {
		lon, lat float64
		want     string
	}{{0, 0, "1"}, {90, 0, "3"}, {0, 90, "5"}, {180, 0, "7"}, {-90, 0, "9"}, {0, -90, "b"}} {
		if got, _ := S2Token(c.lon, c.lat, 0); got != c.want {
			t.Errorf("S2Token(%v, %v, 0) = %q, want %q", c.lon, c.lat, got, c.want)
		}
	}
	if _, ok := S2Token(0, 0, 31); ok {
		t.Error("level 31 must be invalid")
	}
}

func TestPointInPolygon(t *testing.T) {
	square := `{"type":"Polygon","coordinates":[[[0,0],[10,0],[10,10],[0,10],[0,0]],[[4,4],[6,4],[6,6],[4,6],[4,4]]]}`
	for _, c := range []struct {
		lon, lat float64
		want     bool
	}{{1, 1, true}, {5, 5, false}, {11, 5, false}, {9.9, 9.9, true}} {
		got, ok := PointInPolygon(c.lon, c.lat, square)
		if !ok || got != c.want {
			t.Errorf("PointInPolygon(%v, %v) = %v, %v; want %v", c.lon, c.lat, got, ok, c.want)
		}
	}
	// The geodesic from (0, 60) to (90, 60) bulges north to about 67.8
	// degrees at longitude 45: (45, 62) is inside the polygon, though north
	// of the 60th parallel.
	north := `{"type":"Polygon","coordinates":[[[0,0],[90,0],[90,60],[0,60],[0,0]]]}`
	if got, _ := PointInPolygon(45, 62, north); !got {
		t.Error("(45, 62) is south of the geodesic edge and inside")
	}
	if got, _ := PointInPolygon(45, 69, north); got {
		t.Error("(45, 69) is north of the geodesic edge and outside")
	}
	// Across the antimeridian.
	dateline := `{"type":"Polygon","coordinates":[[[170,-10],[-170,-10],[-170,10],[170,10],[170,-10]]]}`
	if got, _ := PointInPolygon(179, 0, dateline); !got {
		t.Error("(179, 0) lies in the polygon that straddles the antimeridian")
	}
	multi := `{"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,1],[0,0]]],[[[20,20],[30,20],[30,30],[20,20]]]]}`
	if got, _ := PointInPolygon(29, 21, multi); !got {
		t.Error("point in the second polygon of a MultiPolygon")
	}
	if _, ok := PointInPolygon(1, 1, `{"type":"Point","coordinates":[1,1]}`); ok {
		t.Error("a Point is not a polygon")
	}
}

func TestDistanceToLine(t *testing.T) {
	// ADX's documented example: North Las Vegas airport to a nearby road.
	road := `{"type":"LineString","coordinates":[[-115.115385,36.229195],[-115.136995,36.200366],[-115.140252,36.192470],[-115.143558,36.188523],[-115.144076,36.181954],[-115.154662,36.174483],[-115.166431,36.176388],[-115.183289,36.175007],[-115.192612,36.176736],[-115.202485,36.173439],[-115.225355,36.174365]]}`
	if d, ok := DistanceToLine(-115.199625, 36.210419, road); !ok || !near(d, 3797.88887253334, 1e-3) {
		t.Errorf("airport to road = %.8f, %v; want 3797.88887253334", d, ok)
	}
	line := `{"type":"LineString","coordinates":[[0,0],[10,0]]}`
	// One degree north of the equator segment: one degree of arc.
	d, ok := DistanceToLine(5, 1, line)
	if !ok || !near(d, EarthRadius*math.Pi/180, 1e-6) {
		t.Fatalf("DistanceToLine = %v, %v", d, ok)
	}
	// Beyond the end the nearest point is the end point.
	d, _ = DistanceToLine(11, 0, line)
	want, _ := Distance(11, 0, 10, 0)
	if !near(d, want, 1e-6) {
		t.Fatalf("past the end: %v, want %v", d, want)
	}
	if _, ok := DistanceToLine(0, 0, `{"type":"LineString","coordinates":[[0,0]]}`); ok {
		t.Error("a one-point line must be invalid")
	}
}

func TestS2TokenCenter(t *testing.T) {
	for _, c := range []struct{ lon, lat float64 }{{-80.195829, 25.802215}, {139.806115, 35.554128}, {-122.4, 47.6}, {10, -60}, {179.9, 0.1}, {0, 89.9}} {
		for _, level := range []int{0, 5, 11, 30} {
			tok, _ := S2Token(c.lon, c.lat, level)
			lon, lat, ok := S2TokenCenter(tok)
			if !ok {
				t.Fatalf("S2TokenCenter(%q) failed", tok)
			}
			// the center's own cell at that level is the same cell
			if again, _ := S2Token(lon, lat, level); again != tok {
				t.Errorf("center of %q (%v, %v) lies in %q", tok, lon, lat, again)
			}
			if level == 30 {
				if d, _ := Distance(lon, lat, c.lon, c.lat); d > 0.01 {
					t.Errorf("level-30 center %v m from the point", d)
				}
			}
		}
	}
	for _, bad := range []string{"", "0", "zz", "88d9b0000000000000", "c", "2"} {
		if _, _, ok := S2TokenCenter(bad); ok {
			t.Errorf("S2TokenCenter(%q) must fail", bad)
		}
	}
}

func TestDistanceToPolygon(t *testing.T) {
	square := `{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1],[0,0]]]}`
	if d, ok := DistanceToPolygon(0.5, 0.5, square); !ok || d != 0 {
		t.Fatalf("inside: %v, %v", d, ok)
	}
	d, _ := DistanceToPolygon(0.5, 2, square)
	want, _ := Distance(0.5, 2, 0.5, 1)
	// the top edge is a great-circle arc, which bulges a few meters north
	// of the parallel its end points lie on
	if !near(d, want, 10) || d > want {
		t.Fatalf("outside: %v, want a little under %v", d, want)
	}
}
