package format

// FieldNamer is implemented by decoders of formats that declare their
// records' fields in order (Avro, Parquet, ORC). Their records arrive as
// maps, which have no order; `odx ingest --create-table` asks the decoder
// so that a new table's columns follow the file, as its writer laid them out.
type FieldNamer interface {
	// FieldNames returns the top-level field names in the file's order.
	FieldNames() []string
}

// FieldNames gives the top-level fields of an ORC file's root struct.
func (d *orcDecoder) FieldNames() []string { return append([]string(nil), d.names...) }

// FieldNames gives the fields of an Avro file's root record (none when the
// root is not a record).
func (a *avroDecoder) FieldNames() []string {
	if a.root == nil || a.root.kind != "record" {
		return nil
	}
	names := make([]string, len(a.root.fields))
	for i, f := range a.root.fields {
		names[i] = f.name
	}
	return names
}

// FieldNames gives a Parquet file's top-level columns.
func (d *parquetDecoder) FieldNames() []string {
	if d.rr == nil {
		return nil
	}
	fields := d.rr.Schema().Fields()
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.Name
	}
	return names
}
