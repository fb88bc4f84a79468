// Package result is the shape of what odx answers to a query or a management
// command: a sequence of tables, each with typed columns and a stream of rows.
// The query and command layers produce it; the REST layer encodes it as Kusto
// v1 or v2 frames without knowing where the rows came from.
package result

import "odx/internal/kql/types"

// Column is a named, typed result column.
type Column struct {
	Name string
	Type types.Type
}

// Table is one result table. Rows are pulled one at a time, so a large result
// is never held in memory as a whole.
type Table interface {
	// Name is the table's name (`PrimaryResult` for a query's main result,
	// `Table_0` style names for command results when no better name exists).
	Name() string
	Columns() []Column
	// Next returns the next row, or ok=false at the end. The slice may be
	// reused by the following call. Values follow the conventions below.
	Next() (row []any, ok bool, err error)
	// Close releases the underlying cursor; safe to call more than once.
	Close() error
}

// Value conventions, by column type (nil is null for every type):
//
//	bool      bool
//	int       int32 (int64 accepted)
//	long      int64
//	real      float64 (NaN and ±Inf allowed)
//	decimal   string holding the number, or a fmt.Stringer
//	datetime  time.Time
//	timespan  int64 ticks of 100 ns
//	string    string (never nil for string columns: Kusto strings are not null)
//	guid      string (lowercase 8-4-4-4-12) or a fmt.Stringer
//	dynamic   a JSON text as json.RawMessage or string, or a decoded Go value
//	          (map[string]any, []any, float64, string, bool, nil)

// Set is the full answer to one request.
type Set struct {
	Tables []Table
	// Properties go into the v2 `@ExtendedProperties` table (for example the
	// `render` visualization). Keyed by property name; values are JSON-able.
	Properties map[string]any
	// Warnings collected while running (for QueryCompletionInformation).
	Warnings []string
}

// Close closes every table of the set.
func (s *Set) Close() error {
	var first error
	for _, t := range s.Tables {
		if err := t.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Static is an in-memory table, for command results and tests.
type Static struct {
	TableName string
	Cols      []Column
	Rows      [][]any
	pos       int
}

func (s *Static) Name() string      { return s.TableName }
func (s *Static) Columns() []Column { return s.Cols }
func (s *Static) Close() error      { return nil }
func (s *Static) Next() ([]any, bool, error) {
	if s.pos >= len(s.Rows) {
		return nil, false, nil
	}
	s.pos++
	return s.Rows[s.pos-1], true, nil
}
