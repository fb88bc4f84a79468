package mgmt

import (
	"context"
	"strings"
	"testing"

	"odx/internal/access"
	"odx/internal/kerr"
)

func TestAuthorization(t *testing.T) {
	s := setup(t, "")
	run1(t, s, admin, "DB", ".create table T (a:long)")
	run1(t, s, admin, "", ".create database Other")
	run1(t, s, admin, "DB", ".add database DB admins ('aadapp=dbadmin;tn')")
	run1(t, s, admin, "DB", ".add database DB viewers ('aadapp=viewer;tn')")
	run1(t, s, admin, "DB", ".add database DB ingestors ('aadapp=ingestor')") // any tenant
	dbAdmin := access.Caller{Name: "aadapp=dbadmin;tn"}
	viewer := access.Caller{Name: "aadapp=VIEWER;TN"} // FQNs compare case-insensitively
	ingestor := access.Caller{Name: "aadapp=ingestor;other-tenant"}
	stranger := access.Caller{Name: "aadapp=stranger;tn"}
	clusterViewer := access.Caller{Name: "aadapp=cv;tn", ClusterRoles: []string{access.ClusterViewer}}

	cases := []struct {
		who     access.Caller
		db, cmd string
		allowed bool
	}{
		{dbAdmin, "DB", ".create table U (a:long)", true},
		{dbAdmin, "DB", ".alter table T policy retention softdelete = 1d", true},
		{dbAdmin, "DB", ".add database DB viewers ('aadapp=x;tn')", true},
		{dbAdmin, "Other", ".show tables", false},
		{dbAdmin, "", ".create database Mine", false},
		{dbAdmin, "DB", ".drop database DB", false},
		{viewer, "DB", ".show tables", true},
		{viewer, "DB", ".show table T extents", true},
		{viewer, "DB", ".create table V (a:long)", false},
		{viewer, "DB", ".ingest inline into table T <| 1", false},
		{viewer, "DB", ".drop table T", false},
		{ingestor, "DB", ".ingest inline into table T <| 1", true},
		{ingestor, "DB", ".set-or-append T <| range a from 1 to 3 step 1", true},
		{ingestor, "DB", ".set-or-append NewTable <| range a from 1 to 3 step 1", false},
		{ingestor, "DB", ".drop extents older 0 days from T", false},
		{ingestor, "DB", ".create table W (a:long)", false},
		{stranger, "DB", ".show tables", false},
		{stranger, "DB", ".ingest inline into table T <| 1", false},
		{clusterViewer, "Other", ".show tables", true},
		{clusterViewer, "Other", ".create table X (a:long)", false},
	}
	for _, c := range cases {
		_, err := execute(t, s, c.who, c.db, c.cmd)
		if c.allowed && err != nil {
			t.Errorf("%s on %s: %s should be allowed, got %v", c.who.Name, c.db, c.cmd, err)
		}
		if !c.allowed {
			ke := kerr.As(err)
			if err == nil || ke.Category != kerr.Forbidden {
				t.Errorf("%s on %s: %s should be forbidden, got %v", c.who.Name, c.db, c.cmd, err)
			} else if !strings.Contains(ke.Message, "Principal '"+c.who.Name+"' is not authorized") {
				t.Errorf("message %q", ke.Message)
			}
		}
	}
	// .show databases lists only what the caller may see.
	if got := run1(t, s, viewer, "", ".show databases").column("DatabaseName"); len(got) != 1 || got[0] != "DB" {
		t.Fatalf("viewer sees %v", got)
	}
	// Queries need a viewer role.
	if _, err := s.q.Query(context.Background(), viewer, "DB", "T", nil); err != nil {
		t.Fatalf("viewer query: %v", err)
	}
	if _, err := s.q.Query(context.Background(), ingestor, "DB", "T", nil); kerr.As(err).Category != kerr.Forbidden {
		t.Fatalf("ingestor query: %v", err)
	}
	if _, err := s.q.Query(context.Background(), viewer, "Nope", "T", nil); kerr.As(err).Code != kerr.CodeDatabaseMissing {
		t.Fatalf("missing database: %v", err)
	}
}
