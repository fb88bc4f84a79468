package geo

import "strings"

// Geohash (geohash.org): longitude and latitude bits interleaved, longitude
// first, five bits to a base-32 character.

const geohashAlphabet = "0123456789bcdefghjkmnpqrstuvwxyz"

// MaxGeohashAccuracy is the longest geohash Kusto produces.
const MaxGeohashAccuracy = 18

// Geohash encodes a point with accuracy characters (1 to 18); false when the
// point or the accuracy is out of range.
func Geohash(lon, lat float64, accuracy int) (string, bool) {
	if !ValidPoint(lon, lat) || accuracy < 1 || accuracy > MaxGeohashAccuracy {
		return "", false
	}
	lonLo, lonHi, latLo, latHi := -180.0, 180.0, -90.0, 90.0
	var b strings.Builder
	even := true
	for b.Len() < accuracy {
		c := 0
		for range 5 {
			lo, hi, v := &latLo, &latHi, lat
			if even {
				lo, hi, v = &lonLo, &lonHi, lon
			}
			upper := v >= (*lo+*hi)/2
			halve(lo, hi, upper)
			c <<= 1
			if upper {
				c |= 1
			}
			even = !even
		}
		b.WriteByte(geohashAlphabet[c])
	}
	return b.String(), true
}

// GeohashCenter is the center of a geohash's cell; false for an empty or
// malformed geohash (case-insensitive).
func GeohashCenter(hash string) (lon, lat float64, ok bool) {
	if hash == "" || len(hash) > MaxGeohashAccuracy {
		return 0, 0, false
	}
	lonLo, lonHi, latLo, latHi := -180.0, 180.0, -90.0, 90.0
	even := true
	for _, r := range strings.ToLower(hash) {
		c := strings.IndexRune(geohashAlphabet, r)
		if c < 0 {
			return 0, 0, false
		}
		for bit := 4; bit >= 0; bit-- {
			lo, hi := &latLo, &latHi
			if even {
				lo, hi = &lonLo, &lonHi
			}
			halve(lo, hi, c>>bit&1 == 1)
			even = !even
		}
	}
	return (lonLo + lonHi) / 2, (latLo + latHi) / 2, true
}

// halve narrows [lo, hi] to its upper half when upper is set, else to its
// lower half: one bit of a geohash.
func halve(lo, hi *float64, upper bool) {
	if mid := (*lo + *hi) / 2; upper {
		*lo = mid
	} else {
		*hi = mid
	}
}
