package format

import (
	"errors"
	"fmt"
	"strings"

	"odx/internal/kerr"
)

// ADX ingestion error codes (Kusto `error-codes.md`) that decoding and
// binding produce. `.show ingestion failures` reports them as ErrorCode.
const (
	CodeWrongNumberOfFields   = "Stream_WrongNumberOfFields"
	CodeClosingQuoteMissing   = "Stream_ClosingQuoteMissing"
	CodeInvalidBlob           = "BadRequest_InvalidBlob"
	CodeInvalidArchive        = "BadRequest_InvalidArchive"
	CodeEmptyArchive          = "BadRequest_EmptyArchive"
	CodeFormatNotSupported    = "BadRequest_FormatNotSupported"
	CodeNoRecords             = "BadRequest_NoRecordsOrWrongFormat"
	CodeInputTooLarge         = "Stream_InputStreamTooLarge"
	CodeDynamicTooLarge       = "Stream_DynamicPropertyBagTooLarge"
	CodeInvalidMapping        = "BadRequest_InvalidMapping"
	CodeInconsistentMapping   = "BadRequest_InconsistentMapping"
	CodeMalformedRecord       = "Stream_MalformedRecord" // odx's code for a skipped JSON line; ADX skips those silently
	CodeValueNotConvertible   = "Stream_ValueNotConvertible"
	CodeValueTruncated        = "Stream_ValueTruncated"
	CodeMalformedProperty     = "BadRequest_MalformedIngestionProperty"
	CodeDuplicateMapping      = "BadRequest_DuplicateMapping"
	CodePropertyNotSupported  = "BadRequest_IngestionPropertyNotSupportedInThisContext"
	CodeUnexpectedCharacter   = "BadRequest_UnexpectedCharacterInInputStream"
	CodeMissingMappingFailure = "BadRequest_MissingMappingtFailure" // sic, ADX's spelling
)

// RecordError is a problem with one record (or one value of it). It names
// the source, the record and, once bound, the target column, and says why.
type RecordError struct {
	Source string
	// Record is the 1-based record number; Line the 1-based line where the
	// record starts (text formats), 0 when unknown.
	Record, Line int64
	// Column is the target column, empty for decoding problems.
	Column  string
	Code    string
	Message string
	// Dropped is true when the record was not ingested at all; false when it
	// was ingested with this value null-filled or truncated, as ADX does.
	Dropped bool
}

func (e RecordError) Error() string {
	var b strings.Builder
	if e.Source != "" {
		b.WriteString(e.Source)
		b.WriteString(": ")
	}
	if e.Record > 0 {
		fmt.Fprintf(&b, "record %d", e.Record)
		if e.Line > 0 && e.Line != e.Record {
			fmt.Fprintf(&b, " (line %d)", e.Line)
		}
		b.WriteString(": ")
	} else if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Column != "" {
		fmt.Fprintf(&b, "column %s: ", e.Column)
	}
	b.WriteString(e.Message)
	if e.Dropped {
		b.WriteString(" (record skipped)")
	}
	return b.String()
}

// readFailed reports an error of the underlying reader. Errors that already
// carry an ADX code (a corrupt gzip stream: BadRequest_InvalidArchive) keep
// it, with the source named.
func readFailed(source string, err error) *kerr.Error {
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return kerr.New(ke.Category, ke.Code, "%s: %s", source, ke.Message)
	}
	return errorf(CodeInvalidBlob, "%s: reading the data failed: %v", source, err)
}
