package access

import (
	"strings"
	"testing"

	"odx/internal/kerr"
)

func TestRoles(t *testing.T) {
	c := Caller{Name: "aadapp=x;t"}
	cases := []struct {
		op    Op
		roles []string
		want  bool
	}{
		{OpView, []string{RoleViewer}, true},
		{OpView, []string{RoleIngestor}, false},
		{OpMonitor, []string{RoleMonitor}, true},
		{OpIngest, []string{RoleIngestor}, true},
		{OpIngest, []string{RoleViewer}, false},
		{OpCreate, []string{RoleUser}, true},
		{OpAdmin, []string{RoleUser}, false},
		{OpAdmin, []string{RoleAdmin}, true},
		{OpClusterAdmin, []string{RoleAdmin}, false},
	}
	for _, tc := range cases {
		if got := c.Can(tc.op, tc.roles); got != tc.want {
			t.Errorf("Can(%v, %v) = %v", tc.op, tc.roles, got)
		}
	}
	admin := Caller{ClusterRoles: []string{"alldatabasesadmin"}}
	if !admin.Can(OpClusterAdmin, nil) || !admin.Can(OpAdmin, nil) {
		t.Error("cluster admin may do anything")
	}
	viewer := Caller{ClusterRoles: []string{ClusterViewer}}
	if !viewer.Can(OpView, nil) || viewer.Can(OpIngest, nil) {
		t.Error("cluster viewer may read, not write")
	}
}

func TestSameFQN(t *testing.T) {
	if !SameFQN("aadapp=ABC;Tenant", "aadapp=abc;tenant") || !SameFQN("aadapp=abc", "aadapp=abc;any") || SameFQN("aadapp=abc;t1", "aadapp=abc;t2") {
		t.Fatal("FQN matching")
	}
}

func TestForbiddenMessage(t *testing.T) {
	e := Forbidden(Caller{Name: "aadapp=x;t"}, OpIngest, "DB")
	if e.Category != kerr.Forbidden || e.Category.Status() != 403 || !strings.HasPrefix(e.Message, "Principal 'aadapp=x;t' is not authorized to perform operation 'ingest' on database 'DB'") {
		t.Fatalf("%+v", e)
	}
}
