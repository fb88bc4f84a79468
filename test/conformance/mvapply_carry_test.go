package conformance

import (
	"fmt"
	"testing"
)

// A summarize right after mv-apply gets only the carried columns it reads
// (sem's withoutUnusedCarry); the result must not change.
func TestMvApplyThenSummarize(t *testing.T) {
	db := openEngine(t)
	_, rows := queryRows(t, db, `datatable(k:string, a:dynamic, other:string) ["x", dynamic([1,2,3]), "p", "y", dynamic([4]), "q", "x", dynamic([5,6]), "r"]
| mv-apply e = a to typeof(long) on (summarize s = sum(e))
| summarize total = sum(s), n = count() by k
| order by k asc`)
	if got := fmt.Sprint(rows); got != "[[x 17 2] [y 4 1]]" {
		t.Errorf("got %s", got)
	}
	// the same mv-apply bound by let keeps all its columns for other uses
	_, rows = queryRows(t, db, `let T = datatable(k:string, a:dynamic) ["x", dynamic([1,2])] | mv-apply e = a to typeof(long) on (summarize s = sum(e));
T | summarize sum(s) | extend c = toscalar(T | project k)`)
	if got := fmt.Sprint(rows); got != "[[3 x]]" {
		t.Errorf("got %s", got)
	}
}
