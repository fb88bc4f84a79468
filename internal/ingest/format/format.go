// Package format decodes ingestion payloads in every format Azure Data
// Explorer accepts (csv, tsv, tsve, psv, scsv, sohsv, txt, raw, json,
// multijson, singlejson, avro, apacheavro, parquet, orc, w3clogfile) into records,
// streaming: a decoder reads from an io.Reader and yields bounded batches, so
// a large file never sits in memory whole.
//
// A record is not yet a row: the mapping package binds records to a table
// schema. Decoders know nothing about tables, DuckDB or the engine.
package format

import (
	"io"
	"path"
	"strings"

	"odx/internal/kerr"
)

// Format is a data format name in its canonical lower-case spelling.
type Format string

const (
	CSV        Format = "csv"
	TSV        Format = "tsv"
	TSVE       Format = "tsve"
	PSV        Format = "psv"
	SCSV       Format = "scsv"
	SOHSV      Format = "sohsv"
	TXT        Format = "txt"
	Raw        Format = "raw"
	JSON       Format = "json"
	MultiJSON  Format = "multijson"
	SingleJSON Format = "singlejson"
	Avro       Format = "avro"
	ApacheAvro Format = "apacheavro"
	Parquet    Format = "parquet"
	ORC        Format = "orc"
	W3CLogFile Format = "w3clogfile"
)

// All lists every format odx knows, in ADX's documentation order.
var All = []Format{Avro, ApacheAvro, CSV, JSON, MultiJSON, ORC, Parquet, PSV, Raw, SCSV, SOHSV, TSV, TSVE, TXT, W3CLogFile, SingleJSON}

// ParseFormat resolves a format name case-insensitively, as ADX does for the
// `format` ingestion property (`Csv`, `CSV` and `csv` are one format).
func ParseFormat(name string) (Format, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	switch n {
	case "w3clog": // the IoT Hub portal's spelling
		n = string(W3CLogFile)
	}
	for _, f := range All {
		if string(f) == n {
			return f, nil
		}
	}
	return "", kerr.New(kerr.BadRequest, CodeFormatNotSupported,
		"unknown data format %q; use one of csv, tsv, tsve, psv, scsv, sohsv, txt, raw, json, multijson, singlejson, avro, apacheavro, parquet, orc, w3clogfile", name)
}

// Tabular reports whether f is one of the delimiter-separated formats whose
// records are lists of fields mapped by ordinal (ADX's Csv mapping kind).
func (f Format) Tabular() bool {
	switch f {
	case CSV, TSV, TSVE, PSV, SCSV, SOHSV, TXT, Raw:
		return true
	}
	return false
}

// Delimited reports whether f is one of the CSV family: records of
// separated fields, one per line unless a quoted field spans lines.
func (f Format) Delimited() bool {
	switch f {
	case CSV, TSV, TSVE, PSV, SCSV, SOHSV:
		return true
	}
	return false
}

// Binary reports whether f is a binary container format. ADX refuses
// stream-level compression and system properties for these.
func (f Format) Binary() bool {
	switch f {
	case Avro, ApacheAvro, Parquet, ORC:
		return true
	}
	return false
}

// Guess derives the format and compression from a file or blob name, the way
// ADX and LightIngest do: `x.csv.gz` is gzip-compressed CSV, `x.zip` is a zip
// archive whose format must be given separately (ok is false then), `.log` is
// a W3C log, `.tsv` is TSV. ok is false when the name says nothing about the format.
func Guess(name string) (f Format, c Compression, ok bool) {
	base := strings.ToLower(path.Base(strings.ReplaceAll(name, "\\", "/")))
	if i := strings.IndexAny(base, "?#"); i >= 0 { // blob URLs carry a SAS query
		base = base[:i]
	}
	switch {
	case strings.HasSuffix(base, ".gz"):
		c, base = Gzip, strings.TrimSuffix(base, ".gz")
	case strings.HasSuffix(base, ".zip"):
		c, base = Zip, strings.TrimSuffix(base, ".zip")
	}
	ext := path.Ext(base)
	switch ext {
	case ".log":
		return W3CLogFile, c, true
	case ".avro":
		return ApacheAvro, c, true
	case ".jsonl", ".ndjson":
		return JSON, c, true
	}
	if ext == "" {
		return "", c, false
	}
	f, err := ParseFormat(ext[1:])
	if err != nil {
		return "", c, false
	}
	return f, c, true
}

// Record is one decoded record of a source.
//
// Tabular formats fill Fields; every other format fills Value, which is a
// map[string]any for records with named fields (JSON objects, Avro, Parquet,
// W3C logs) or any other JSON value for JSON records that are not objects.
//
// Values inside Value use these Go types: nil, bool, string, json.Number
// (JSON numbers, kept as text so that no precision is lost), int32, int64,
// uint64, float64, Decimal, JSONText, []byte, time.Time, time.Duration,
// []any and map[string]any.
type Record struct {
	// Number is the 1-based position of the record in its source; this is
	// what the SourceLineNumber transformation yields.
	Number int64
	// Line is the 1-based line on which the record starts, for line-oriented
	// text formats; 0 otherwise.
	Line   int64
	Fields []string
	Value  any
	// Picked holds, for a json decoder given Options.Picks, the values at
	// the picked paths instead of Value.
	Picked []Picked
}

// Decimal is an exact decimal number in plain text (`-12.5`), as Avro and
// Parquet decimals are decoded.
type Decimal string

// JSONText is a value that a format declares to be JSON text (Parquet's
// JSON logical type): it becomes a parsed value in a dynamic column and the
// text itself in a string column.
type JSONText string

// Batch is a group of consecutive records and the problems found while
// decoding them. A record that could not be decoded at all is absent from
// Records and listed in Errors with Dropped set.
type Batch struct {
	Records []Record
	Errors  []RecordError
	// finish completes the records (see Finish); nil once done.
	finish func(*Batch)
}

// Finish completes a batch whose decoder left work to the caller
// (Options.DeferPicking): until then its Records lack their values and
// its Errors the records found malformed. It does nothing for other
// batches. Batches of one decoder may be finished concurrently, but one
// batch only once.
func (b *Batch) Finish() {
	if f := b.finish; f != nil {
		b.finish = nil
		f(b)
	}
}

// Decoder yields the records of one source in batches.
type Decoder interface {
	// Next returns the next batch. At the end of the input it returns io.EOF
	// (with no records). Any other error (a *kerr.Error with ADX's code) is
	// fatal for the rest of the source; the batch returned with it holds the
	// records decoded before the problem. ADX fails such a source as a whole
	// (for multijson "the entire file is discarded"); whether to commit the
	// earlier records is the caller's decision.
	Next() (*Batch, error)
}

// Options tune a decoder.
type Options struct {
	// Source names the input in errors and in the SourceLocation
	// transformation: a file path, a blob URL without its SAS, an event id.
	Source string
	// BatchSize bounds the records per batch; DefaultBatchSize when 0.
	BatchSize int
	// IgnoreFirstRecord skips the first record of a tabular source (a header
	// line), ADX's `ignoreFirstRecord` ingestion property.
	IgnoreFirstRecord bool
	// CheckFieldCount reports CSV-family records whose field count differs
	// from the first record's with Stream_WrongNumberOfFields, as ADX's
	// default validation policy (ValidateCsvInputConstantColumns) does. The
	// records are still returned: the caller applies the policy's implication.
	CheckFieldCount bool
	// MaxRecordBytes bounds one record of a text format; a longer record is
	// reported and skipped. DefaultMaxRecordBytes when 0.
	MaxRecordBytes int
	// JSONShape, when set, is shared by the json decoders of sources of
	// one shape (see JSONShape); nil: each decoder learns on its own.
	JSONShape *JSONShape
	// Picks, when set, makes the json (JSON Lines) decoder extract only
	// these paths of each record into Record.Picked (see NewPicks); other
	// formats ignore it.
	Picks *Picks
	// DeferPicking, with Picks, makes the json decoder only split the
	// input into records and leave the picking to Batch.Finish, which the
	// caller may run for several batches at once, each on its own
	// goroutine: picking is most of a JSON Lines decoder's work.
	DeferPicking bool
}

const (
	// DefaultBatchSize is the batch size when Options.BatchSize is 0.
	DefaultBatchSize = 65536
	// DefaultMaxRecordBytes caps one text record at 64 MiB so that a file
	// without line breaks (or with an unclosed quote) cannot exhaust memory.
	DefaultMaxRecordBytes = 64 << 20
)

func (o Options) batchSize() int {
	if o.BatchSize > 0 {
		return o.BatchSize
	}
	return DefaultBatchSize
}

func (o Options) maxRecordBytes() int {
	if o.MaxRecordBytes > 0 {
		return o.MaxRecordBytes
	}
	return DefaultMaxRecordBytes
}

// NewDecoder returns a decoder of format f reading r. The input must already
// be decompressed (see Unpack). Parquet and ORC need random access: when r
// is not an *os.File (or, for ORC, a bytes.Reader) it is first copied to a
// temporary file, which Close removes.
func NewDecoder(f Format, r io.Reader, opts Options) (Decoder, error) {
	if !f.Binary() {
		r = textInput(r)
	}
	if f.Delimited() {
		return newDelimited(f, r, opts), nil
	}
	switch f {
	case TXT:
		return newLines(r, opts), nil
	case Raw:
		return newRaw(r, opts), nil
	case JSON:
		return newJSONLines(r, opts), nil
	case MultiJSON:
		return newMultiJSON(r, opts), nil
	case SingleJSON:
		return newSingleJSON(r, opts), nil
	case Avro, ApacheAvro:
		return newAvro(f, r, opts)
	case Parquet:
		return newParquet(r, opts)
	case W3CLogFile:
		return newW3C(r, opts), nil
	case ORC:
		return newORC(r, opts)
	}
	return nil, kerr.New(kerr.BadRequest, CodeFormatNotSupported, "data format %q is not supported", string(f))
}

// Close releases what a decoder holds (temporary files, readers). Decoders
// that hold nothing need not be closed; calling Close on any decoder is safe.
func Close(d Decoder) error {
	if c, ok := d.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// ReadAll decodes a whole source into memory. It is for tests and small
// inline payloads; ingestion of files goes batch by batch.
func ReadAll(f Format, r io.Reader, opts Options) ([]Record, []RecordError, error) {
	d, err := NewDecoder(f, r, opts)
	if err != nil {
		return nil, nil, err
	}
	defer Close(d)
	var recs []Record
	var errs []RecordError
	for {
		b, err := d.Next()
		if b != nil {
			b.Finish()
			recs = append(recs, b.Records...)
			errs = append(errs, b.Errors...)
		}
		if err == io.EOF {
			return recs, errs, nil
		}
		if err != nil {
			return recs, errs, err
		}
	}
}

func errorf(code, format string, args ...any) *kerr.Error {
	return kerr.New(kerr.BadRequest, code, format, args...)
}

// String returns the canonical name.
func (f Format) String() string { return string(f) }
