package kustoapi

import (
	"compress/flate"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"odx/internal/kerr"
	"odx/internal/kql/types"
)

// Request is one query or management command as a client sent it.
type Request struct {
	Database        string            // "db" of the body ("" or "NetDefaultDB" when none)
	Text            string            // "csl"
	Options         map[string]any    // properties.Options (servertimeout, truncationmaxrecords, ...), kept as sent
	Parameters      map[string]string // properties.Parameters, values for `declare query_parameters`
	ClientRequestID string            // x-ms-client-request-id header, or generated
	Application     string            // x-ms-app
	User            string            // x-ms-user
}

// Client request property names this package acts on.
const (
	OptServerTimeout         = "servertimeout"
	OptNoRequestTimeout      = "norequesttimeout" // run up to Options.MaxTimeout
	OptTruncationMaxRecords  = "truncationmaxrecords"
	OptTruncationMaxSize     = "truncationmaxsize"
	OptNoTruncation          = "notruncation"
	OptFragmentPrimaryTables = "results_v2_fragment_primary_tables"
	OptErrorPlacement        = "results_error_reporting_placement"
)

// maxBodyBytes bounds a request body; Kusto requests are query texts, not data.
const maxBodyBytes = 64 << 20

// requestBody is the JSON body every Kusto client posts.
type requestBody struct {
	DB         string          `json:"db"`
	CSL        string          `json:"csl"`
	Properties json.RawMessage `json:"properties"`
}

// requestProperties is `properties`: client request options and query parameters.
type requestProperties struct {
	Options    map[string]any `json:"Options"`
	Parameters map[string]any `json:"Parameters"`
}

// parseRequest reads a Kusto request from r: a JSON body (possibly gzip or
// deflate encoded), or for GET the `db` and `csl` query-string parameters.
func parseRequest(r *http.Request) (*Request, error) {
	req := &Request{
		ClientRequestID: r.Header.Get("x-ms-client-request-id"),
		Application:     r.Header.Get("x-ms-app"),
		User:            r.Header.Get("x-ms-user"),
		Options:         map[string]any{},
		Parameters:      map[string]string{},
	}
	if req.ClientRequestID == "" {
		req.ClientRequestID = "odx.execute;" + uuid.NewString()
	}

	if r.Method == http.MethodGet {
		q := r.URL.Query()
		req.Database, req.Text = q.Get("db"), q.Get("csl")
		if strings.TrimSpace(req.Text) == "" {
			return req, kerr.BadRequestf("the request has no query text: pass `csl` (and `db`) in the query string or POST a JSON body {\"db\":...,\"csl\":...}")
		}
		return req, nil
	}

	var body io.Reader = http.MaxBytesReader(nil, r.Body, maxBodyBytes)
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip":
		gz, err := gzip.NewReader(body)
		if err != nil {
			return req, kerr.BadRequestf("the request body says Content-Encoding: gzip but is not gzip data: %v", err)
		}
		defer gz.Close()
		body = gz
	case "deflate":
		fl := flate.NewReader(body)
		defer fl.Close()
		body = fl
	default:
		return req, kerr.BadRequestf("unsupported request Content-Encoding %q: send the body uncompressed, gzip or deflate", enc)
	}
	raw, err := io.ReadAll(io.LimitReader(body, maxBodyBytes+1))
	if err != nil {
		return req, kerr.BadRequestf("cannot read the request body: %v", err)
	}
	if len(raw) > maxBodyBytes {
		return req, kerr.New(kerr.TooLarge, kerr.CodeTooLarge, "the request body is over %d bytes", maxBodyBytes)
	}
	var rb requestBody
	if err := json.Unmarshal(raw, &rb); err != nil {
		return req, kerr.BadRequestf("the request body is not valid JSON of the form {\"db\":\"<database>\",\"csl\":\"<query>\",\"properties\":{...}}: %v", err)
	}
	req.Database, req.Text = rb.DB, rb.CSL
	if strings.TrimSpace(req.Text) == "" {
		return req, kerr.BadRequestf("the request body has no query text: set \"csl\" to the query or command to run")
	}
	if err := parseProperties(rb.Properties, req); err != nil {
		return req, err
	}
	return req, nil
}

// parseProperties fills Options and Parameters from `properties`, which is
// either an object or, from older clients, a string holding that object's JSON.
func parseProperties(raw json.RawMessage, req *Request) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return kerr.BadRequestf("\"properties\" is not a valid JSON string: %v", err)
		}
		if strings.TrimSpace(s) == "" {
			return nil
		}
		raw = json.RawMessage(s)
	}
	var p requestProperties
	if err := json.Unmarshal(raw, &p); err != nil {
		return kerr.BadRequestf("\"properties\" must be an object {\"Options\":{...},\"Parameters\":{...}}: %v", err)
	}
	for k, v := range p.Options {
		req.Options[k] = v
	}
	for k, v := range p.Parameters {
		switch x := v.(type) {
		case string:
			req.Parameters[k] = x
		case nil:
		default:
			// Parameters are literal texts; a client that sent a number or
			// bool means its JSON spelling.
			b, _ := json.Marshal(x)
			req.Parameters[k] = string(b)
		}
	}
	return nil
}

// optionBool reads a boolean option that clients send as a JSON bool or a string.
func optionBool(opts map[string]any, name string) (bool, bool) {
	v, ok := lookupOption(opts, name)
	if !ok {
		return false, false
	}
	switch x := v.(type) {
	case bool:
		return x, true
	case string:
		b, err := strconv.ParseBool(strings.TrimSpace(x))
		return b, err == nil
	case float64:
		return x != 0, true
	}
	return false, false
}

// optionInt reads an integer option sent as a JSON number or a string.
func optionInt(opts map[string]any, name string) (int64, bool, error) {
	v, ok := lookupOption(opts, name)
	if !ok || v == nil {
		return 0, false, nil
	}
	switch x := v.(type) {
	case float64:
		return int64(x), true, nil
	case string:
		n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		if err != nil {
			return 0, false, kerr.BadRequestf("client request property %s must be an integer, got %q", name, x)
		}
		return n, true, nil
	}
	return 0, false, kerr.BadRequestf("client request property %s must be an integer, got %v", name, v)
}

// lookupOption finds an option by name, ignoring case as Kusto does.
func lookupOption(opts map[string]any, name string) (any, bool) {
	if v, ok := opts[name]; ok {
		return v, true
	}
	for k, v := range opts {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return nil, false
}

// optionTimeout reads servertimeout, a timespan such as `00:01:59.99` (what
// the Go client sends) or `1.00:00:00`.
func optionTimeout(opts map[string]any) (time.Duration, bool, error) {
	v, ok := lookupOption(opts, OptServerTimeout)
	if !ok || v == nil {
		return 0, false, nil
	}
	s, isString := v.(string)
	if !isString {
		return 0, false, kerr.BadRequestf("client request property servertimeout must be a timespan such as \"00:04:00\", got %v", v)
	}
	d, err := parseTimeSpan(s)
	if err != nil || d <= 0 {
		return 0, false, kerr.BadRequestf("client request property servertimeout must be a positive timespan such as \"00:04:00\", got %q", s)
	}
	return d, true, nil
}

// parseTimeSpan parses `[-][d.]hh:mm[:ss[.fffffff]]`, the forms clients send,
// and also Kusto literals such as `90s`, `5m`, `1h`, `2d`.
func parseTimeSpan(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty timespan")
	}
	if !strings.Contains(s, ":") {
		// Kusto-literal style: a number and a unit.
		units := []struct {
			suffix string
			unit   time.Duration
		}{{"ms", time.Millisecond}, {"d", 24 * time.Hour}, {"h", time.Hour}, {"m", time.Minute}, {"s", time.Second}}
		for _, u := range units {
			if num, ok := strings.CutSuffix(s, u.suffix); ok {
				f, err := strconv.ParseFloat(num, 64)
				if err != nil {
					return 0, err
				}
				return time.Duration(f * float64(u.unit)), nil
			}
		}
		return 0, fmt.Errorf("timespan %q has no unit", s)
	}
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var days int64
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, fmt.Errorf("timespan %q is not [d.]hh:mm:ss", s)
	}
	if d, h, ok := strings.Cut(parts[0], "."); ok {
		n, err := strconv.ParseInt(d, 10, 64)
		if err != nil {
			return 0, err
		}
		days, parts[0] = n, h
	}
	hours, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil {
		return 0, err
	}
	minutes, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return 0, err
	}
	var seconds float64
	if len(parts) == 3 {
		if seconds, err = strconv.ParseFloat(parts[2], 64); err != nil {
			return 0, err
		}
	}
	ticks := days*types.TicksPerDay + hours*types.TicksPerHour + minutes*types.TicksPerMinute +
		int64(seconds*float64(types.TicksPerSecond)+0.5)
	d := time.Duration(ticks) * 100
	if neg {
		d = -d
	}
	return d, nil
}
