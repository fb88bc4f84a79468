package engine

import (
	"context"
	"testing"
)

// The values are the ones Kusto's documentation gives for hash().
func TestKustoHashFunctions(t *testing.T) {
	db, err := Open("", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	f := func(query string, want int64) {
		t.Helper()
		rows, err := db.Query(context.Background(), query)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		if !rows.Next() {
			t.Fatalf("%s: no row", query)
		}
		v, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		if v[0] != want {
			t.Fatalf("%s = %v, want %d", query, v[0], want)
		}
	}
	f("SELECT odx_hash_string('World')", 1846988464401551951)
	// hash(datetime(2015-01-01)): the ticks of that instant.
	f("SELECT odx_hash_long(635556672000000000)", 1380966698541616202)
	// Every pooled connection sees the functions, not only the one that registered them.
	for range 4 {
		f("SELECT odx_hash_string('World')", 1846988464401551951)
	}
}
