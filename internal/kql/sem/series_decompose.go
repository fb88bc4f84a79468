package sem

import "odx/internal/kql/types"

// The series analysis functions that yield several columns, in ADX's order
// and with its column suffixes (series_periods_detect names its second
// column periods_scores, series_periods_validate scores).
func init() {
	dyn := func(names ...string) []output {
		outs := make([]output, len(names))
		for i, n := range names {
			outs[i] = output{suffix: n, T: types.Dynamic}
		}
		return outs
	}
	multiOutputs["series_decompose"] = dyn("baseline", "seasonal", "trend", "residual")
	multiOutputs["series_decompose_anomalies"] = dyn("ad_flag", "ad_score", "baseline")
	multiOutputs["series_periods_detect"] = dyn("periods", "periods_scores")
	multiOutputs["series_periods_validate"] = dyn("periods", "scores")
	r, l := types.Real, types.Long
	multiOutputs["series_fit_2lines"] = []output{{"rsquare", r}, {"split_idx", l}, {"variance", r}, {"rvariance", r},
		{"line_fit", types.Dynamic}, {"right_rsquare", r}, {"right_slope", r}, {"right_interception", r},
		{"right_variance", r}, {"right_rvariance", r}, {"left_rsquare", r}, {"left_slope", r},
		{"left_interception", r}, {"left_variance", r}, {"left_rvariance", r}}
}
