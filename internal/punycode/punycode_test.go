package punycode

import "testing"

// Samples from RFC 3492 section 7.1 and from Kusto's documentation.
var samples = []struct{ plain, encoded string }{
	{"艺术", "cqv902d"},
	{"académie-française", "acadmie-franaise-npb1a"},
	{"Gáe", "Ge-mia"},
	{"Lúin", "Lin-8na"},
	{"Rúyì", "Ry-lja8c"},
	{"他们为什么不说中文", "ihqwcrb4cv8a8dqg056pqjye"},
	{"Pročprostěnemluvíčesky", "Proprostnemluvesky-uyb24dma41a"},
	{"3年B組金八先生", "3B-ww4c5e180e575a65lsy2b"},
	{"abc", "abc-"},
	{"", ""},
}

func TestEncodeDecode(t *testing.T) {
	for _, s := range samples {
		got, err := Encode(s.plain)
		if err != nil || got != s.encoded {
			t.Errorf("Encode(%q) = %q, %v; want %q", s.plain, got, err, s.encoded)
		}
		back, err := Decode(s.encoded)
		if err != nil || back != s.plain {
			t.Errorf("Decode(%q) = %q, %v; want %q", s.encoded, back, err, s.plain)
		}
	}
}

func TestDecodeRejectsBadInput(t *testing.T) {
	for _, s := range []string{"a-é", "abc-!!", "99999999999999999999", "-z"} {
		if got, err := Decode(s); err == nil {
			t.Errorf("Decode(%q) = %q, want an error", s, got)
		}
	}
}

func TestDomains(t *testing.T) {
	for _, c := range []struct{ unicode, ascii string }{
		{"Gáe.Bulg.edu", "xn--Ge-mia.Bulg.edu"},
		{"Rúyì.Jīngū.Bàng.com", "xn--Ry-lja8c.xn--Jng-uta63a.xn--Bng-9ka.com"},
		{"example.com", "example.com"},
	} {
		got, err := DomainToASCII(c.unicode)
		if err != nil || got != c.ascii {
			t.Errorf("DomainToASCII(%q) = %q, %v; want %q", c.unicode, got, err, c.ascii)
		}
		back, err := DomainToUnicode(c.ascii)
		if err != nil || back != c.unicode {
			t.Errorf("DomainToUnicode(%q) = %q, %v; want %q", c.ascii, back, err, c.unicode)
		}
	}
	// Kusto's punycode_domain_to_string examples: ideographic full stops
	// separate labels too, and case and spaces are kept.
	for _, c := range []struct{ in, want string }{
		{"Lê Lợi。Thuận Thiên。com", "xn--L Li-gpa4517b.xn--Thun Thin-s4a7194f.com"},
		{"Riðill。Skáldskaparmál。org", "xn--Riill-jta.xn--Skldskaparml-dbbj.org"},
		{"Kaledvoulc'h.Artorījos.edu", "Kaledvoulc'h.xn--Artorjos-ejb.edu"},
	} {
		if got, err := DomainToASCII(c.in); err != nil || got != c.want {
			t.Errorf("DomainToASCII(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	if got, _ := DomainToUnicode("XN--Ge-mia.edu"); got != "Gáe.edu" {
		t.Errorf("upper-case ACE prefix: got %q", got)
	}
	if _, err := DomainToUnicode("xn--a-é.com"); err == nil {
		t.Error("a label that is not punycode must fail")
	}
}
