package auth_test

import (
	"strings"
	"testing"

	"odx/internal/auth"
)

func TestARMRoleAssignments(t *testing.T) {
	dir := t.TempDir()
	if _, err := auth.Bootstrap(dir, auth.EndpointsFor("https://127.0.0.1:8443"), "ca.pem"); err != nil {
		t.Fatal(err)
	}
	id, _, err := auth.AddPrincipal(dir, "team-a", nil)
	if err != nil {
		t.Fatal(err)
	}
	const sub = "/subscriptions/11111111-1111-1111-1111-111111111111"
	rg := sub + "/resourceGroups/TeamA"
	for _, as := range []auth.Assignment{{Role: auth.RoleReader, Scope: sub}, {Role: auth.RoleContributor, Scope: rg}} {
		if err := auth.AssignRole(dir, id, as); err != nil {
			t.Fatal(err)
		}
	}
	apps, err := auth.ListPrincipals(dir)
	if err != nil {
		t.Fatal(err)
	}
	var app auth.App
	for _, a := range apps {
		if a.ClientID == id {
			app = a
		}
	}
	f := func(read bool, scope string, want bool) {
		t.Helper()
		if got := app.ARMAllows(read, scope); got != want {
			t.Fatalf("ARMAllows(read=%v, %s) = %v, want %v", read, scope, got, want)
		}
	}
	f(true, sub+"/resourceGroups/other/providers/Microsoft.Kusto/clusters/c", true)   // Reader at the subscription reads anything in it
	f(false, sub+"/resourceGroups/other/providers/Microsoft.Kusto/clusters/c", false) // but writes nothing there
	f(false, rg+"/providers/Microsoft.Kusto/clusters/c/databases/d", true)            // Contributor on its resource group, case-insensitive
	f(false, strings.ToLower(rg)+"/providers/Microsoft.Kusto/clusters/c", true)
	f(false, sub+"/resourceGroups/TeamAB/providers/Microsoft.Kusto/clusters/c", false) // a prefix is not a parent
	f(true, "/subscriptions/22222222-2222-2222-2222-222222222222", false)              // another subscription

	bad := func(as auth.Assignment, want string) {
		t.Helper()
		if err := auth.AssignRole(dir, id, as); err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("AssignRole(%+v): %v, want %q", as, err, want)
		}
	}
	bad(auth.Assignment{Role: auth.RoleAllDatabasesAdmin, Scope: sub}, "cannot be assigned at a scope")
	bad(auth.Assignment{Role: auth.RoleReader, Scope: "resourceGroups/x"}, "want an ARM id")
	bad(auth.Assignment{Role: auth.RoleReader, Scope: sub + "/resourceGroups"}, "want an ARM id")
	if err := auth.AssignRole(dir, "no-such-id", auth.Assignment{Role: auth.RoleReader, Scope: sub}); err == nil {
		t.Fatal("assigning to an unknown principal must fail")
	}
}
