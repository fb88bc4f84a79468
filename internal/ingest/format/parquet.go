package format

import (
	"context"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	pqschema "github.com/apache/arrow-go/v18/parquet/schema"
)

// parquetDecoder reads Parquet files through arrow-go's pqarrow, one record
// batch at a time, and turns each row into a map[string]any keyed by the
// top-level column names. Nested LIST, MAP and STRUCT columns become []any
// and map[string]any (ADX maps them to dynamic).
type parquetDecoder struct {
	spool   *spooled
	pf      *file.Reader
	rr      pqarrow.RecordReader
	opts    Options
	records int64
	done    bool
	// jsonCols are the top-level columns with Parquet's JSON logical type;
	// arrow reads them as binary, odx hands them on as JSONText.
	jsonCols map[string]bool
}

func newParquet(r io.Reader, opts Options) (*parquetDecoder, error) {
	sp, err := spool(r)
	if err != nil {
		return nil, errorf(CodeInvalidBlob, "%s: buffering the Parquet data failed: %v", opts.Source, err)
	}
	pf, err := file.NewParquetReader(sp.f)
	if err != nil {
		sp.Close()
		return nil, errorf(CodeInvalidBlob, "%s: not a Parquet file: %v", opts.Source, err)
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: int64(opts.batchSize())}, memory.DefaultAllocator)
	if err != nil {
		pf.Close()
		sp.Close()
		return nil, errorf(CodeInvalidBlob, "%s: the Parquet schema cannot be read: %v", opts.Source, err)
	}
	rr, err := fr.GetRecordReader(context.Background(), nil, nil)
	if err != nil {
		pf.Close()
		sp.Close()
		return nil, errorf(CodeInvalidBlob, "%s: the Parquet file cannot be read: %v", opts.Source, err)
	}
	jsonCols := map[string]bool{}
	sc := pf.MetaData().Schema
	for i := 0; i < sc.NumColumns(); i++ {
		col := sc.Column(i)
		switch col.LogicalType().(type) {
		case pqschema.JSONLogicalType, *pqschema.JSONLogicalType:
			if len(col.ColumnPath()) == 1 {
				jsonCols[col.Name()] = true
			}
		}
	}
	return &parquetDecoder{spool: sp, pf: pf, rr: rr, opts: opts, jsonCols: jsonCols}, nil
}

func (p *parquetDecoder) Next() (*Batch, error) {
	if p.done {
		return nil, io.EOF
	}
	if !p.rr.Next() {
		p.done = true
		if err := p.rr.Err(); err != nil && err != io.EOF {
			return nil, errorf(CodeInvalidBlob, "%s: after record %d: the Parquet data is corrupt: %v", p.opts.Source, p.records, err)
		}
		return nil, io.EOF
	}
	rec := p.rr.RecordBatch()
	schema := rec.Schema()
	n := int(rec.NumRows())
	b := &Batch{Records: make([]Record, n)}
	for i := range b.Records {
		p.records++
		b.Records[i] = Record{Number: p.records, Value: make(map[string]any, rec.NumCols())}
	}
	for c := 0; c < int(rec.NumCols()); c++ {
		name := schema.Field(c).Name
		col := rec.Column(c)
		isJSON := p.jsonCols[name]
		for i := 0; i < n; i++ {
			v := arrowValue(col, i)
			if raw, ok := v.([]byte); ok && isJSON {
				v = JSONText(raw)
			}
			b.Records[i].Value.(map[string]any)[name] = v
		}
	}
	return b, nil
}

// Close releases the reader and removes the temporary copy, if any.
func (p *parquetDecoder) Close() error {
	p.rr.Release()
	p.pf.Close()
	return p.spool.Close()
}

// arrowValue converts element i of arr into a record value.
func arrowValue(arr arrow.Array, i int) any {
	if arr.IsNull(i) {
		return nil
	}
	switch a := arr.(type) {
	case *array.Boolean:
		return a.Value(i)
	case *array.Int8:
		return int32(a.Value(i))
	case *array.Int16:
		return int32(a.Value(i))
	case *array.Int32:
		return a.Value(i)
	case *array.Int64:
		return a.Value(i)
	case *array.Uint8:
		return int32(a.Value(i))
	case *array.Uint16:
		return int32(a.Value(i))
	case *array.Uint32:
		return int64(a.Value(i))
	case *array.Uint64:
		return a.Value(i)
	case *array.Float32:
		f, _ := strconv.ParseFloat(strconv.FormatFloat(float64(a.Value(i)), 'g', -1, 32), 64)
		return f
	case *array.Float64:
		return a.Value(i)
	case *array.String:
		return a.Value(i)
	case *array.LargeString:
		return a.Value(i)
	case *array.StringView:
		return a.Value(i)
	case *array.Binary:
		return append([]byte(nil), a.Value(i)...)
	case *array.LargeBinary:
		return append([]byte(nil), a.Value(i)...)
	case *array.FixedSizeBinary:
		return append([]byte(nil), a.Value(i)...)
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		return a.Value(i).ToTime(unit).UTC()
	case *array.Date32:
		return a.Value(i).ToTime().UTC()
	case *array.Date64:
		return a.Value(i).ToTime().UTC()
	case *array.Time32:
		unit := a.DataType().(*arrow.Time32Type).Unit
		return time.Duration(int64(a.Value(i)) * int64(unit.Multiplier()))
	case *array.Time64:
		unit := a.DataType().(*arrow.Time64Type).Unit
		return time.Duration(int64(a.Value(i)) * int64(unit.Multiplier()))
	case *array.Duration:
		unit := a.DataType().(*arrow.DurationType).Unit
		return time.Duration(int64(a.Value(i)) * int64(unit.Multiplier()))
	case *array.Decimal128, *array.Decimal256, *array.Decimal32, *array.Decimal64:
		return Decimal(arr.ValueStr(i))
	case *array.Map:
		start, end := a.ValueOffsets(i)
		keys, items := a.Keys(), a.Items()
		out := make(map[string]any, end-start)
		for j := int(start); j < int(end); j++ {
			out[keys.ValueStr(j)] = arrowValue(items, j)
		}
		return out
	case *array.List:
		start, end := a.ValueOffsets(i)
		return listValues(a.ListValues(), int(start), int(end))
	case *array.LargeList:
		start, end := a.ValueOffsets(i)
		return listValues(a.ListValues(), int(start), int(end))
	case *array.FixedSizeList:
		start, end := a.ValueOffsets(i)
		return listValues(a.ListValues(), int(start), int(end))
	case *array.Struct:
		st := a.DataType().(*arrow.StructType)
		out := make(map[string]any, a.NumField())
		for f := 0; f < a.NumField(); f++ {
			out[st.Field(f).Name] = arrowValue(a.Field(f), i)
		}
		return out
	case *array.Dictionary:
		return arrowValue(a.Dictionary(), a.GetValueIndex(i))
	}
	return arr.ValueStr(i)
}

func listValues(values arrow.Array, start, end int) []any {
	out := make([]any, 0, end-start)
	for j := start; j < end; j++ {
		out = append(out, arrowValue(values, j))
	}
	return out
}

// spooled is random-access input for formats that need it (Parquet, zip):
// the file itself, or a temporary copy of a stream.
type spooled struct {
	f    *os.File
	temp bool
}

// spool gives random access to r: an *os.File is used as is, any other
// reader is copied to a temporary file.
func spool(r io.Reader) (*spooled, error) {
	if f, ok := r.(*os.File); ok {
		if pos, err := f.Seek(0, io.SeekCurrent); err == nil && pos == 0 {
			return &spooled{f: f}, nil
		}
	}
	f, err := os.CreateTemp("", "odx-ingest-*")
	if err != nil {
		return nil, err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return &spooled{f: f, temp: true}, nil
}

func (s *spooled) size() (int64, error) {
	st, err := s.f.Stat()
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

// Close removes a temporary copy; a caller's own file is left open.
func (s *spooled) Close() error {
	if !s.temp {
		return nil
	}
	err := s.f.Close()
	os.Remove(s.f.Name())
	return err
}
