package e2e

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// mgmt runs a command as the bootstrap principal and returns the raw v1 body.
func (s *server) mgmt(db, cmd string) string {
	s.t.Helper()
	resp, body := s.do("POST", "/v1/rest/mgmt", jsonBody(db, cmd), s.dataToken())
	if resp.StatusCode != 200 {
		s.t.Fatalf("%s: %d %s", cmd, resp.StatusCode, body)
	}
	return body
}

// queryV1 runs a query as the bootstrap principal and returns the raw v1 body.
func (s *server) queryV1(db, q string) string {
	s.t.Helper()
	resp, body := s.do("POST", "/v1/rest/query", jsonBody(db, q), s.dataToken())
	if resp.StatusCode != 200 {
		s.t.Fatalf("%s: %d %s", q, resp.StatusCode, body)
	}
	return body
}

func jsonBody(db, csl string) string {
	return `{"db":` + strconv.Quote(db) + `,"csl":` + strconv.Quote(csl) + `}`
}

// TestRestartKeepsEverything: databases, tables, rows, functions, policies and
// principals survive a clean restart on the same data directory.
func TestRestartKeepsEverything(t *testing.T) {
	s := startServer(t, "")
	s.mgmt("NetDefaultDB", ".create database Keep")
	s.mgmt("Keep", ".create table T (x: long, s: string)")
	s.mgmt("Keep", ".ingest inline into table T <|\n1,one\n2,two\n3,three")
	s.mgmt("Keep", ".create-or-alter function Big() { T | where x > 1 }")
	s.mgmt("Keep", ".alter table T policy retention '{\"SoftDeletePeriod\":\"10.00:00:00\",\"Recoverability\":\"Enabled\"}'")
	s.mgmt("Keep", ".add database Keep viewers ('aadapp=11111111-1111-1111-1111-111111111111;"+s.creds.TenantID+"') 'kept'")
	creds := s.creds

	s.stop()
	s.start()

	if s.creds != creds {
		t.Fatalf("credentials changed across a restart: %+v vs %+v", s.creds, creds)
	}
	if body := s.queryV1("Keep", "Big | summarize n=count(), total=sum(x)"); !strings.Contains(body, "[2,5]") {
		t.Fatalf("rows or function lost across restart: %s", body)
	}
	if body := s.mgmt("Keep", ".show table T policy retention"); !strings.Contains(body, "10.00:00:00") {
		t.Fatalf("retention policy lost across restart: %s", body)
	}
	if body := s.mgmt("Keep", ".show database Keep principals"); !strings.Contains(body, "11111111-1111-1111-1111-111111111111") {
		t.Fatalf("principal lost across restart: %s", body)
	}
}

// TestKill9DuringSetOrAppend: a crash in the middle of a large .set-or-append
// leaves all of its rows or none, and the database opens cleanly afterwards.
func TestKill9DuringSetOrAppend(t *testing.T) {
	s := startServer(t, "")
	s.mgmt("NetDefaultDB", ".create database Crash")
	s.mgmt("Crash", ".create table T (x: long, pad: string)")
	s.mgmt("Crash", ".ingest inline into table T <|\n-1,before")

	token := s.dataToken()
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Large enough to be still running when the kill lands; its outcome is irrelevant.
		body := jsonBody("Crash", ".set-or-append T <| range x from 1 to 30000000 step 1 | extend pad=strcat('row-', tostring(x), '-padding-padding-padding')")
		req, _ := http.NewRequest("POST", s.url+"/v1/rest/mgmt", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		if resp, err := s.client.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	time.Sleep(1500 * time.Millisecond)
	s.kill()
	<-done

	s.start()
	body := s.queryV1("Crash", "T | summarize n=count(), before=countif(x == -1)")
	if !strings.Contains(body, "[1,1]") && !strings.Contains(body, "[30000001,1]") {
		t.Fatalf("after kill -9 the table must hold all of the .set-or-append or none of it: %s", body)
	}
}
