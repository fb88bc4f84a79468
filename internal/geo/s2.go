package geo

import (
	"fmt"
	"math"
	"math/bits"
	"strings"
)

// S2 cells (the S2 geometry library's cell ids): a point on the unit sphere
// is projected onto one of the six faces of a cube, the face coordinates are
// warped by the quadratic projection, and the resulting 30-bit i/j grid
// position is turned into a position along a Hilbert curve, two bits a level.

const (
	s2MaxLevel   = 30 // the finest level; Kusto accepts levels 0 to 30
	s2LookupBits = 4
	s2SwapMask   = 1
	s2InvertMask = 2
)

// s2LookupPos maps (4-bit i, 4-bit j, orientation) to (8-bit Hilbert
// position, orientation after those four levels).
var s2LookupPos [1 << (2*s2LookupBits + 2)]int

// s2LookupIJ is the inverse of s2LookupPos.
var s2LookupIJ [1 << (2*s2LookupBits + 2)]int

func init() {
	for o := 0; o < 4; o++ {
		s2InitLookup(0, 0, 0, o, 0, o)
	}
}

// Hilbert curve sub-cell order: for each orientation, the (i,j) of the
// sub-cells in curve order, i in the high bit.
var s2PosToIJ = [4][4]int{{0, 1, 3, 2}, {0, 2, 3, 1}, {3, 2, 0, 1}, {3, 1, 0, 2}}

// s2PosToOrientation is how a sub-cell's orientation differs from its parent's.
var s2PosToOrientation = [4]int{s2SwapMask, 0, 0, s2InvertMask | s2SwapMask}

func s2InitLookup(level, i, j, origOrientation, pos, orientation int) {
	if level == s2LookupBits {
		ij := i<<s2LookupBits + j
		s2LookupPos[ij<<2+origOrientation] = pos<<2 + orientation
		s2LookupIJ[pos<<2+origOrientation] = ij<<2 + orientation
		return
	}
	level++
	i, j, pos = i<<1, j<<1, pos<<2
	for k, sub := range s2PosToIJ[orientation] {
		s2InitLookup(level, i+sub>>1, j+sub&1, origOrientation, pos+k, orientation^s2PosToOrientation[k])
	}
}

// s2FaceUV projects a unit vector onto the cube face it points at.
func s2FaceUV(p vec) (face int, u, v float64) {
	ax, ay, az := math.Abs(p.x), math.Abs(p.y), math.Abs(p.z)
	switch {
	case ax >= ay && ax >= az:
		face = 0
	case ay >= az:
		face = 1
	default:
		face = 2
	}
	if [3]float64{p.x, p.y, p.z}[face] < 0 {
		face += 3
	}
	switch face {
	case 0:
		u, v = p.y/p.x, p.z/p.x
	case 1:
		u, v = -p.x/p.y, p.z/p.y
	case 2:
		u, v = -p.x/p.z, -p.y/p.z
	case 3:
		u, v = p.z/p.x, p.y/p.x
	case 4:
		u, v = p.z/p.y, -p.x/p.y
	default:
		u, v = -p.y/p.z, -p.x/p.z
	}
	return face, u, v
}

// s2UVToST is the quadratic projection that evens out cell areas.
func s2UVToST(u float64) float64 {
	if u >= 0 {
		return 0.5 * math.Sqrt(1+3*u)
	}
	return 1 - 0.5*math.Sqrt(1-3*u)
}

func s2STToIJ(s float64) int {
	const n = 1 << s2MaxLevel
	return max(0, min(n-1, int(math.Floor(n*s))))
}

// S2CellID is the id of the level-30 cell holding the point.
func S2CellID(lon, lat float64) uint64 {
	face, u, v := s2FaceUV(toVec(lon, lat))
	i, j := s2STToIJ(s2UVToST(u)), s2STToIJ(s2UVToST(v))
	n := uint64(face) << 60
	bits := face & s2SwapMask
	const mask = 1<<s2LookupBits - 1
	for k := 7; k >= 0; k-- {
		bits += (i >> (k * s2LookupBits) & mask) << (s2LookupBits + 2)
		bits += (j >> (k * s2LookupBits) & mask) << 2
		bits = s2LookupPos[bits]
		n |= uint64(bits>>2) << (k * 2 * s2LookupBits)
		bits &= s2SwapMask | s2InvertMask
	}
	return n<<1 | 1
}

// S2Token is the token (hex id without trailing zeros) of the cell of the
// given level (0 to 30) holding the point; false when out of range.
func S2Token(lon, lat float64, level int) (string, bool) {
	if !ValidPoint(lon, lat) || level < 0 || level > s2MaxLevel {
		return "", false
	}
	id := S2CellID(lon, lat)
	lsb := uint64(1) << (2 * (s2MaxLevel - level))
	id = id&-lsb | lsb
	return strings.TrimRight(fmt.Sprintf("%016x", id), "0"), true
}

// s2STToUV inverts s2UVToST.
func s2STToUV(s float64) float64 {
	if s >= 0.5 {
		return (4*s*s - 1) / 3
	}
	return (1 - 4*(1-s)*(1-s)) / 3
}

// s2FaceUVToVec is the point of a cube face at (u, v), not normalised.
func s2FaceUVToVec(face int, u, v float64) vec {
	switch face {
	case 0:
		return vec{1, u, v}
	case 1:
		return vec{-u, 1, v}
	case 2:
		return vec{-u, -v, 1}
	case 3:
		return vec{-1, -v, -u}
	case 4:
		return vec{v, -1, -u}
	}
	return vec{v, u, -1}
}

// S2TokenCenter is the center of the cell a token names; false for a token
// that is not a valid cell id.
func S2TokenCenter(token string) (lon, lat float64, ok bool) {
	if token == "" || len(token) > 16 {
		return 0, 0, false
	}
	var id uint64
	if _, err := fmt.Sscanf(token+strings.Repeat("0", 16-len(token)), "%x", &id); err != nil {
		return 0, 0, false
	}
	face := int(id >> 61)
	// the marker bit sits at an even position 0..60 for levels 30..0
	tz := bits.TrailingZeros64(id)
	if id == 0 || face > 5 || tz%2 != 0 {
		return 0, 0, false
	}
	level := s2MaxLevel - tz/2
	i, j := 0, 0
	b := face & s2SwapMask
	for k := 7; k >= 0; k-- {
		n := s2LookupBits
		if k == 7 {
			n = s2MaxLevel - 7*s2LookupBits
		}
		b += int(id>>(k*2*s2LookupBits+1)&(1<<(2*n)-1)) << 2
		b = s2LookupIJ[b]
		i += b >> (s2LookupBits + 2) << (k * s2LookupBits)
		j += b >> 2 & (1<<s2LookupBits - 1) << (k * s2LookupBits)
		b &= s2SwapMask | s2InvertMask
	}
	size := 1 << (s2MaxLevel - level)
	center := func(x int) float64 { return (float64(x&^(size-1)) + float64(size)/2) / (1 << s2MaxLevel) }
	p := s2FaceUVToVec(face, s2STToUV(center(i)), s2STToUV(center(j)))
	lat = math.Atan2(p.z, math.Hypot(p.x, p.y)) * 180 / math.Pi
	lon = math.Atan2(p.y, p.x) * 180 / math.Pi
	return lon, lat, true
}
