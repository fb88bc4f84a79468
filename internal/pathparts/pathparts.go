// Package pathparts splits a file path the way Kusto's parse_path() does:
// Windows and POSIX separators, "scheme://" prefixes, drive letters,
// "\\?\" long paths, UNC shares and NTFS alternate data streams.
package pathparts

import "strings"

// Parts are the components parse_path returns, in its property order.
type Parts struct {
	Scheme, RootPath, DirectoryPath, DirectoryName, Filename, Extension, AlternateDataStreamName string
}

// Names lists the properties in the order Kusto writes them.
var Names = []string{"Scheme", "RootPath", "DirectoryPath", "DirectoryName", "Filename", "Extension", "AlternateDataStreamName"}

// Values returns the parts in the order of Names.
func (p Parts) Values() []string {
	return []string{p.Scheme, p.RootPath, p.DirectoryPath, p.DirectoryName, p.Filename, p.Extension, p.AlternateDataStreamName}
}

func isDrive(s string) bool {
	return len(s) >= 2 && s[1] == ':' && (s[0]|0x20 >= 'a' && s[0]|0x20 <= 'z')
}

// Parse splits path into its parts. Parts that are absent are "".
func Parse(path string) Parts {
	var p Parts
	rest := path
	if i := strings.Index(rest, "://"); i > 0 && !strings.ContainsAny(rest[:i], `/\:`) {
		p.Scheme, rest = rest[:i], rest[i+3:]
	}
	// "\\?\C:\..." long paths: the prefix belongs to the directory path but
	// the root is the drive after it.
	body := strings.TrimPrefix(rest, `\\?\`)
	if isDrive(body) {
		p.RootPath = body[:2]
	}
	// The directory is everything before the last separator; the file name
	// what follows it.
	last := strings.LastIndexAny(rest, `/\`)
	name := rest[last+1:]
	if last >= 0 {
		p.DirectoryPath = rest[:last]
	}
	// an alternate data stream follows a colon in the file name
	if i := strings.IndexByte(name, ':'); i >= 0 && !(last < 0 && isDrive(name) && i == 1) {
		name, p.AlternateDataStreamName = name[:i], name[i+1:]
	}
	p.Filename = name
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		p.Extension = name[i+1:]
	}
	dir := strings.TrimRight(p.DirectoryPath, `/\`)
	if j := strings.LastIndexAny(dir, `/\`); j >= 0 {
		p.DirectoryName = dir[j+1:]
	} else if !isDrive(dir) || len(dir) > 2 {
		p.DirectoryName = dir
	}
	return p
}
