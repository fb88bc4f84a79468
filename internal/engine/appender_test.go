package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"odx/internal/columnar"
	"odx/internal/kql/types"
)

// appendRows appends rows of boxed values, every column of kind Any (the
// value-by-value path), as one block.
func appendRows(tx *Tx, to AppendTarget, rows [][]any) error {
	kinds := make([]columnar.Kind, len(rows[0]))
	blk, err := columnar.FromRows(kinds, rows)
	if err != nil {
		return err
	}
	return tx.AppendBlocks(to, oneBlock(blk))
}

// oneBlock yields blk, then the end.
func oneBlock(blk *columnar.Block) func() (*columnar.Block, error) {
	done := false
	return func() (*columnar.Block, error) {
		if done {
			return nil, nil
		}
		done = true
		return blk, nil
	}
}

// A table with JSON columns is appended through a query appender that has
// DuckDB cast the text, with the types given or read from the catalog: both
// store the same values (JSON text as it is, plain text as a JSON string,
// other Go values as their JSON, nil as NULL), and invalid JSON bytes are
// refused.
func TestAppendJSONColumnsWithAndWithoutTypes(t *testing.T) {
	ctx := context.Background()
	db, err := Open("", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(ctx, `CREATE TABLE j (id BIGINT, d JSON, s VARCHAR, x DECIMAL(38,10), g UUID)`); err != nil {
		t.Fatal(err)
	}
	rows := [][]any{
		{int64(1), `{"b":1,"a":[true,null]}`, "x", "1.5", "0b9c6f2e-1111-4444-8888-123456789abc"},
		{int64(2), "plain <text>", nil, 2.25, nil},
		{int64(3), nil, "z", nil, nil},
		{int64(4), map[string]any{"k": "v"}, "w", nil, nil},
		{int64(5), json.RawMessage(`[1,2]`), "v", nil, nil},
	}
	want := `1 {"b":1,"a":[true,null]} x 1.5|2 "plain \u003ctext\u003e" <nil> 2.25|3 <nil> z <nil>|4 {"k":"v"} w <nil>|5 [1,2] v <nil>|`
	for _, typed := range []bool{true, false} {
		t.Run(fmt.Sprint("typed=", typed), func(t *testing.T) {
			if _, err := db.Exec(ctx, `DELETE FROM j`); err != nil {
				t.Fatal(err)
			}
			to := AppendTarget{Schema: "main", Table: "j"}
			if typed {
				to.Types = []string{"BIGINT", "JSON", "VARCHAR", "DECIMAL(38,10)", "UUID"}
			}
			err := db.InTx(ctx, func(tx *Tx) error { return appendRows(tx, to, rows) })
			if err != nil {
				t.Fatal(err)
			}
			rs, err := db.Query(ctx, `SELECT id, d::VARCHAR, s, x::DOUBLE FROM j ORDER BY id`)
			if err != nil {
				t.Fatal(err)
			}
			defer rs.Close()
			got := ""
			for rs.Next() {
				v, err := rs.Values()
				if err != nil {
					t.Fatal(err)
				}
				got += fmt.Sprintf("%v %v %v %v|", v[0], v[1], v[2], v[3])
			}
			if got != want {
				t.Fatalf("got  %s\nwant %s", got, want)
			}
			bad := db.InTx(ctx, func(tx *Tx) error {
				return appendRows(tx, to, [][]any{{int64(9), json.RawMessage(`{oops`), nil, nil, nil}})
			})
			if bad == nil {
				t.Fatal("invalid JSON bytes were appended")
			}
		})
	}
}

// Typed block columns are copied into DuckDB's vectors chunk by chunk:
// every type odx stores comes back as it went in, across several chunks
// and blocks, with NULLs in one chunk not leaking into the next, strings
// inline (up to 12 bytes) and not, and text that is not UTF-8 stored with
// U+FFFD.
func TestAppendBlocksAcrossChunks(t *testing.T) {
	ctx := context.Background()
	db, err := Open("", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(ctx, `CREATE TABLE c (b BOOLEAN, i INTEGER, l BIGINT, r DOUBLE, s VARCHAR, g UUID, d DECIMAL(38,10), t BIGINT, j JSON)`); err != nil {
		t.Fatal(err)
	}
	const n = 5000 // three chunks of 2,048 rows
	when := time.Date(2026, 11, 28, 21, 0, 0, 0, time.UTC)
	value := func(i int) []any {
		if i%7 == 3 && i < 2048 { // NULLs in the first chunk only
			return []any{nil, nil, nil, nil, nil, nil, nil, nil, nil}
		}
		s := fmt.Sprintf("s%d", i)
		if i%2 == 0 {
			s = fmt.Sprintf("a longer string than twelve bytes %d", i)
		}
		g := UUID{0xf0, byte(i >> 8), byte(i), 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, byte(i % 256)}
		j := fmt.Sprintf(`{"n":%d}`, i)
		if i%3 == 0 {
			j = "plain text"
		}
		return []any{i%2 == 0, int32(-i), int64(i) << 33, float64(i) / 4, s, g, fmt.Sprintf("-%d.25", i), when.Add(time.Duration(i) * time.Second), j}
	}
	kinds := []columnar.Kind{columnar.Bool, columnar.Int32, columnar.Int64, columnar.Float64, columnar.String, columnar.Any, columnar.Any, columnar.DateTime, columnar.String}
	to := AppendTarget{Schema: "main", Table: "c", Types: []string{"BOOLEAN", "INTEGER", "BIGINT", "DOUBLE", "VARCHAR", "UUID", "DECIMAL(38,10)", "BIGINT", "JSON"}}
	err = db.InTx(ctx, func(tx *Tx) error {
		from := 0
		return tx.AppendBlocks(to, func() (*columnar.Block, error) {
			if from == n {
				return nil, nil
			}
			to := min(from+1500, n) // blocks that end inside chunks
			rows := make([][]any, 0, to-from)
			for i := from; i < to; i++ {
				rows = append(rows, value(i))
			}
			from = to
			return columnar.FromRows(kinds, rows)
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	rs, err := db.Query(ctx, `SELECT b, i, l, r, s, g::VARCHAR, d::VARCHAR, t, j::VARCHAR FROM c`)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	i := 0
	for rs.Next() {
		got, err := rs.Values()
		if err != nil {
			t.Fatal(err)
		}
		want := value(i)
		if want[0] != nil {
			want[5] = want[5].(UUID).String()
			want[6] = want[6].(string) + "00000000"
			want[7], _ = types.TicksFromTime(want[7].(time.Time))
			if want[8] == "plain text" {
				want[8] = `"plain text"`
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("row %d: got %v, want %v", i, got, want)
		}
		i++
	}
	if i != n {
		t.Fatalf("%d rows, want %d", i, n)
	}

	if _, err := db.Exec(ctx, `DELETE FROM c`); err != nil {
		t.Fatal(err)
	}
	bad := []string{"bad\xffutf8", "bad\xff but long enough to go to the heap"}
	err = db.InTx(ctx, func(tx *Tx) error {
		blk, err := columnar.FromRows(kinds, [][]any{
			{true, int32(1), int64(1), 1.0, bad[0], nil, nil, nil, nil},
			{true, int32(1), int64(1), 1.0, bad[1], nil, nil, nil, nil}})
		if err != nil {
			return err
		}
		return tx.AppendBlocks(to, oneBlock(blk))
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	rs2, err := db.Query(ctx, `SELECT s FROM c ORDER BY s`)
	if err != nil {
		t.Fatal(err)
	}
	defer rs2.Close()
	for rs2.Next() {
		v, _ := rs2.Values()
		got = append(got, v[0].(string))
	}
	if want := []string{"bad\uFFFD but long enough to go to the heap", "bad\uFFFDutf8"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// A value of the wrong type for its column fails the append with the
// column named, and nothing of it is stored; so does an error of next.
func TestAppendBlocksErrors(t *testing.T) {
	ctx := context.Background()
	db, err := Open("", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(ctx, `CREATE TABLE w (l BIGINT, s VARCHAR)`); err != nil {
		t.Fatal(err)
	}
	to := AppendTarget{Schema: "main", Table: "w"}
	err = db.InTx(ctx, func(tx *Tx) error { return appendRows(tx, to, [][]any{{int64(1), 42}}) })
	if err == nil || !strings.Contains(err.Error(), "column 2") || !strings.Contains(err.Error(), "main.w") {
		t.Fatalf("err = %v, want one naming main.w and column 2", err)
	}
	stop := errors.New("the source broke")
	err = db.InTx(ctx, func(tx *Tx) error {
		first := true
		return tx.AppendBlocks(to, func() (*columnar.Block, error) {
			if first {
				first = false
				return columnar.FromRows([]columnar.Kind{columnar.Int64, columnar.String}, [][]any{{int64(1), "x"}})
			}
			return nil, stop
		})
	})
	if err != stop {
		t.Fatalf("err = %v, want next's own error", err)
	}
	rs, err := db.Query(ctx, `SELECT count(*) FROM w`)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	rs.Next()
	if v, _ := rs.Values(); v[0] != int64(0) {
		t.Fatalf("%v rows stored after failed appends, want 0", v[0])
	}
}
