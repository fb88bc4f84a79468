package pathparts

import "testing"

// The examples of Kusto's parse_path() documentation.
func TestParse(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Parts
	}{
		{`C:\temp\file.txt`, Parts{"", "C:", `C:\temp`, "temp", "file.txt", "txt", ""}},
		{`temp\file.txt`, Parts{"", "", "temp", "temp", "file.txt", "txt", ""}},
		{"file://C:/temp/file.txt:some.exe", Parts{"file", "C:", "C:/temp", "temp", "file.txt", "txt", "some.exe"}},
		{`\\shared\users\temp\file.txt.gz`, Parts{"", "", `\\shared\users\temp`, "temp", "file.txt.gz", "gz", ""}},
		{"/usr/lib/temp/file.txt", Parts{"", "", "/usr/lib/temp", "temp", "file.txt", "txt", ""}},
		{`\\?\C:\dir\a.b`, Parts{"", "C:", `\\?\C:\dir`, "dir", "a.b", "b", ""}},
		{"file.txt", Parts{"", "", "", "", "file.txt", "txt", ""}},
		{`C:\file`, Parts{"", "C:", "C:", "", "file", "", ""}},
		{"", Parts{}},
	} {
		if got := Parse(c.in); got != c.want {
			t.Errorf("Parse(%q) = %+v, want %+v", c.in, got, c.want)
		}
	}
}
