// Package ipaddr parses IPv4 and IPv6 addresses with an optional IP-prefix
// ("/n") the way KQL's ipv6_* functions read them: every address is a
// 128-bit IPv6 address, an IPv4 address being its IPv4-mapped form
// (::ffff:a.b.c.d) whose prefix counts IPv4 bits.
package ipaddr

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Addr is a parsed address with the number of leading bits that count.
type Addr struct {
	Bits [16]byte
	// Prefix is the number of significant leading bits of the 128, after any
	// "/n" of the text (an IPv4 "/24" is 96+24).
	Prefix int
	// IPv4 tells that the text was an IPv4 address, so that prefixes given
	// alongside it count IPv4 bits.
	IPv4 bool
}

// Parse reads "address" or "address/prefix". IPv4 prefixes are 0 to 32,
// IPv6 prefixes 0 to 128. Zones ("%eth0") are rejected.
func Parse(s string) (Addr, error) {
	s = strings.TrimSpace(s)
	text, prefix, hasPrefix := strings.Cut(s, "/")
	ip, err := netip.ParseAddr(strings.TrimSpace(text))
	if err != nil || ip.Zone() != "" {
		return Addr{}, fmt.Errorf("%q is not an IPv4 or IPv6 address", s)
	}
	a := Addr{Bits: ip.As16(), Prefix: 128, IPv4: ip.Is4()}
	if hasPrefix {
		n, err := strconv.Atoi(strings.TrimSpace(prefix))
		max := 128
		if a.IPv4 {
			max = 32
		}
		if err != nil || n < 0 || n > max {
			return Addr{}, fmt.Errorf("%q has an invalid prefix; use 0 to %d", s, max)
		}
		a.Prefix = a.bits(n)
	}
	return a, nil
}

// bits is an explicit prefix for this address as a count of the 128 bits.
func (a Addr) bits(n int) int {
	if a.IPv4 {
		return 96 + min(max(n, 0), 32)
	}
	return min(max(n, 0), 128)
}

// Masked is the address with every bit past the first n cleared.
func (a Addr) Masked(n int) [16]byte {
	out := a.Bits
	for i := range out {
		switch {
		case n >= 8*(i+1):
		case n <= 8*i:
			out[i] = 0
		default:
			out[i] &= byte(0xff << (8 - (n - 8*i)))
		}
	}
	return out
}

// Compare compares a and b over their common prefix: the shorter of their
// own prefixes and, when extra >= 0, extra bits (IPv4 bits when both are
// IPv4 addresses). It returns -1, 0 or 1.
func Compare(a, b Addr, extra int) int {
	n := min(a.Prefix, b.Prefix)
	if extra >= 0 {
		if a.IPv4 && b.IPv4 {
			n = min(n, a.bits(extra))
		} else {
			n = min(n, max(min(extra, 128), 0))
		}
	}
	x, y := a.Masked(n), b.Masked(n)
	for i := range x {
		switch {
		case x[i] < y[i]:
			return -1
		case x[i] > y[i]:
			return 1
		}
	}
	return 0
}

// InRange reports whether ip lies in the network rng (address/prefix).
func InRange(ip, rng Addr) bool {
	return ip.Masked(rng.Prefix) == rng.Masked(rng.Prefix)
}

// Canonical is the address masked to n leading bits (its own prefix when
// n < 0, an explicit n counting IPv4 bits for an IPv4 address) in the full
// form Kusto's parse_ipv6 returns: eight groups of four lower-case hex digits.
func Canonical(a Addr, n int) string {
	bits := a.Prefix
	if n >= 0 {
		bits = min(bits, a.bits(n))
	}
	m := a.Masked(bits)
	var b strings.Builder
	for i := 0; i < 16; i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		fmt.Fprintf(&b, "%04x", binary.BigEndian.Uint16(m[i:]))
	}
	return b.String()
}
