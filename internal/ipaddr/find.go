package ipaddr

import (
	"strconv"
	"strings"
)

// IPv4 addresses in free text, as Kusto's has_ipv4, has_ipv4_prefix,
// has_any_ipv4 and has_any_ipv4_prefix find them: an address counts only
// when it is a valid dotted quad set off by characters that are neither
// letters nor digits (a sentence's closing period is allowed).

// Needle is a parsed search term: the leading octets to match (all four for
// a whole address).
type Needle struct {
	octets []byte
}

// ParseNeedle reads an address to look for, or with prefix a prefix: a whole
// address or one to three octets each followed by a dot ("192.168.").
func ParseNeedle(s string, prefix bool) (Needle, bool) {
	s = strings.TrimSpace(s)
	whole := !strings.HasSuffix(s, ".")
	if !whole {
		if !prefix {
			return Needle{}, false
		}
		s = s[:len(s)-1]
	}
	octets, ok := parseOctets(s)
	if !ok || (whole && len(octets) != 4) || (!whole && len(octets) > 3) {
		return Needle{}, false
	}
	return Needle{octets: octets}, true
}

// parseOctets reads dot-separated decimal numbers 0..255.
func parseOctets(s string) ([]byte, bool) {
	var out []byte
	for _, part := range strings.Split(s, ".") {
		if part == "" || len(part) > 3 {
			return nil, false
		}
		n, err := strconv.Atoi(part)
		if err != nil || n > 255 || part[0] == '+' || part[0] == '-' {
			return nil, false
		}
		out = append(out, byte(n))
	}
	return out, true
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

// Addresses lists the IPv4 addresses that appear in text.
func Addresses(text string) [][4]byte {
	var out [][4]byte
	for i := 0; i < len(text); {
		c := text[i]
		if c < '0' || c > '9' || (i > 0 && (isAlnum(text[i-1]) || text[i-1] == '.')) {
			i++
			continue
		}
		end := i
		for end < len(text) && (text[end] == '.' || text[end] >= '0' && text[end] <= '9') {
			end++
		}
		run := text[i:end]
		if end < len(text) && isAlnum(text[end]) {
			i = end
			continue
		}
		// a single trailing dot ends a sentence, not the address
		if strings.HasSuffix(run, ".") && !strings.HasSuffix(run, "..") {
			run = run[:len(run)-1]
		}
		if octets, ok := parseOctets(run); ok && len(octets) == 4 {
			out = append(out, [4]byte(octets))
		}
		i = end
	}
	return out
}

// Matches reports whether the address fits the needle.
func (n Needle) Matches(a [4]byte) bool {
	for i, o := range n.octets {
		if a[i] != o {
			return false
		}
	}
	return true
}

// ContainsAny reports whether text holds an address matching one of the
// needles (addresses or, with prefix, prefixes). Invalid needles match
// nothing.
func ContainsAny(text string, needles []string, prefix bool) bool {
	var parsed []Needle
	for _, s := range needles {
		if n, ok := ParseNeedle(s, prefix); ok {
			parsed = append(parsed, n)
		}
	}
	if len(parsed) == 0 {
		return false
	}
	for _, a := range Addresses(text) {
		for _, n := range parsed {
			if n.Matches(a) {
				return true
			}
		}
	}
	return false
}
