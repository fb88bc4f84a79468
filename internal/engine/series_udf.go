package engine

import (
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/duckdb/duckdb-go/v2"

	"odx/internal/kql/seriesmath"
)

// Kusto's series analysis functions, computed in Go by seriesmath. Series
// come in and go out as JSON text (the compiler casts dynamic values to
// VARCHAR and results back to JSON); a missing or non-numeric element is
// NaN inside and null outside. A series that is not a JSON array gives NULL.
//
//	odx_series_decompose(series, season, trend, test_points, season_threshold)
//	    {"baseline", "seasonal", "trend", "residual"}
//	odx_series_decompose_anomalies(series, threshold, season, trend, test_points, ad_method, season_threshold)
//	    {"ad_flag", "ad_score", "baseline"}
//	odx_series_decompose_forecast(series, points, season, trend, season_threshold)   the forecast series
//	odx_series_outliers(series, kind, ignore_val, min_percentile, max_percentile)    the scores
//	odx_series_fit_2lines(series, nested)   flat keys (rsquare, ..., left_rvariance), or with
//	    nested the bag of series_fit_2lines_dynamic (right/left sub-bags)
//	odx_series_periods_detect(series, min_period, max_period, num_periods)  {"periods", "periods_scores"}
//	odx_series_periods_validate(series, periods_json)                       {"periods", "scores"}
func init() {
	vc, bi, db, bo := duckdb.TYPE_VARCHAR, duckdb.TYPE_BIGINT, duckdb.TYPE_DOUBLE, duckdb.TYPE_BOOLEAN
	for name, f := range map[string]seriesFunc{
		"odx_series_decompose": {in: []duckdb.Type{vc, bi, vc, bi, db}, fn: func(x []float64, v []driver.Value) any {
			d := seriesmath.Decompose(x, int(v[1].(int64)), v[2].(string), int(v[3].(int64)), v[4].(float64))
			return jsonObject("baseline", d.Baseline, "seasonal", d.Seasonal, "trend", d.Trend, "residual", d.Residual)
		}},
		"odx_series_decompose_anomalies": {in: []duckdb.Type{vc, db, bi, vc, bi, vc, db}, fn: func(x []float64, v []driver.Value) any {
			a := seriesmath.DecomposeAnomalies(x, v[1].(float64), int(v[2].(int64)), v[3].(string), int(v[4].(int64)), v[5].(string), v[6].(float64))
			return jsonObject("ad_flag", a.Flag, "ad_score", a.Score, "baseline", a.Baseline)
		}},
		"odx_series_decompose_forecast": {in: []duckdb.Type{vc, bi, bi, vc, db}, fn: func(x []float64, v []driver.Value) any {
			return jsonArray(seriesmath.DecomposeForecast(x, int(v[1].(int64)), int(v[2].(int64)), v[3].(string), v[4].(float64)))
		}},
		"odx_series_outliers": {in: []duckdb.Type{vc, vc, db, db, db}, fn: func(x []float64, v []driver.Value) any {
			return jsonArray(seriesmath.Outliers(x, v[1].(string), v[2].(float64), v[3].(float64), v[4].(float64)))
		}},
		"odx_series_fit_2lines": {in: []duckdb.Type{vc, bo}, fn: func(x []float64, v []driver.Value) any {
			f := seriesmath.FitTwoLines(x)
			side := func(prefix string, l seriesmath.Line) []any {
				return []any{prefix + "rsquare", l.RSquare, prefix + "slope", l.Slope, prefix + "interception", l.Interception,
					prefix + "variance", l.Variance, prefix + "rvariance", l.RVariance}
			}
			head := []any{"rsquare", f.RSquare, "split_idx", int64(f.SplitIdx), "variance", f.Variance, "rvariance", f.RVariance, "line_fit", f.Fit}
			if v[1].(bool) {
				return jsonObject(append(head, "right", rawJSON(jsonObject(side("", f.Right)...)), "left", rawJSON(jsonObject(side("", f.Left)...)))...)
			}
			return jsonObject(append(append(head, side("right_", f.Right)...), side("left_", f.Left)...)...)
		}},
		"odx_series_periods_detect": {in: []duckdb.Type{vc, db, db, bi}, fn: func(x []float64, v []driver.Value) any {
			p, s := seriesmath.PeriodsDetect(x, v[1].(float64), v[2].(float64), int(min(v[3].(int64), 1024)))
			return jsonObject("periods", p, "periods_scores", s)
		}},
		"odx_series_periods_validate": {in: []duckdb.Type{vc, vc}, fn: func(x []float64, v []driver.Value) any {
			periods, ok := parseSeries(v[1].(string))
			if !ok {
				return nil
			}
			return jsonObject("periods", periods, "scores", seriesmath.PeriodsValidate(x, periods))
		}},
	} {
		kustoFunctions[name] = f.udf()
	}
}

// seriesFunc takes a series (JSON text) and fixed parameters and returns
// JSON text.
type seriesFunc struct {
	in []duckdb.Type
	fn func(series []float64, args []driver.Value) any
}

// udf is the seriesFunc as a goFunc returning VARCHAR; a series that is not
// a JSON array gives NULL.
func (f seriesFunc) udf() goFunc {
	return goFunc{in: f.in, out: duckdb.TYPE_VARCHAR, fn: func(v []driver.Value) (any, error) {
		s, ok := v[0].(string)
		if !ok {
			return nil, fmt.Errorf("series function: unexpected %T for the series", v[0])
		}
		x, ok := parseSeries(s)
		if !ok {
			return nil, nil
		}
		return f.fn(x, v), nil
	}}
}

// parseSeries reads a JSON array of numbers; other elements become NaN.
func parseSeries(s string) ([]float64, bool) {
	var elems []json.RawMessage
	if err := json.Unmarshal([]byte(s), &elems); err != nil {
		return nil, false
	}
	x := make([]float64, len(elems))
	for i, e := range elems {
		var f float64
		// null unmarshals into a float64 without error, leaving 0
		if string(e) == "null" || json.Unmarshal(e, &f) != nil {
			f = math.NaN()
		}
		x[i] = f
	}
	return x, true
}

// rawJSON is JSON text to embed as it is.
type rawJSON string

// jsonObject writes key/value pairs in order (encoding/json would sort a
// map's keys, and Kusto keeps the documented order).
func jsonObject(kv ...any) string {
	b := []byte{'{'}
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			b = append(b, ',')
		}
		k, _ := json.Marshal(kv[i].(string))
		b = append(append(b, k...), ':')
		b = appendJSON(b, kv[i+1])
	}
	return string(append(b, '}'))
}

func jsonArray(x []float64) string { return string(appendJSON(nil, x)) }

func appendJSON(b []byte, v any) []byte {
	switch v := v.(type) {
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return append(b, "null"...)
		}
		return strconv.AppendFloat(b, v, 'g', -1, 64)
	case int64:
		return strconv.AppendInt(b, v, 10)
	case string:
		s, _ := json.Marshal(v)
		return append(b, s...)
	case []float64:
		b = append(b, '[')
		for i, f := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSON(b, f)
		}
		return append(b, ']')
	case rawJSON:
		return append(b, v...)
	}
	return append(b, "null"...)
}
