package mgmt

import (
	"bytes"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"odx/internal/kerr"
	"odx/internal/kql/schema"
	"odx/internal/kql/types"
	"odx/internal/storage"
)

// decodeInline turns the data of `.ingest inline` into rows in table column
// order. CSV-family formats map fields by position; json/multijson map
// object properties by column name.
func decodeInline(data, format string, cols []schema.Column, props map[string]string) ([][]any, error) {
	data = strings.TrimLeft(data, " \t")
	data = strings.TrimPrefix(strings.TrimPrefix(data, "\r"), "\n")
	switch format {
	case "", "csv", "tsv", "tsve", "psv", "scsv", "sohsv", "txt":
		sep := map[string]rune{"": ',', "csv": ',', "tsv": '\t', "tsve": '\t', "psv": '|', "scsv": ';', "sohsv": '\x01', "txt": '\x00'}[format]
		return decodeDelimited(data, sep, cols, strings.EqualFold(props["ignorefirstrecord"], "true"))
	case "json", "multijson":
		return decodeJSONObjects(data, cols)
	}
	return nil, kerr.BadRequestf("format '%s' is not supported by .ingest inline; use csv, tsv, psv, scsv, sohsv, txt, json or multijson", format)
}

func decodeDelimited(data string, sep rune, cols []schema.Column, skipFirst bool) ([][]any, error) {
	var records [][]string
	if sep == 0 {
		for _, line := range strings.Split(strings.TrimRight(data, "\r\n"), "\n") {
			records = append(records, []string{strings.TrimRight(line, "\r")})
		}
	} else {
		rd := csv.NewReader(strings.NewReader(data))
		rd.Comma = sep
		rd.FieldsPerRecord = -1
		rd.LazyQuotes = true
		var err error
		if records, err = rd.ReadAll(); err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, kerr.BadRequestf("inline data, record %d: %v", pe.StartLine, pe.Err)
			}
			return nil, kerr.BadRequestf("inline data: %v", err)
		}
	}
	if skipFirst && len(records) > 0 {
		records = records[1:]
	}
	rows := make([][]any, 0, len(records))
	for i, rec := range records {
		if len(rec) > len(cols) {
			return nil, kerr.BadRequestf("inline data, record %d has %d fields but the table has %d columns", i+1, len(rec), len(cols))
		}
		row := make([]any, len(cols))
		for j, c := range cols {
			field := ""
			if j < len(rec) {
				field = rec[j]
			}
			v, err := parseField(field, c.Type)
			if err != nil {
				return nil, kerr.BadRequestf("inline data, record %d, column '%s': %v", i+1, c.Name, err)
			}
			row[j] = v
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// parseField converts one CSV field to the Go value storage expects for t.
// An empty field is null, except for strings, which Kusto never makes null.
func parseField(s string, t types.Type) (any, error) {
	if s == "" {
		if t == types.String {
			return "", nil
		}
		return nil, nil
	}
	switch t {
	case types.String:
		return s, nil
	case types.Bool:
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "true", "1":
			return true, nil
		case "false", "0":
			return false, nil
		}
		return nil, fmt.Errorf("'%s' is not a bool", s)
	case types.Int:
		v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 32)
		if err != nil {
			return nil, fmt.Errorf("'%s' is not an int", s)
		}
		return int32(v), nil
	case types.Long:
		v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("'%s' is not a long", s)
		}
		return v, nil
	case types.Real:
		switch strings.TrimSpace(s) {
		case "NaN":
			return math.NaN(), nil
		case "Infinity", "+Infinity":
			return math.Inf(1), nil
		case "-Infinity":
			return math.Inf(-1), nil
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return nil, fmt.Errorf("'%s' is not a real", s)
		}
		return v, nil
	case types.Decimal:
		if _, ok := new(big.Rat).SetString(strings.TrimSpace(s)); !ok {
			return nil, fmt.Errorf("'%s' is not a decimal", s)
		}
		return strings.TrimSpace(s), nil
	case types.DateTime:
		return parseDateTime(s)
	case types.TimeSpan:
		return storage.ParseTimeSpan(s)
	case types.Guid:
		return parseGUID(s)
	case types.Dynamic:
		if json.Valid([]byte(s)) {
			return s, nil
		}
		b, _ := json.Marshal(s)
		return string(b), nil
	}
	return nil, fmt.Errorf("unsupported type %s", t)
}

var dateLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.9999999", "2006-01-02 15:04:05.9999999Z07:00",
	"2006-01-02 15:04:05.9999999", "2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02", "2006-01-02T15:04:05.9999999Z"}

// parseDateTime reads the ISO 8601 forms Kusto accepts; no zone means UTC.
func parseDateTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("'%s' is not a datetime (use ISO 8601, e.g. 2024-01-31T12:00:00Z)", s)
}

func parseGUID(s string) ([16]byte, error) {
	var g [16]byte
	h := strings.ReplaceAll(strings.Trim(strings.TrimSpace(s), "{}"), "-", "")
	b, err := hex.DecodeString(h)
	if err != nil || len(b) != 16 {
		return g, fmt.Errorf("'%s' is not a guid", s)
	}
	copy(g[:], b)
	return g, nil
}

// decodeJSONObjects reads a stream of JSON objects (one per line or
// spanning lines) and maps properties to columns by name.
func decodeJSONObjects(data string, cols []schema.Column) ([][]any, error) {
	dec := json.NewDecoder(strings.NewReader(data))
	dec.UseNumber()
	var rows [][]any
	for n := 1; ; n++ {
		var obj map[string]json.RawMessage
		if err := dec.Decode(&obj); err == io.EOF {
			return rows, nil
		} else if err != nil {
			return nil, kerr.BadRequestf("inline JSON, record %d: %v", n, err)
		}
		row := make([]any, len(cols))
		for i, c := range cols {
			raw, ok := obj[c.Name]
			if !ok || bytes.Equal(raw, []byte("null")) {
				if c.Type == types.String {
					row[i] = ""
				}
				continue
			}
			v, err := jsonField(raw, c.Type)
			if err != nil {
				return nil, kerr.BadRequestf("inline JSON, record %d, column '%s': %v", n, c.Name, err)
			}
			row[i] = v
		}
		rows = append(rows, row)
	}
}

func jsonField(raw json.RawMessage, t types.Type) (any, error) {
	if t == types.Dynamic {
		return string(raw), nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return parseField(s, t)
	}
	if t == types.String {
		return string(raw), nil
	}
	return parseField(string(raw), t)
}
