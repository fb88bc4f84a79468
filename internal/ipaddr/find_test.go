package ipaddr

import "testing"

// Cases from Kusto's has_ipv4, has_ipv4_prefix and has_any_ipv4(_prefix)
// documentation.
func TestContainsAny(t *testing.T) {
	const log = "05:04:54 127.0.0.1 GET /favicon.ico 404"
	for _, c := range []struct {
		text    string
		needles []string
		prefix  bool
		want    bool
	}{
		{log, []string{"127.0.0.1"}, false, true},
		{"05:04:54 127.0.0.256 GET /favicon.ico 404", []string{"127.0.0.256"}, false, false},
		{"05:04:54127.0.0.1 GET /favicon.ico 404", []string{"127.0.0.1"}, false, false},
		{log, []string{"127.0."}, true, true},
		{log, []string{"127.0"}, true, false},
		{"05:04:54 127.0.0.256 GET /favicon.ico 404", []string{"127.0."}, true, false},
		{"05:04:54127.0.0.1 GET /favicon.ico 404", []string{"127.0.", "192."}, true, false},
		{log, []string{"10.0.0.1", "127.0.0.1"}, false, true},
		{"These requests came from: 192.168.1.1, 10.1.1.115 and 10.1.1.201.", []string{"10.1.1.201"}, false, true},
		{"version 1.2.3.4.5", []string{"1.2.3.4"}, false, false},
		{"a127.0.0.1", []string{"127.0.0.1"}, false, false},
		{log, []string{"127.0.0.1"}, true, true},
		{log, []string{"127.0."}, false, false},
		{log, nil, false, false},
		{"x 010.001.0.1 y", []string{"10.1.0.1"}, false, true},
	} {
		if got := ContainsAny(c.text, c.needles, c.prefix); got != c.want {
			t.Errorf("ContainsAny(%q, %q, prefix=%v) = %v, want %v", c.text, c.needles, c.prefix, got, c.want)
		}
	}
}
