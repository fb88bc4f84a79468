package ipaddr

import "testing"

func mustParse(t *testing.T, s string) Addr {
	t.Helper()
	a, err := Parse(s)
	if err != nil {
		t.Fatalf("Parse(%q): %v", s, err)
	}
	return a
}

// Cases from Kusto's ipv6_compare and ipv6_is_match documentation.
func TestCompare(t *testing.T) {
	for _, c := range []struct {
		a, b  string
		extra int
		want  int
	}{
		{"192.168.1.1", "192.168.1.1", -1, 0},
		{"192.168.1.1/24", "192.168.1.255", -1, 0},
		{"192.168.1.1", "192.168.1.255/24", -1, 0},
		{"192.168.1.1/30", "192.168.1.255/24", -1, 0},
		{"fe80::85d:e82c:9446:7994/120", "fe80::85d:e82c:9446:7998", -1, 0},
		{"192.168.1.1", "::ffff:c0a8:0101", -1, 0},
		{"192.168.1.1/24", "::ffff:c0a8:01ff", -1, 0},
		{"::ffff:7f00:1", "127.0.0.1", -1, 0},
		{"fe80::85d:e82c:9446:7994", "fe80::85d:e82c:9446:7995", -1, -1},
		{"fe80::85d:e82c:9446:7995", "fe80::85d:e82c:9446:7994", -1, 1},
		{"fe80::85d:e82c:9446:7994", "fe80::85d:e82c:9446:7995", 127, 0},
		{"192.168.1.1", "192.168.1.0", 31, 0},
		{"192.168.1.1", "192.168.1.255", 24, 0},
		{"192.168.1.1", "192.168.2.1", 24, -1},
	} {
		if got := Compare(mustParse(t, c.a), mustParse(t, c.b), c.extra); got != c.want {
			t.Errorf("Compare(%s, %s, %d) = %d, want %d", c.a, c.b, c.extra, got, c.want)
		}
	}
}

func TestParseRejects(t *testing.T) {
	for _, s := range []string{"", "1.2.3", "1.2.3.4/33", "fe80::1/129", "fe80::1%eth0", "abc", "1.2.3.4/x"} {
		if _, err := Parse(s); err == nil {
			t.Errorf("Parse(%q) succeeded, want an error", s)
		}
	}
}

func TestCanonical(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"127.0.0.1", -1, "0000:0000:0000:0000:0000:ffff:7f00:0001"},
		{"192.168.255.255/24", -1, "0000:0000:0000:0000:0000:ffff:c0a8:ff00"},
		{"127.0.0.1", 24, "0000:0000:0000:0000:0000:ffff:7f00:0000"},
		{"fe80::85d:e82c:9446:7994", 120, "fe80:0000:0000:0000:085d:e82c:9446:7900"},
		{"FE80::85D:E82C:9446:7994", -1, "fe80:0000:0000:0000:085d:e82c:9446:7994"},
	} {
		if got := Canonical(mustParse(t, c.in), c.n); got != c.want {
			t.Errorf("Canonical(%s, %d) = %s, want %s", c.in, c.n, got, c.want)
		}
	}
}

func TestInRange(t *testing.T) {
	for _, c := range []struct {
		ip, rng string
		want    bool
	}{
		{"a5e:f127:8a9d:146d:e102:b5d3:c755:abcd", "a5e:f127:8a9d:146d:e102:b5d3:c755:0000/112", true},
		{"a5e:f127:8a9d:146d:e102:b5d3:c755:abcd", "a5e:f127:8a9d:146d:e102:b5d3:c755:abce/128", false},
		{"10.1.2.3", "10.0.0.0/8", true},
		{"11.1.2.3", "10.0.0.0/8", false},
	} {
		if got := InRange(mustParse(t, c.ip), mustParse(t, c.rng)); got != c.want {
			t.Errorf("InRange(%s, %s) = %v, want %v", c.ip, c.rng, got, c.want)
		}
	}
}
