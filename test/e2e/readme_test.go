package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// readmeBlock returns the fenced code block that follows a
// `<!-- readme-test: NAME -->` marker in the repository's README.
func readmeBlock(t *testing.T, name string) string {
	t.Helper()
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	i := strings.Index(text, "<!-- readme-test: "+name+" -->")
	if i < 0 {
		t.Fatalf("README.md has no readme-test %q block", name)
	}
	text = text[i:]
	start := strings.Index(text, "```")
	body := text[start:]
	body = body[strings.Index(body, "\n")+1:]
	end := strings.Index(body, "\n```")
	return body[:end+1]
}

// envFrom turns `odx env` output into environment entries, through a shell,
// exactly as `eval "$(odx env)"` would.
func envFrom(t *testing.T, exports string) []string {
	t.Helper()
	out, err := exec.Command("sh", "-c", exports+"\nenv").Output()
	if err != nil {
		t.Fatalf("odx env output does not run in sh: %v\n%s", err, exports)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

// TestReadmePythonSDK runs the README's Python block, the article's code
// adapted as the README says, with Debian's python3-azure against a real odx.
func TestReadmePythonSDK(t *testing.T) {
	const python = "/usr/bin/python3" // Debian's interpreter sees Debian's python3-azure
	if err := exec.Command(python, "-c", "import azure.mgmt.kusto, azure.identity, requests").Run(); err != nil {
		t.Fatal("Debian's python3-azure is required (apt-get install -y python3-azure; .ci/run installs it)")
	}
	s := startServer(t, "")
	exports, err := s.run("env", "--data", s.dataDir)
	if err != nil {
		t.Fatalf("odx env: %v\n%s", err, exports)
	}
	script := filepath.Join(t.TempDir(), "readme.py")
	if err := os.WriteFile(script, []byte(readmeBlock(t, "python")), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(python, script)
	cmd.Env = envFrom(t, exports)
	out, err := cmd.CombinedOutput()
	if err != nil {
		s.dumpLog()
		t.Fatalf("the README's Python block fails: %v\n%s", err, out)
	}
	for _, want := range []string{"EventHub Succeeded", "EventGrid Succeeded", "IotHub Succeeded"} {
		if !strings.Contains(string(out), want) {
			t.Fatalf("the README's Python block printed %q, want a line %q", out, want)
		}
	}
	if body := s.mgmt("mykustodatabase", ".show data connections"); !strings.Contains(body, "myeventhubconnect") || strings.Contains(body, "myiothubconnect") {
		t.Fatalf("connections after the README flow (the IoT one deleted): %s", body)
	}

	// The connections the SDK made really consume. Event Hub: kcat produces
	// to the embedded hub the connection names.
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Fatal("kcat is required (apt-get install -y kcat; .ci/run installs it)")
	}
	produce := exec.Command(kcat, "-b", s.kafkaAddr(), "-t", "storms", "-P")
	produce.Stdin = strings.NewReader("2024-01-01T00:00:00Z,Texas,1000\n2024-01-02T00:00:00Z,Ohio,20\n")
	if out, err := produce.CombinedOutput(); err != nil {
		t.Fatalf("kcat: %v\n%s", err, out)
	}
	s.waitCount("mykustodatabase", "StormEvents | count", 2, 60*time.Second)
	// Event Grid: a file dropped into the embedded storage account it names.
	dir := filepath.Join(s.dataDir, "storage", "mystorage", "uploads")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".storms.csv.tmp"), []byte("2024-01-03T00:00:00Z,Utah,5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, ".storms.csv.tmp"), filepath.Join(dir, "storms.csv")); err != nil {
		t.Fatal(err)
	}
	s.waitCount("mykustodatabase", "StormEvents | count", 3, 60*time.Second)
	if body := s.queryV1("mykustodatabase", "StormEvents | summarize damage=sum(DamageProperty), states=dcount(State)"); !strings.Contains(body, "[1025,3]") {
		t.Fatalf("rows through the SDK-made connections: %s", body)
	}
}
