// Package seriesmath is the numerical core of Kusto's series analysis
// functions that are too involved for SQL: seasonal decomposition, anomaly
// scores, forecasts, period detection and two-segment line fits. It works on
// []float64 where NaN marks a missing value (a null or non-numeric element of
// the dynamic array) and knows nothing of SQL or JSON.
//
// Microsoft documents these functions' inputs and outputs but not every
// formula; where a choice had to be made it is stated on the function.
package seriesmath

import (
	"math"
	"sort"
)

// Missing reports whether v stands for a missing element.
func Missing(v float64) bool { return math.IsNaN(v) }

// Line is a least-squares line y = Slope·x + Interception over the positions
// x = 1..n of a series (the convention series_fit_line uses), with its fit
// statistics. Variance and RVariance are population variances (divided by n)
// of the values and of the residuals.
type Line struct {
	RSquare, Slope, Interception, Variance, RVariance float64
	Fit                                               []float64
}

// FitLine fits a line to y[from:to], positions counted from from+1; missing
// values count as 0, as series_fit_line does.
func FitLine(y []float64, from, to int) Line {
	n := float64(to - from)
	var sx, sy, sxx, sxy float64
	for i := from; i < to; i++ {
		x, v := float64(i+1), zeroIfMissing(y[i])
		sx += x
		sy += v
		sxx += x * x
		sxy += x * v
	}
	var l Line
	if d := n*sxx - sx*sx; d != 0 {
		l.Slope = (n*sxy - sx*sy) / d
	}
	l.Interception = (sy - l.Slope*sx) / n
	mean := sy / n
	var sst, ssr float64
	l.Fit = make([]float64, to-from)
	for i := from; i < to; i++ {
		f := l.Interception + l.Slope*float64(i+1)
		l.Fit[i-from] = f
		v := zeroIfMissing(y[i])
		sst += (v - mean) * (v - mean)
		ssr += (v - f) * (v - f)
	}
	l.Variance, l.RVariance = sst/n, ssr/n
	switch {
	case sst > 0:
		l.RSquare = 1 - ssr/sst
	case ssr == 0:
		l.RSquare = 1 // a constant segment is fitted exactly
	}
	return l
}

// TwoLines is the best two-segment fit of a series (series_fit_2lines).
type TwoLines struct {
	RSquare     float64
	SplitIdx    int // zero-based index of the first point of the right segment
	Variance    float64
	RVariance   float64
	Fit         []float64
	Left, Right Line
}

// FitTwoLines tries every split that leaves at least two points on each side
// and keeps the one with the largest total R² (1 - (SSR_left + SSR_right) /
// SST). Series shorter than four points get one line on the left and an
// empty right side (split at the end).
func FitTwoLines(y []float64) TwoLines {
	n := len(y)
	whole := FitLine(y, 0, n)
	best := TwoLines{RSquare: math.Inf(-1)}
	sst := whole.Variance * float64(n)
	for s := 2; s <= n-2; s++ {
		l, r := FitLine(y, 0, s), FitLine(y, s, n)
		ssr := l.RVariance*float64(s) + r.RVariance*float64(n-s)
		rs := 1.0
		if sst > 0 {
			rs = 1 - ssr/sst
		} else if ssr > 0 {
			rs = 0
		}
		if rs > best.RSquare {
			best = TwoLines{RSquare: rs, SplitIdx: s, RVariance: ssr / float64(n), Left: l, Right: r}
		}
	}
	if math.IsInf(best.RSquare, -1) {
		best = TwoLines{RSquare: whole.RSquare, SplitIdx: n, RVariance: whole.RVariance, Left: whole, Right: Line{}}
	}
	best.Variance = whole.Variance
	best.Fit = append(append([]float64{}, best.Left.Fit...), best.Right.Fit...)
	return best
}

// sortedPercentile is the p-th percentile (0..100) of the sorted values s, by
// linear interpolation between the closest ranks.
func sortedPercentile(s []float64, p float64) float64 {
	pos := p / 100 * float64(len(s)-1)
	lo := int(math.Floor(pos))
	hi := int(math.Ceil(pos))
	return s[lo] + (s[hi]-s[lo])*(pos-float64(lo))
}

// Outliers scores each element with Tukey's fences (series_outliers): with
// the low and high percentiles Q1, Q3 (25/75 for "tukey", lowPct/highPct for
// "ctukey") and IQR = Q3 - Q1, a value above Q3 scores (x - Q3) / IQR, one
// below Q1 scores (x - Q1) / IQR (negative) and one between them scores 0.
// So |score| > 1.5 is exactly outside Tukey's k=1.5 fences. Missing values
// and values equal to ignore (when ignore is not NaN) score 0. When the IQR
// is 0 the mean absolute deviation from the median takes its place (and
// when that is 0 too, every value equals the rest and scores 0).
func Outliers(x []float64, kind string, ignore, lowPct, highPct float64) []float64 {
	if kind == "tukey" {
		lowPct, highPct = 25, 75
	}
	vals := make([]float64, 0, len(x))
	for _, v := range x {
		if !Missing(v) && v != ignore {
			vals = append(vals, v)
		}
	}
	out := make([]float64, len(x))
	if len(vals) == 0 {
		return out
	}
	sort.Float64s(vals)
	q1, q3 := sortedPercentile(vals, lowPct), sortedPercentile(vals, highPct)
	iqr := q3 - q1
	if iqr <= 0 {
		// most values are equal: measure the others against their mean
		// absolute deviation from the median instead, so that a spike on a
		// flat (or perfectly explained) series still stands out
		med := sortedPercentile(vals, 50)
		for _, v := range vals {
			iqr += math.Abs(v - med)
		}
		iqr /= float64(len(vals))
		if iqr == 0 {
			return out
		}
	}
	for i, v := range x {
		switch {
		case Missing(v) || v == ignore:
		case v > q3:
			out[i] = (v - q3) / iqr
		case v < q1:
			out[i] = (v - q1) / iqr
		}
	}
	return out
}

// Trend components of a decomposition.
const (
	TrendAvg     = "avg"
	TrendLinefit = "linefit"
	TrendNone    = "none"
)

// Decomposition is series_decompose's output, each as long as the input.
type Decomposition struct {
	Baseline, Seasonal, Trend, Residual []float64
}

// Decompose splits x into seasonal, trend and residual parts, learning from
// all but the last testPoints elements (which are then forecast):
//
//   - seasonal: with period p (season > 0, or the best period
//     PeriodsDetect finds between 4 and n/2 when season < 0 and its score
//     reaches threshold), the median per phase (i mod p) of the learning
//     points less the trend, centred when there is a trend to take the
//     level; otherwise 0;
//   - trend, fitted to x - seasonal over the learning points: their mean
//     ("avg"), their least-squares line extended over the whole series
//     ("linefit"), or 0 ("none");
//   - baseline = seasonal + trend, residual = x - baseline.
//
// Missing values take no part in learning and have a missing residual.
func Decompose(x []float64, season int, trend string, testPoints int, threshold float64) Decomposition {
	n := len(x)
	learn := min(max(n-max(testPoints, 0), 0), n)
	d := Decomposition{Baseline: make([]float64, n), Seasonal: make([]float64, n), Trend: make([]float64, n), Residual: make([]float64, n)}
	if season < 0 {
		season = 0
		if p, s := PeriodsDetect(x[:learn], 4, float64(learn)/2, 1); len(p) > 0 && p[0] > 0 && s[0] >= threshold {
			season = int(p[0])
		}
	}
	if season > learn {
		season = 0 // a period longer than the learning points cannot be learnt
	}
	// The seasonal medians and the trend are fitted alternately (as STL's
	// inner loop does): medians of a series that still holds its trend mix
	// the trend into the phases, a trend fitted to a series that still holds
	// its seasons tilts with them. A few rounds settle both.
	for round := 0; round < 10; round++ {
		prev := append([]float64(nil), d.Trend...)
		if season > 0 {
			d.Seasonal = seasonalMedians(x[:learn], d.Trend, season, n, trend != TrendNone)
		}
		deseason := make([]float64, learn)
		for i := range deseason {
			deseason[i] = x[i] - d.Seasonal[i]
		}
		d.Trend = fitTrend(deseason, trend, n)
		if season == 0 || trend == TrendNone || maxDiff(prev, d.Trend) < 1e-12 {
			break
		}
	}
	for i := range x {
		d.Baseline[i] = d.Seasonal[i] + d.Trend[i]
		d.Residual[i] = x[i] - d.Baseline[i]
	}
	return d
}

// seasonalMedians is the median of x - trend per phase of the period over
// the learning points, repeated over n points; centred (zero mean over a
// period) when a trend component takes the level.
func seasonalMedians(x, trend []float64, period, n int, centre bool) []float64 {
	med := make([]float64, period)
	for ph := 0; ph < period; ph++ {
		var g []float64
		for i := ph; i < len(x); i += period {
			if !Missing(x[i]) {
				g = append(g, x[i]-trend[i])
			}
		}
		if len(g) > 0 {
			sort.Float64s(g)
			med[ph] = sortedPercentile(g, 50)
		}
	}
	if centre {
		var m float64
		for _, v := range med {
			m += v
		}
		m /= float64(period)
		for i := range med {
			med[i] -= m
		}
	}
	out := make([]float64, n)
	for i := range out {
		out[i] = med[i%period]
	}
	return out
}

// fitTrend is the trend component over n points learnt from y.
func fitTrend(y []float64, trend string, n int) []float64 {
	out := make([]float64, n)
	switch trend {
	case TrendAvg:
		var s float64
		var c int
		for _, v := range y {
			if !Missing(v) {
				s += v
				c++
			}
		}
		if c > 0 {
			for i := range out {
				out[i] = s / float64(c)
			}
		}
	case TrendLinefit:
		slope, icpt := fitPresent(y)
		for i := range out {
			out[i] = icpt + slope*float64(i+1)
		}
	}
	return out
}

func maxDiff(a, b []float64) float64 {
	var m float64
	for i := range a {
		m = math.Max(m, math.Abs(a[i]-b[i]))
	}
	return m
}

// fitPresent is the least-squares line through the present points of y at
// positions 1..n.
func fitPresent(y []float64) (slope, icpt float64) {
	var n, sx, sy, sxx, sxy float64
	for i, v := range y {
		if Missing(v) {
			continue
		}
		x := float64(i + 1)
		n++
		sx += x
		sy += v
		sxx += x * x
		sxy += x * v
	}
	if n == 0 {
		return 0, 0
	}
	if d := n*sxx - sx*sx; d != 0 {
		slope = (n*sxy - sx*sy) / d
	}
	return slope, (sy - slope*sx) / n
}

// Anomalies is series_decompose_anomalies' output.
type Anomalies struct {
	Flag, Score, Baseline []float64
}

// DecomposeAnomalies decomposes x (see Decompose), scores the residuals with
// Outliers (method "ctukey" with 10/90 percentiles, or "tukey") and flags
// scores above threshold +1 and below -threshold -1.
func DecomposeAnomalies(x []float64, threshold float64, season int, trend string, testPoints int, method string, seasonThreshold float64) Anomalies {
	d := Decompose(x, season, trend, testPoints, seasonThreshold)
	score := Outliers(d.Residual, method, math.NaN(), 10, 90)
	flag := make([]float64, len(x))
	for i, s := range score {
		switch {
		case s > threshold:
			flag[i] = 1
		case s < -threshold:
			flag[i] = -1
		}
	}
	return Anomalies{Flag: flag, Score: score, Baseline: d.Baseline}
}

// DecomposeForecast is series_decompose_forecast: the baseline of a
// decomposition that learns from all but the last points elements, so that
// those are forecast from the seasonal and trend components.
func DecomposeForecast(x []float64, points, season int, trend string, threshold float64) []float64 {
	return Decompose(x, season, trend, points, threshold).Baseline
}

// minPeriod is the shortest period the detection can tell apart.
const minPeriod = 4

// periodScore is how strongly a series repeats with the given period,
// between 0 and 1: the autocorrelation ac of the linearly detrended series
// at that lag (interpolated between whole lags). Autocorrelations within Bartlett's 95%
// band for white noise (1.96/√n) score 0, as do periods below 4 or above
// n/2, which the documentation says cannot be validated.
//
// Microsoft does not publish its scoring formula: on the documentation's
// example the weekly period scores 0.75 here where ADX shows 0.84, while
// the five-day period scores 0 in both.
func periodScore(ac autocorr, period float64) float64 {
	n := len(ac.x)
	if !(period >= minPeriod && period <= float64(n)/2) { // NaN fails too
		return 0
	}
	lo := int(math.Floor(period))
	r := ac.at(lo)
	if f := period - float64(lo); f > 0 {
		r = r*(1-f) + ac.at(lo+1)*f
	}
	if r < 1.96/math.Sqrt(float64(n)) {
		return 0
	}
	return math.Min(r, 1)
}

// PeriodsValidate scores each period (series_periods_validate).
func PeriodsValidate(x []float64, periods []float64) []float64 {
	ac := newAutocorr(detrend(x))
	out := make([]float64, len(periods))
	for i, p := range periods {
		out[i] = periodScore(ac, p)
	}
	return out
}

// PeriodsDetect finds up to num periods between minP and maxP (clamped to
// [4, n/2]) ordered by score (series_periods_detect); the arrays are padded
// with zeros to num. Candidates come from the peaks of the periodogram of
// the detrended series; each is refined to the whole lag with the highest
// autocorrelation within its frequency bin and scored by periodScore.
// Periods within 10% (at least one lag) of a multiple of a better-scored
// period are dropped as its harmonics.
func PeriodsDetect(x []float64, minP, maxP float64, num int) (periods, scores []float64) {
	if num < 0 {
		num = 0
	}
	periods, scores = make([]float64, num), make([]float64, num)
	n := len(x)
	d := detrend(x)
	lo, hi := math.Max(minP, minPeriod), math.Min(maxP, float64(n)/2)
	if num == 0 || n < 2*minPeriod || !(lo <= hi) { // NaN bounds fail too
		return periods, scores
	}
	power := periodogram(d)
	ac := newAutocorr(d)
	type cand struct{ p, s float64 }
	var cands []cand
	seen := map[int]bool{}
	for k := 1; k < len(power); k++ {
		left, right := power[k-1], 0.0
		if k+1 < len(power) {
			right = power[k+1]
		}
		if power[k] <= left || power[k] < right {
			continue
		}
		// the lags this frequency bin covers: n/(k+1) .. n/(k-1)
		from := int(math.Ceil(math.Max(float64(n)/float64(k+1), lo)))
		to := int(math.Floor(math.Min(float64(n)/math.Max(float64(k-1), 0.5), hi)))
		bestLag, bestR := 0, math.Inf(-1)
		for lag := from; lag <= to; lag++ {
			if r := ac.at(lag); r > bestR {
				bestLag, bestR = lag, r
			}
		}
		if bestLag == 0 || seen[bestLag] {
			continue
		}
		seen[bestLag] = true
		if s := periodScore(ac, float64(bestLag)); s > 0 {
			cands = append(cands, cand{float64(bestLag), s})
		}
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].s > cands[j].s })
	var kept []cand
	for _, c := range cands {
		harmonic := false
		for _, k := range kept {
			m := math.Round(c.p / k.p)
			if m >= 2 && math.Abs(c.p-m*k.p) <= math.Max(1, 0.1*m*k.p) {
				harmonic = true
				break
			}
		}
		if !harmonic {
			kept = append(kept, c)
		}
		if len(kept) == num {
			break
		}
	}
	for i, c := range kept {
		periods[i], scores[i] = c.p, c.s
	}
	return periods, scores
}

// detrend removes the least-squares line from x; missing values become 0
// (the mean of the detrended series).
func detrend(x []float64) []float64 {
	slope, icpt := fitPresent(x)
	d := make([]float64, len(x))
	for i, v := range x {
		if !Missing(v) {
			d[i] = v - (icpt + slope*float64(i+1))
		}
	}
	return d
}

// autocorr is a series with its mean and sum of squared deviations, which
// the autocorrelations at all lags share: computed once, not once per lag.
type autocorr struct {
	x         []float64
	mean, den float64
}

func newAutocorr(x []float64) autocorr {
	var m float64
	for _, v := range x {
		m += v
	}
	m /= float64(len(x))
	var den float64
	for _, v := range x {
		den += (v - m) * (v - m)
	}
	return autocorr{x: x, mean: m, den: den}
}

// at is the sample autocorrelation of the series at lag k.
func (a autocorr) at(k int) float64 {
	n := len(a.x)
	if k >= n || k < 0 {
		return 0
	}
	var num float64
	for i := 0; i+k < n; i++ {
		num += (a.x[i] - a.mean) * (a.x[i+k] - a.mean)
	}
	if a.den == 0 {
		return 0
	}
	return num / a.den
}

// periodogram is |DFT(x)[k]|² for k = 0..n/2 (a direct transform: make-series
// output is at most a few thousand points).
func periodogram(x []float64) []float64 {
	n := len(x)
	out := make([]float64, n/2+1)
	for k := range out {
		var re, im float64
		for t, v := range x {
			a := 2 * math.Pi * float64(k*t) / float64(n)
			re += v * math.Cos(a)
			im -= v * math.Sin(a)
		}
		out[k] = re*re + im*im
	}
	return out
}

func zeroIfMissing(v float64) float64 {
	if Missing(v) {
		return 0
	}
	return v
}
