package iothub_test

import (
	"reflect"
	"testing"
	"time"

	"odx/internal/iothub"
)

// The property bag as devices write it: URL-encoded application
// properties in order, $. system keys, the creation time property, and
// encoding errors reported rather than guessed.
func TestParsePropertyBag(t *testing.T) {
	app, sys, err := iothub.ParsePropertyBag("Table=Bench&%24.mid=m%201&$.ct=application%2Fjson&a+b=c%26d&$.unknown=x&iothub-creation-time-utc=2026-11-28T12:00:00Z&&empty=")
	if err != nil {
		t.Fatal(err)
	}
	wantApp := []iothub.Property{{Name: "Table", Value: "Bench"}, {Name: "a b", Value: "c&d"}, {Name: "empty", Value: ""}}
	if !reflect.DeepEqual(app, wantApp) {
		t.Errorf("application properties %v, want %v", app, wantApp)
	}
	wantSys := map[string]string{iothub.PropMessageID: "m 1", iothub.PropContentType: "application/json", iothub.PropCreationTimeUTC: "2026-11-28T12:00:00Z"}
	if !reflect.DeepEqual(sys, wantSys) {
		t.Errorf("system properties %v, want %v", sys, wantSys)
	}

	app, sys, err = iothub.ParsePropertyBag("")
	if err != nil || len(app) != 0 || len(sys) != 0 {
		t.Errorf("empty bag: %v %v %v", app, sys, err)
	}
	if _, _, err := iothub.ParsePropertyBag("k=%zz"); err == nil {
		t.Error("a value that is not URL-encoded was accepted")
	}
}

// Headers: application properties first (a clashing name loses to the
// system property), then the system properties in IoT Hub's order, the
// auth method as IoT Hub writes it for each scope.
func TestHeaders(t *testing.T) {
	at := time.Date(2026, 11, 28, 12, 0, 0, 123456789, time.UTC)
	for scope, method := range map[string]string{
		"device": `{"scope":"device","type":"sas","issuer":"iothub","acceptingIpFilterRule":null}`,
		"hub":    `{"scope":"hub","type":"sas","issuer":"iothub","acceptingIpFilterRule":null}`,
	} {
		id := iothub.Identity{Hub: "h", Device: "d1", Scope: scope, GenerationID: "42"}
		got := iothub.Headers(id, []iothub.Property{{Name: "Table", Value: "T"}, {Name: iothub.PropDeviceID, Value: "forged"}},
			map[string]string{iothub.PropMessageID: "m1"}, at)
		want := []iothub.Property{{Name: "Table", Value: "T"}, {Name: iothub.PropMessageID, Value: "m1"},
			{Name: iothub.PropDeviceID, Value: "d1"}, {Name: iothub.PropAuthMethod, Value: method},
			{Name: iothub.PropAuthGenerationID, Value: "42"}, {Name: iothub.PropEnqueuedTime, Value: "2026-11-28T12:00:00.1234567Z"},
			{Name: iothub.PropMessageSource, Value: "Telemetry"}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("scope %s: headers\n%v, want\n%v", scope, got, want)
		}
	}
}
