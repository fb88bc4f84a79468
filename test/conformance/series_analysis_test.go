package conformance

import (
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"odx/internal/engine"
	"odx/internal/kql"
)

// queryRows compiles and runs a KQL query and returns its column names and
// decoded rows (dynamic values parsed, numbers as json.Number).
func queryRows(t *testing.T, db *engine.DB, query string) ([]string, [][]any) {
	t.Helper()
	q, err := kql.Compile(query, kql.Options{Now: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatalf("compile %q: %v", query, err)
	}
	rows, err := db.Query(context.Background(), q.SQL, q.Args...)
	if err != nil {
		t.Fatalf("execute %q: %v\n%s", query, err, q.SQL)
	}
	defer rows.Close()
	var names []string
	for _, c := range q.Columns {
		names = append(names, c.Name)
	}
	var out [][]any
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		row := make([]any, len(vals))
		for i, v := range vals {
			row[i] = decode(v, q.Columns[i].Type)
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return names, out
}

func openEngine(t *testing.T) *engine.DB {
	t.Helper()
	db, err := engine.Open("", engine.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// floats reads a dynamic array of numbers (null as NaN).
func floats(t *testing.T, v any) []float64 {
	t.Helper()
	list, ok := v.([]any)
	if !ok {
		t.Fatalf("not an array: %#v", v)
	}
	out := make([]float64, len(list))
	for i, e := range list {
		if e == nil {
			out[i] = math.NaN()
			continue
		}
		f, ok := num(e)
		if !ok {
			t.Fatalf("element %d not a number: %#v", i, e)
		}
		out[i] = f
	}
	return out
}

func number(t *testing.T, v any) float64 {
	t.Helper()
	switch x := v.(type) {
	case float64:
		return x
	case int64:
		return float64(x)
	case json.Number:
		f, _ := x.Float64()
		return f
	}
	t.Fatalf("not a number: %#v", v)
	return 0
}

// docTraffic is the series of Microsoft's series_periods_* pages.
const docTraffic = `dynamic([80, 139, 87, 110, 68, 54, 50, 51, 53, 133, 86, 141, 97, 156, 94, 149, 95, 140, 77, 61, 50, 54, 47, 133, 72, 152, 94, 148, 105, 162, 101, 160, 87, 63, 53, 55, 54, 151, 103, 189, 108, 183, 113, 175, 113, 178, 90, 71, 62, 62, 65, 165, 109, 181, 115, 182, 121, 178, 114, 170])`

func TestSeriesPeriodsDocumentedExamples(t *testing.T) {
	db := openEngine(t)
	names, rows := queryRows(t, db, "print y="+docTraffic+" | project series_periods_detect(y, 0.0, 50.0, 2)")
	if strings.Join(names, ",") != "series_periods_detect_y_periods,series_periods_detect_y_periods_scores" {
		t.Fatalf("columns %v", names)
	}
	p, s := floats(t, rows[0][0]), floats(t, rows[0][1])
	if len(p) != 2 || p[0] != 14 || p[1] != 0 || s[0] < 0.6 || s[1] != 0 {
		t.Errorf("detect: periods %v scores %v, want [14 0] with a high first score (ADX: [0.84 0])", p, s)
	}
	names, rows = queryRows(t, db, "print y="+docTraffic+" | project series_periods_validate(y, 14.0, 10.0)")
	if strings.Join(names, ",") != "series_periods_validate_y_periods,series_periods_validate_y_scores" {
		t.Fatalf("columns %v", names)
	}
	p, s = floats(t, rows[0][0]), floats(t, rows[0][1])
	if len(p) != 2 || p[0] != 14 || p[1] != 10 || s[0] < 0.6 || s[1] != 0 {
		t.Errorf("validate: periods %v scores %v, want [14 10] and [high, 0]", p, s)
	}
	// named columns
	names, _ = queryRows(t, db, "print y="+docTraffic+" | extend (per, sc) = series_periods_detect(y, 4, 30, 1)")
	if strings.Join(names, ",") != "y,per,sc" {
		t.Errorf("named columns %v", names)
	}
}

func TestSeriesOutliersTukeyScores(t *testing.T) {
	db := openEngine(t)
	// quartiles of 1..9,100 by linear interpolation: 3.25 and 7.75 (IQR 4.5)
	_, rows := queryRows(t, db, `print s = series_outliers(dynamic([1,2,3,4,5,6,7,8,9,100]), "tukey")`)
	got := floats(t, rows[0][0])
	if math.Abs(got[9]-(100-7.75)/4.5) > 1e-9 || got[4] != 0 || got[0] >= 0 {
		t.Errorf("scores %v", got)
	}
	// default ctukey 10/90; a null element scores 0
	_, rows = queryRows(t, db, `print s = series_outliers(dynamic([0,10,20,30,40,null,50,60,70,80,90,100]))`)
	got = floats(t, rows[0][0])
	if got[5] != 0 || got[11] <= 0 || got[0] >= 0 || got[6] != 0 {
		t.Errorf("scores %v", got)
	}
	if _, err := kql.Compile(`print s = series_outliers(dynamic([1,2]), "bogus")`, kql.Options{}); err == nil {
		t.Error("an unknown kind compiled")
	}
}

func TestSeriesDecomposeFamily(t *testing.T) {
	db := openEngine(t)
	// period 4 pattern plus a line: decompose with linefit explains it all
	series := "dynamic([14, 8, 13, 17, 22, 16, 21, 25, 30, 24, 29, 33, 38, 32, 37, 41, 46, 40, 45, 49, 54, 48, 53, 57])"
	names, rows := queryRows(t, db, "print y="+series+" | extend series_decompose(y, 4, 'linefit')")
	if strings.Join(names, ",") != "y,series_decompose_y_baseline,series_decompose_y_seasonal,series_decompose_y_trend,series_decompose_y_residual" {
		t.Fatalf("columns %v", names)
	}
	y, base, resid := floats(t, rows[0][0]), floats(t, rows[0][1]), floats(t, rows[0][4])
	for i := range y {
		if math.Abs(base[i]-y[i]) > 1e-6 || math.Abs(resid[i]) > 1e-6 {
			t.Fatalf("i=%d baseline %v residual %v for %v", i, base[i], resid[i], y[i])
		}
	}
	// forecast: blank the last 8 points and predict them from the rest
	blanked := strings.Replace(series, "46, 40, 45, 49, 54, 48, 53, 57", "0, 0, 0, 0, 0, 0, 0, 0", 1)
	_, rows = queryRows(t, db, "print f = series_decompose_forecast("+blanked+", 8, 4, 'linefit')")
	f := floats(t, rows[0][0])
	for i, want := range []float64{46, 40, 45, 49, 54, 48, 53, 57} {
		if math.Abs(f[16+i]-want) > 1e-6 {
			t.Errorf("forecast[%d] = %v, want %v", 16+i, f[16+i], want)
		}
	}
	// anomalies: a spike is flagged +1, the rest 0
	_, rows = queryRows(t, db, "print y=dynamic([3,7,5,1,3.1,7.2,5,1.1,3.2,7,5.1,1.2,3,27.1,5.2,1,3.1,7,5,1.1,3.2,7.1,5,1.2]) | extend (flag, score, baseline) = series_decompose_anomalies(y, 1.5, 4)")
	flags := floats(t, rows[0][1])
	for i, fl := range flags {
		if want := map[bool]float64{true: 1, false: 0}[i == 13]; fl != want {
			t.Errorf("ad_flag[%d] = %v, want %v", i, fl, want)
		}
	}
	if _, err := kql.Compile(`print series_decompose(dynamic([1,2]), -1, 'cubic')`, kql.Options{}); err == nil {
		t.Error("an unknown trend compiled")
	}
}

func TestSeriesFitTwoLines(t *testing.T) {
	db := openEngine(t)
	names, rows := queryRows(t, db, "print y=dynamic([1,2,3,4,5,10,10,10,10,10]) | project series_fit_2lines(y)")
	if len(names) != 15 || names[0] != "series_fit_2lines_y_rsquare" || names[14] != "series_fit_2lines_y_left_rvariance" {
		t.Fatalf("columns %v", names)
	}
	r := rows[0]
	if number(t, r[0]) != 1 || number(t, r[1]) != 5 || math.Abs(number(t, r[6])) > 1e-9 || math.Abs(number(t, r[7])-10) > 1e-9 || math.Abs(number(t, r[11])-1) > 1e-9 {
		t.Errorf("rsquare %v split %v right slope %v right interception %v left slope %v", r[0], r[1], r[6], r[7], r[11])
	}
	_, rows = queryRows(t, db, "print b = series_fit_2lines_dynamic(dynamic([1,2,3,4,5,10,10,10,10,10]))")
	bag := rows[0][0].(map[string]any)
	left, ok := bag["left"].(map[string]any)
	if !ok || number(t, bag["split_idx"]) != 5 || math.Abs(number(t, left["slope"])-1) > 1e-9 {
		t.Errorf("bag %v", bag)
	}
	// series_fit_line_dynamic: one line, as a bag
	_, rows = queryRows(t, db, "print b = series_fit_line_dynamic(dynamic([2, 4, 6, 8]))")
	bag = rows[0][0].(map[string]any)
	if math.Abs(number(t, bag["slope"])-2) > 1e-9 || math.Abs(number(t, bag["interception"])) > 1e-9 || math.Abs(number(t, bag["rsquare"])-1) > 1e-9 {
		t.Errorf("series_fit_line_dynamic bag %v", bag)
	}
	// (rs, si, v) = ... names the first three columns only
	names, _ = queryRows(t, db, "print y=dynamic([1,2,3,4,5,10,10,10,10,10]) | extend (rs, si, v) = series_fit_2lines(y)")
	if strings.Join(names, ",") != "y,rs,si,v" {
		t.Errorf("columns %v", names)
	}
}

func TestSeriesFunctionsOnMakeSeries(t *testing.T) {
	db := openEngine(t)
	// 8 days of 6-hour bins with a daily (4-bin) pattern, one spike
	q := `range i from 0 to 31 step 1
| extend Timestamp = datetime(2024-01-01) + i * 6h, v = iff(i == 21, 60.0, toreal(array_index_of(dynamic([0,1,2,3]), i % 4) * 10))
| make-series s = sum(v) default = 0 on Timestamp from datetime(2024-01-01) to datetime(2024-01-09) step 6h
| extend (flag, score, base) = series_decompose_anomalies(s, 1.5, 4, 'none')
| project flag, p = series_periods_detect(s, 3, 10, 1)`
	_, rows := queryRows(t, db, q)
	flags := floats(t, rows[0][0])
	for i, f := range flags {
		if want := map[bool]float64{true: 1, false: 0}[i == 21]; f != want {
			t.Errorf("flag[%d] = %v, want %v", i, f, want)
		}
	}
	if p := floats(t, rows[0][1]); len(p) != 1 || p[0] != 4 {
		t.Errorf("periods %v, want [4]", p)
	}
}
