package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
)

// A table with JSON columns is appended through the query appender when the
// caller gives the types, and without them through the driver's own: both
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
			err := db.InTx(ctx, func(tx *Tx) error {
				done := false
				return tx.AppendParts(to, func() (int, func(int, []any) error, error) {
					if done {
						return 0, nil, nil
					}
					done = true
					return len(rows), func(i int, dst []any) error { copy(dst, rows[i]); return nil }, nil
				})
			})
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
				return tx.AppendParts(to, func() (int, func(int, []any) error, error) {
					return 1, func(i int, dst []any) error {
						copy(dst, []any{int64(9), json.RawMessage(`{oops`), nil, nil, nil})
						return nil
					}, nil
				})
			})
			if bad == nil {
				t.Fatal("invalid JSON bytes were appended")
			}
		})
	}
}
