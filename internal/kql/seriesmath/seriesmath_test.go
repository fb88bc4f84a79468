package seriesmath

import (
	"math"
	"testing"
)

// docTraffic is the 12-hour traffic series of Microsoft's
// series_periods_detect and series_periods_validate pages: a weekly
// pattern, 14 points long.
var docTraffic = []float64{80, 139, 87, 110, 68, 54, 50, 51, 53, 133, 86, 141, 97, 156, 94, 149, 95, 140, 77, 61, 50, 54, 47, 133, 72, 152, 94, 148, 105, 162, 101, 160, 87, 63, 53, 55, 54, 151, 103, 189, 108, 183, 113, 175, 113, 178, 90, 71, 62, 62, 65, 165, 109, 181, 115, 182, 121, 178, 114, 170}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestPeriodsDetectDocumentedExample(t *testing.T) {
	// documented output: periods [14, 0], scores [0.84, 0]
	p, s := PeriodsDetect(docTraffic, 0, 50, 2)
	if len(p) != 2 || p[0] != 14 || p[1] != 0 || s[1] != 0 {
		t.Fatalf("periods %v scores %v, want [14 0] and a zero second score", p, s)
	}
	if s[0] < 0.6 || s[0] > 1 {
		t.Errorf("score of the weekly period %v, want a strong one (ADX shows 0.84)", s[0])
	}
	p, _ = PeriodsDetect(docTraffic, 0, 50, 1)
	if len(p) != 1 || p[0] != 14 {
		t.Errorf("num_periods=1: %v, want [14]", p)
	}
}

func TestPeriodsValidateDocumentedExample(t *testing.T) {
	// documented output for periods 14 and 10: [0.84, 0]
	s := PeriodsValidate(docTraffic, []float64{14, 10})
	if s[0] < 0.6 || s[1] != 0 {
		t.Errorf("scores %v, want a high score for 14 and 0 for 10", s)
	}
	// outside [4, n/2] scores 0
	if s := PeriodsValidate(docTraffic, []float64{3, 31}); s[0] != 0 || s[1] != 0 {
		t.Errorf("out-of-range periods scored %v", s)
	}
}

func TestOutliersTukey(t *testing.T) {
	// 1..9 and 100: Q1 = 3.25, Q3 = 7.75 (linear interpolation), IQR = 4.5
	x := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 100}
	got := Outliers(x, "tukey", math.NaN(), 10, 90)
	want := (100 - 7.75) / 4.5
	if !near(got[9], want) {
		t.Errorf("score of 100 = %v, want %v", got[9], want)
	}
	if !near(got[0], (1-3.25)/4.5) || got[4] != 0 {
		t.Errorf("scores %v", got)
	}
	// missing and ignored values score 0 and take no part in the quartiles
	x = []float64{math.NaN(), -1, 1, 2, 3, 4, 5}
	got = Outliers(x, "tukey", -1, 10, 90)
	if got[0] != 0 || got[1] != 0 {
		t.Errorf("missing/ignored scored %v", got[:2])
	}
}

func TestOutliersCustomPercentiles(t *testing.T) {
	x := []float64{0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100}
	// 10th percentile 10, 90th 90, IQR 80: 100 scores 10/80
	got := Outliers(x, "ctukey", math.NaN(), 10, 90)
	if !near(got[10], 10.0/80) || !near(got[0], -10.0/80) || got[5] != 0 {
		t.Errorf("scores %v", got)
	}
}

func TestFitTwoLinesFindsTheBreak(t *testing.T) {
	// y = x up to index 5, then flat at 10: two exact lines
	y := []float64{1, 2, 3, 4, 5, 10, 10, 10, 10, 10}
	f := FitTwoLines(y)
	if f.SplitIdx != 5 || !near(f.RSquare, 1) || !near(f.RVariance, 0) {
		t.Fatalf("split %d rsquare %v rvariance %v", f.SplitIdx, f.RSquare, f.RVariance)
	}
	if !near(f.Left.Slope, 1) || !near(f.Left.Interception, 0) || !near(f.Right.Slope, 0) || !near(f.Right.Interception, 10) {
		t.Errorf("left %+v right %+v", f.Left, f.Right)
	}
	for i, v := range f.Fit {
		if !near(v, y[i]) {
			t.Errorf("line_fit[%d] = %v, want %v", i, v, y[i])
		}
	}
	// variance of the input: mean 6.5, population variance 132.5/10
	if !near(f.Variance, 13.25) {
		t.Errorf("variance %v", f.Variance)
	}
}

func TestDecomposeSeasonalAndLinearTrend(t *testing.T) {
	pattern := []float64{5, -3, 0, 2}
	var x []float64
	for i := 0; i < 24; i++ {
		x = append(x, pattern[i%4]+2*float64(i+1)+7)
	}
	// trend first: with linefit and the period given, baseline = x exactly
	d := Decompose(x, 4, TrendLinefit, 0, 0.6)
	for i := range x {
		if !near(d.Baseline[i], x[i]) || !near(d.Residual[i], 0) {
			t.Fatalf("i=%d baseline %v residual %v, want %v and 0", i, d.Baseline[i], d.Residual[i], x[i])
		}
	}
	// no seasonality, no trend: baseline 0, residual x (documented)
	d = Decompose(x, 0, TrendNone, 0, 0.6)
	if d.Baseline[3] != 0 || d.Residual[3] != x[3] {
		t.Errorf("none/none: baseline %v residual %v", d.Baseline[3], d.Residual[3])
	}
}

func TestDecomposeAutodetectsThePeriod(t *testing.T) {
	pattern := []float64{10, 20, 30, 5, 0, 0, 15}
	var x []float64
	for i := 0; i < 70; i++ {
		x = append(x, pattern[i%7])
	}
	d := Decompose(x, -1, TrendAvg, 0, 0.6)
	for i := range x {
		if !near(d.Residual[i], 0) {
			t.Fatalf("residual[%d] = %v: period 7 not found", i, d.Residual[i])
		}
	}
}

func TestDecomposeForecastExtendsTheComponents(t *testing.T) {
	pattern := []float64{1, 4, 2, 8}
	var x []float64
	for i := 0; i < 40; i++ {
		x = append(x, pattern[i%4]+0.5*float64(i+1))
	}
	truth := append([]float64(nil), x...)
	for i := 32; i < 40; i++ {
		x[i] = 0 // the slots to forecast
	}
	f := DecomposeForecast(x, 8, 4, TrendLinefit, 0.6)
	for i := 32; i < 40; i++ {
		if math.Abs(f[i]-truth[i]) > 1e-9 {
			t.Errorf("forecast[%d] = %v, want %v", i, f[i], truth[i])
		}
	}
}

func TestDecomposeAnomaliesFlagsSpikeAndDip(t *testing.T) {
	pattern := []float64{3, 7, 5, 1}
	var x []float64
	for i := 0; i < 40; i++ {
		// a little deterministic noise keeps the residual spread non-zero
		x = append(x, pattern[i%4]+0.1*float64(i%3))
	}
	x[13] += 20
	x[30] -= 20
	a := DecomposeAnomalies(x, 1.5, 4, TrendAvg, 0, "ctukey", 0.6)
	for i, f := range a.Flag {
		want := 0.0
		switch i {
		case 13:
			want = 1
		case 30:
			want = -1
		}
		if f != want {
			t.Errorf("flag[%d] = %v, want %v (score %v)", i, f, want, a.Score[i])
		}
	}
}

func TestOutliersOnAFlatSeries(t *testing.T) {
	// IQR 0: the spike is measured against the mean absolute deviation
	// from the median, 50/10 = 5, so it scores (50 - 0) / 5 = 10
	x := []float64{0, 0, 0, 0, 50, 0, 0, 0, 0, 0}
	got := Outliers(x, "tukey", math.NaN(), 10, 90)
	if !near(got[4], 10) || got[0] != 0 {
		t.Errorf("scores %v", got)
	}
	if got := Outliers([]float64{3, 3, 3}, "tukey", math.NaN(), 10, 90); got[0] != 0 || got[2] != 0 {
		t.Errorf("constant series scored %v", got)
	}
}

// Odd inputs a query can pass must give an answer, not a panic.
func TestOddInputsDoNotPanic(t *testing.T) {
	nan := math.NaN()
	inputs := [][]float64{nil, {}, {1}, {nan, nan}, {1, 2}, {5, 5, 5, 5, 5}, {1, nan, 3, nan, 5, 6, 7, 8, 9, 10}}
	for _, x := range inputs {
		for _, season := range []int{-1, 0, 1, 3, 100, 1 << 40} {
			for _, trend := range []string{TrendAvg, TrendLinefit, TrendNone, "other"} {
				for _, tp := range []int{0, 2, 50, -3} {
					Decompose(x, season, trend, tp, 0.6)
					DecomposeAnomalies(x, 1.5, season, trend, tp, "tukey", 0.6)
				}
			}
		}
		Outliers(x, "ctukey", nan, 10, 90)
		FitTwoLines(x)
		PeriodsDetect(x, 0, 100, 3)
		PeriodsDetect(x, 10, 2, -1)
		PeriodsDetect(x, nan, nan, 2)
		PeriodsDetect(x, math.Inf(-1), math.Inf(1), 2)
		PeriodsValidate(x, []float64{4, 0, -1, nan, 1e9})
	}
}
