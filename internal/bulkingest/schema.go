package bulkingest

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"odx/internal/ingest/format"
)

// ensureTable creates the target table when --create-table is set and the
// table does not exist, with a schema inferred from the first local file.
func ensureTable(ctx context.Context, k *Kusto, opts Options, srcs []source) error {
	if !opts.CreateTable {
		return nil
	}
	t, err := k.Mgmt(ctx, opts.Database, ".show tables")
	if err != nil {
		return err
	}
	if c := t.Col("TableName"); c >= 0 {
		for _, row := range t.Rows {
			if fmt.Sprint(row[c]) == opts.Table {
				return nil
			}
		}
	}
	var first *source
	for i := range srcs {
		if srcs[i].path != "" {
			first = &srcs[i]
			break
		}
	}
	if first == nil {
		return fmt.Errorf("--create-table needs a local file to infer the schema from; create table %s first", opts.Table)
	}
	cols, err := inferSchema(*first, opts.IgnoreFirst)
	if err != nil {
		return fmt.Errorf("cannot infer a schema from %s: %w", first.name, err)
	}
	var defs []string
	for _, c := range cols {
		defs = append(defs, "['"+escape(c[0])+"']:"+c[1])
	}
	_, err = k.Mgmt(ctx, opts.Database, ".create-merge table ['"+escape(opts.Table)+"'] ("+strings.Join(defs, ", ")+")")
	return err
}

// inferSchema reads up to 1000 records of a file and proposes columns
// (name, Kusto type): CSV columns are named by the header when the file has
// one (--ignore-first-record), else Column1..N; named formats use their
// field names.
func inferSchema(s source, header bool) ([][2]string, error) {
	f, err := os.Open(s.path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var r io.Reader = f
	if s.comp == format.Gzip {
		zr, err := gzip.NewReader(f)
		if err != nil {
			return nil, err
		}
		r = zr
	}
	if s.comp == format.Zip {
		return nil, fmt.Errorf("cannot infer a schema from a zip archive")
	}
	if !s.format.Binary() {
		// Only the beginning is needed.
		head := make([]byte, 4<<20)
		n, _ := io.ReadFull(r, head)
		head = head[:n]
		if i := bytes.LastIndexByte(head, '\n'); i > 0 && n == len(head) {
			head = head[:i+1]
		}
		r = bytes.NewReader(head)
	}
	dec, err := format.NewDecoder(s.format, r, format.Options{Source: s.name, BatchSize: 1000})
	if err != nil {
		return nil, err
	}
	defer format.Close(dec)
	b, err := dec.Next()
	if err != nil && err != io.EOF {
		return nil, err
	}
	if b == nil || len(b.Records) == 0 {
		return nil, fmt.Errorf("no records")
	}
	recs := b.Records
	if recs[0].Fields != nil {
		var names []string
		if header {
			names, recs = recs[0].Fields, recs[1:]
		}
		width := 0
		for _, rec := range recs {
			width = max(width, len(rec.Fields))
		}
		width = max(width, len(names))
		cols := make([][2]string, width)
		for i := range cols {
			name := "Column" + strconv.Itoa(i+1)
			if i < len(names) && strings.TrimSpace(names[i]) != "" {
				name = strings.TrimSpace(names[i])
			}
			var vals []any
			for _, rec := range recs {
				if i < len(rec.Fields) {
					vals = append(vals, rec.Fields[i])
				}
			}
			cols[i] = [2]string{name, typeOf(vals)}
		}
		return cols, nil
	}
	// Columns follow the file's declared field order when the format has
	// one (Avro, Parquet, ORC); fields only seen in records come after,
	// alphabetically, since a JSON object's key order is not kept.
	order := []string{}
	values := map[string][]any{}
	if fn, ok := dec.(format.FieldNamer); ok {
		for _, k := range fn.FieldNames() {
			if _, seen := values[k]; !seen {
				order = append(order, k)
				values[k] = nil
			}
		}
	}
	for _, rec := range recs {
		obj, ok := rec.Value.(map[string]any)
		if !ok {
			continue
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if _, seen := values[k]; !seen {
				order = append(order, k)
			}
			values[k] = append(values[k], obj[k])
		}
	}
	if len(order) == 0 {
		return nil, fmt.Errorf("the records are not objects with named fields")
	}
	cols := make([][2]string, len(order))
	for i, k := range order {
		cols[i] = [2]string{k, typeOf(values[k])}
	}
	return cols, nil
}

// typeOf picks the narrowest Kusto type all sample values fit.
func typeOf(vals []any) string {
	kinds := map[string]bool{}
	for _, v := range vals {
		if k := kindOf(v); k != "" {
			kinds[k] = true
		}
	}
	delete(kinds, "null")
	switch {
	case len(kinds) == 0:
		return "string"
	case len(kinds) == 1:
		for k := range kinds {
			return k
		}
	case len(kinds) == 2 && kinds["long"] && kinds["real"]:
		return "real"
	case len(kinds) == 2 && kinds["int"] && kinds["long"]:
		return "long"
	}
	if kinds["dynamic"] {
		return "dynamic"
	}
	return "string"
}

func kindOf(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "bool"
	case int32:
		return "int"
	case int64, uint64:
		return "long"
	case float32, float64, format.Decimal:
		return "real"
	case time.Time:
		return "datetime"
	case json.Number:
		if _, err := strconv.ParseInt(x.String(), 10, 64); err == nil {
			return "long"
		}
		return "real"
	case map[string]any, []any:
		return "dynamic"
	case string:
		s := strings.TrimSpace(x)
		switch {
		case s == "":
			return "null"
		case strings.EqualFold(s, "true") || strings.EqualFold(s, "false"):
			return "bool"
		}
		if _, err := strconv.ParseInt(s, 10, 64); err == nil {
			return "long"
		}
		if _, err := strconv.ParseFloat(s, 64); err == nil {
			return "real"
		}
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02"} {
			if _, err := time.Parse(layout, s); err == nil {
				return "datetime"
			}
		}
		return "string"
	}
	return "string"
}
