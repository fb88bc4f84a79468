package iothub

import (
	"strings"
	"testing"
)

// Each consumer group of a broker-bound hub gets its own event hub, with a
// name Kafka accepts, distinct for groups that differ only in case or
// punctuation, and never one of an embedded hub's.
func TestBrokerEventHubNames(t *testing.T) {
	seen := map[string]string{}
	for _, g := range []string{"$Default", "default", "Default", "ops/team+1", "ops_team_1", strings.Repeat("g", 300)} {
		name := BrokerEventHub("Plant-Hub", g)
		if len(name) > 249 {
			t.Errorf("group %q: %d-character name, Kafka allows 249", g, len(name))
		}
		for _, r := range name {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
				t.Errorf("group %q: name %q has %q", g, name, r)
			}
		}
		if !strings.HasPrefix(name, BuiltInEventHub("Plant-Hub")+".") {
			t.Errorf("group %q: name %q is not under the hub's built-in endpoint name", g, name)
		}
		if other, dup := seen[name]; dup {
			t.Errorf("groups %q and %q share event hub %q", other, g, name)
		}
		seen[name] = g
	}
	if BrokerEventHub("h", "g") != BrokerEventHub("H", "g") {
		t.Error("hub names are case-insensitive, as in Azure")
	}
}

func TestShareName(t *testing.T) {
	if got := ShareName("$Default"); got != "$Default" {
		t.Errorf("ShareName($Default) = %q", got)
	}
	if got := ShareName("a/b+c#"); strings.ContainsAny(got, "/+#") {
		t.Errorf("ShareName kept a character MQTT forbids: %q", got)
	}
}

// The duplicate check remembers the last n message ids, forgetting older
// ones (a key added twice stays until both copies age out).
func TestRecentIDs(t *testing.T) {
	r := newRecentIDs(3)
	r.add("a")
	r.add("b")
	r.add("a")
	r.add("c") // evicts the first "a"; the second stays
	if !r.has("a") || !r.has("b") || !r.has("c") {
		t.Fatal("a recent id was forgotten")
	}
	r.add("d") // evicts "b"
	if r.has("b") {
		t.Fatal("an id older than the window is still remembered")
	}
	r.add("e") // evicts the second "a"
	if r.has("a") || !r.has("d") || !r.has("e") {
		t.Fatal("eviction kept or lost the wrong ids")
	}
}
