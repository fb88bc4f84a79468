package connectcmd_test

import (
	"strings"
	"testing"

	"odx/internal/access"
	"odx/internal/connect/connectcmd"
)

// Connections that ingest blobs show their pending, ingested and failed
// blobs; the others leave those columns null.
func TestShowDataConnectionsBlobColumns(t *testing.T) {
	cmd := setup(t)
	cmd.Blobs = func(id string) (connectcmd.BlobCounts, bool) {
		if strings.HasSuffix(id, "c-sales") {
			return connectcmd.BlobCounts{Pending: 2, Ingested: 7, Failed: 1}, true
		}
		return connectcmd.BlobCounts{}, false
	}
	admin := access.Caller{Name: "aadapp=admin", ClusterRoles: []string{access.ClusterAdmin}}
	s, err := cmd.Execute(t.Context(), admin, "NetDefaultDB", ".show data connections")
	if err != nil {
		t.Fatal(err)
	}
	cols, all := rows(t, s)
	if n := len(cols); n < 3 || cols[n-3] != "BlobsPending" || cols[n-2] != "BlobsIngested" || cols[n-1] != "BlobsFailed" {
		t.Fatalf("columns %v: want BlobsPending, BlobsIngested, BlobsFailed last", cols)
	}
	for _, r := range all {
		got := []any{r["BlobsPending"], r["BlobsIngested"], r["BlobsFailed"]}
		switch r["Name"] {
		case "c-Sales":
			if got[0] != int64(2) || got[1] != int64(7) || got[2] != int64(1) {
				t.Errorf("c-Sales blobs %v, want 2 pending, 7 ingested, 1 failed", got)
			}
		default:
			if got[0] != nil || got[1] != nil || got[2] != nil {
				t.Errorf("%v reads no blobs but shows %v", r["Name"], got)
			}
		}
	}
}
