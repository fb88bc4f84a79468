// Package punycode implements the Punycode encoding of RFC 3492 and the
// label-by-label IDNA form of domain names ("xn--" labels), as KQL's
// punycode_* functions need them.
//
// Unlike full IDNA (golang.org/x/net/idna) it applies no Unicode mapping or
// validation: letters keep their case, which is what Kusto returns
// (punycode_domain_from_string("xn--Ge-mia.Bulg.edu") is "Gáe.Bulg.edu").
package punycode

import (
	"errors"
	"math"
	"strings"
	"unicode/utf8"
)

// Bootstring parameters for Punycode (RFC 3492 section 5).
const (
	base        = 36
	tMin        = 1
	tMax        = 26
	skew        = 38
	damp        = 700
	initialBias = 72
	initialN    = 128
	delimiter   = '-'
)

// ACEPrefix starts every encoded label of an internationalized domain name.
const ACEPrefix = "xn--"

var (
	errOverflow = errors.New("punycode: value overflows")
	errBadInput = errors.New("punycode: input is not valid punycode")
	errBadUTF8  = errors.New("punycode: input is not valid UTF-8")
)

// adapt is the bias adaptation function of RFC 3492 section 6.1.
func adapt(delta, numPoints int, first bool) int {
	if first {
		delta /= damp
	} else {
		delta /= 2
	}
	delta += delta / numPoints
	k := 0
	for delta > ((base-tMin)*tMax)/2 {
		delta /= base - tMin
		k += base
	}
	return k + (base-tMin+1)*delta/(delta+skew)
}

// threshold is t(k) of RFC 3492 section 6: the digit threshold clamped to
// [tMin, tMax].
func threshold(k, bias int) int {
	switch {
	case k <= bias:
		return tMin
	case k >= bias+tMax:
		return tMax
	}
	return k - bias
}

func digitChar(d int) byte {
	if d < 26 {
		return byte('a' + d)
	}
	return byte('0' + d - 26)
}

// digitValue is the value of a base-36 digit, letters in either case.
func digitValue(c byte) (int, bool) {
	switch {
	case c >= 'a' && c <= 'z':
		return int(c - 'a'), true
	case c >= 'A' && c <= 'Z':
		return int(c - 'A'), true
	case c >= '0' && c <= '9':
		return int(c-'0') + 26, true
	}
	return 0, false
}

// Encode returns the Punycode form of s (without the "xn--" prefix). Basic
// (ASCII) code points are copied first, in their original case, followed by
// a delimiter when there are any.
func Encode(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", errBadUTF8
	}
	runes := []rune(s)
	var out strings.Builder
	for _, r := range runes {
		if r < 0x80 {
			out.WriteByte(byte(r))
		}
	}
	b := out.Len()
	h := b
	if b > 0 {
		out.WriteByte(delimiter)
	}
	n, delta, bias := initialN, 0, initialBias
	for h < len(runes) {
		m := math.MaxInt32
		for _, r := range runes {
			if int(r) >= n && int(r) < m {
				m = int(r)
			}
		}
		if (m - n) > (math.MaxInt32-delta)/(h+1) {
			return "", errOverflow
		}
		delta += (m - n) * (h + 1)
		n = m
		for _, r := range runes {
			if int(r) < n {
				delta++
				if delta > math.MaxInt32 {
					return "", errOverflow
				}
			}
			if int(r) != n {
				continue
			}
			q := delta
			for k := base; ; k += base {
				t := threshold(k, bias)
				if q < t {
					break
				}
				out.WriteByte(digitChar(t + (q-t)%(base-t)))
				q = (q - t) / (base - t)
			}
			out.WriteByte(digitChar(q))
			bias = adapt(delta, h+1, h == b)
			delta = 0
			h++
		}
		delta++
		n++
	}
	return out.String(), nil
}

// Decode returns the text whose Punycode form is s (without "xn--").
func Decode(s string) (string, error) {
	var out []rune
	start := 0
	if i := strings.LastIndexByte(s, delimiter); i >= 0 {
		for j := 0; j < i; j++ {
			if s[j] >= 0x80 {
				return "", errBadInput
			}
			out = append(out, rune(s[j]))
		}
		start = i + 1
	}
	n, i, bias := initialN, 0, initialBias
	for pos := start; pos < len(s); {
		oldi, w := i, 1
		for k := base; ; k += base {
			if pos >= len(s) {
				return "", errBadInput
			}
			d, ok := digitValue(s[pos])
			pos++
			if !ok {
				return "", errBadInput
			}
			if d > (math.MaxInt32-i)/w {
				return "", errOverflow
			}
			i += d * w
			t := threshold(k, bias)
			if d < t {
				break
			}
			if w > math.MaxInt32/(base-t) {
				return "", errOverflow
			}
			w *= base - t
		}
		count := len(out) + 1
		bias = adapt(i-oldi, count, oldi == 0)
		if i/count > math.MaxInt32-n {
			return "", errOverflow
		}
		n += i / count
		i %= count
		if n > utf8.MaxRune || (n >= 0xD800 && n <= 0xDFFF) {
			return "", errBadInput
		}
		out = append(out, 0)
		copy(out[i+1:], out[i:])
		out[i] = rune(n)
		i++
	}
	return string(out), nil
}

// splitLabels splits a domain name at the full stops IDNA recognises (RFC
// 3490 section 3.1): '.', and the ideographic, fullwidth and halfwidth
// ideographic full stops. Empty labels are kept.
func splitLabels(domain string) []string {
	var out []string
	start := 0
	for i, r := range domain {
		switch r {
		case '.', '\u3002', '\uFF0E', '\uFF61':
			out = append(out, domain[start:i])
			start = i + utf8.RuneLen(r)
		}
	}
	return append(out, domain[start:])
}

// DomainToASCII encodes each label of a dotted domain name that holds
// non-ASCII characters as "xn--" followed by its Punycode form; ASCII labels
// are kept as they are. Labels are joined with '.'.
func DomainToASCII(domain string) (string, error) {
	labels := splitLabels(domain)
	for i, l := range labels {
		if isASCII(l) {
			continue
		}
		enc, err := Encode(l)
		if err != nil {
			return "", err
		}
		labels[i] = ACEPrefix + enc
	}
	return strings.Join(labels, "."), nil
}

// DomainToUnicode decodes each "xn--" label (prefix in any case) of a dotted
// domain name; other labels are kept as they are. Labels are joined with '.'.
func DomainToUnicode(domain string) (string, error) {
	labels := splitLabels(domain)
	for i, l := range labels {
		if len(l) < len(ACEPrefix) || !strings.EqualFold(l[:len(ACEPrefix)], ACEPrefix) {
			continue
		}
		dec, err := Decode(l[len(ACEPrefix):])
		if err != nil {
			return "", err
		}
		labels[i] = dec
	}
	return strings.Join(labels, "."), nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
