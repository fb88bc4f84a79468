package compile

import (
	"odx/internal/kql/sem"
	"odx/internal/sqlast"
)

// Series analysis functions computed by Go scalar functions the engine
// registers (internal/engine/series_udf.go, numerical core in
// internal/kql/seriesmath). Series travel as JSON text; omitted or null
// optional arguments take ADX's documented defaults.

// seriesText is argument n as JSON text for the odx_series_* functions.
func seriesText(call *sem.Call, a []sqlast.Expr, n int) sqlast.Expr {
	return cast(dyn(call, a, n), "VARCHAR")
}

// optArg is argument n cast to sqlType, or def when it is omitted or null.
func optArg(a []sqlast.Expr, n int, sqlType string, def sqlast.Expr) sqlast.Expr {
	if n >= len(a) {
		return def
	}
	return fn("COALESCE", cast(a[n], sqlType), def)
}

// trendArg checks a constant trend argument against the documented values.
func trendArg(call *sem.Call, a []sqlast.Expr, n int) (sqlast.Expr, error) {
	if v, ok := constArg(call, n); ok {
		if s, isStr := v.(string); isStr && s != "avg" && s != "linefit" && s != "none" {
			return nil, unsupported("%s: trend must be 'avg', 'linefit' or 'none', not '%s'", call.Fn, s)
		}
	}
	return optArg(a, n, "VARCHAR", str("avg")), nil
}

func methodArg(call *sem.Call, a []sqlast.Expr, n int, what string) (sqlast.Expr, error) {
	if v, ok := constArg(call, n); ok {
		if s, isStr := v.(string); isStr && s != "tukey" && s != "ctukey" {
			return nil, unsupported("%s: %s must be 'tukey' or 'ctukey', not '%s'", call.Fn, what, s)
		}
	}
	return optArg(a, n, "VARCHAR", str("ctukey")), nil
}

func dbl(v float64) sqlast.Expr { return cast(&sqlast.Param{Value: v, Type: "DOUBLE"}, "DOUBLE") }

func asJSON(x sqlast.Expr) sqlast.Expr { return cast(x, "JSON") }

func init() {
	register(map[string]lowerFunc{
		// series_decompose(Series [, Seasonality=-1, Trend='avg', Test_points=0, Seasonality_threshold=0.6])
		"series_decompose": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			trend, err := trendArg(call, a, 2)
			if err != nil {
				return nil, err
			}
			return asJSON(fn("odx_series_decompose", seriesText(call, a, 0), optArg(a, 1, "BIGINT", i64(-1)), trend,
				optArg(a, 3, "BIGINT", i64(0)), optArg(a, 4, "DOUBLE", dbl(0.6)))), nil
		},
		// series_decompose_anomalies(Series [, Threshold=1.5, Seasonality=-1, Trend='avg', Test_points=0,
		// AD_method='ctukey', Seasonality_threshold=0.6])
		"series_decompose_anomalies": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			trend, err := trendArg(call, a, 3)
			if err != nil {
				return nil, err
			}
			method, err := methodArg(call, a, 5, "AD_method")
			if err != nil {
				return nil, err
			}
			return asJSON(fn("odx_series_decompose_anomalies", seriesText(call, a, 0), optArg(a, 1, "DOUBLE", dbl(1.5)),
				optArg(a, 2, "BIGINT", i64(-1)), trend, optArg(a, 4, "BIGINT", i64(0)), method, optArg(a, 6, "DOUBLE", dbl(0.6)))), nil
		},
		// series_decompose_forecast(Series, Points [, Seasonality=-1, Trend='avg', Seasonality_threshold=0.6])
		"series_decompose_forecast": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			trend, err := trendArg(call, a, 3)
			if err != nil {
				return nil, err
			}
			return asJSON(fn("odx_series_decompose_forecast", seriesText(call, a, 0), optArg(a, 1, "BIGINT", i64(0)),
				optArg(a, 2, "BIGINT", i64(-1)), trend, optArg(a, 4, "DOUBLE", dbl(0.6)))), nil
		},
		// series_outliers(series [, kind='ctukey', ignore_val=null, min_percentile=10, max_percentile=90])
		"series_outliers": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			kind, err := methodArg(call, a, 1, "kind")
			if err != nil {
				return nil, err
			}
			for n := 3; n < len(a) && n <= 4; n++ {
				if v, ok := constArg(call, n); ok {
					if p, isNum := number(v); isNum && (p < 2 || p > 98) {
						return nil, unsupported("series_outliers: percentiles must be in [2, 98], found %v", p)
					}
				}
			}
			return asJSON(fn("odx_series_outliers", seriesText(call, a, 0), kind, optArg(a, 2, "DOUBLE", sqlast.Keyword("CAST('NaN' AS DOUBLE)")),
				optArg(a, 3, "DOUBLE", dbl(10)), optArg(a, 4, "DOUBLE", dbl(90)))), nil
		},
		// series_fit_line_dynamic: series_fit_line's values as one bag (its
		// lowering already builds the bag the columns are read from)
		"series_fit_line_dynamic": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return lowerings["series_fit_line"](c, call, a)
		},
		"series_fit_2lines": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return asJSON(fn("odx_series_fit_2lines", seriesText(call, a, 0), sqlast.Keyword("FALSE"))), nil
		},
		"series_fit_2lines_dynamic": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return asJSON(fn("odx_series_fit_2lines", seriesText(call, a, 0), sqlast.Keyword("TRUE"))), nil
		},
		// series_periods_detect(series, min_period, max_period, num_periods)
		"series_periods_detect": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return asJSON(fn("odx_series_periods_detect", seriesText(call, a, 0), cast(a[1], "DOUBLE"), cast(a[2], "DOUBLE"), cast(a[3], "BIGINT"))), nil
		},
		// series_periods_validate(series, period1 [, period2, ...])
		"series_periods_validate": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			var periods []sqlast.Expr
			for n := 1; n < len(a); n++ {
				periods = append(periods, cast(a[n], "DOUBLE"))
			}
			list := &sqlast.Call{Name: "list_value", Args: periods}
			return asJSON(fn("odx_series_periods_validate", seriesText(call, a, 0), cast(fn("to_json", list), "VARCHAR"))), nil
		},
	})
}

// number reads a numeric constant.
func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int32:
		return float64(n), true
	case int64:
		return float64(n), true
	case float64:
		return n, true
	}
	return 0, false
}
