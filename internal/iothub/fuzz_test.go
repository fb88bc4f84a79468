package iothub_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"odx/internal/iothub"
)

// FuzzDeviceInput: what a device sends (client id, username, password,
// topic) never crashes the parsers, never authenticates without a real
// signature, and parses to the structure IoT Hub's conventions promise.
func FuzzDeviceInput(f *testing.F) {
	keys, err := iothub.OpenKeys(f.TempDir(), nil)
	if err != nil {
		f.Fatal(err)
	}
	if _, err := keys.EnsureHub("fuzzhub"); err != nil {
		f.Fatal(err)
	}
	var signatures [][]byte // of the tokens this test signed: the only ones that may pass
	for _, c := range []struct{ device, module, policy string }{{"dev1", "", ""}, {"dev1", "mod", ""}, {"dev2", "", "device"}, {"dev3", "", "iothubowner"}} {
		tok, err := keys.DeviceToken("fuzzhub", c.device, c.module, c.policy, time.Hour)
		if err != nil {
			f.Fatal(err)
		}
		parsed, err := iothub.ParseToken(tok)
		if err != nil {
			f.Fatal(err)
		}
		signatures = append(signatures, parsed.Signature)
		client := strings.Trim(c.device+"/"+c.module, "/")
		username := "fuzzhub.azure-devices.net/" + client + "/?api-version=2021-04-12"
		if _, err := keys.Authenticate(client, username, tok, time.Now()); err != nil {
			f.Fatalf("the seed token of %s does not authenticate: %v", client, err)
		}
		topic := "devices/" + c.device
		if c.module != "" {
			topic += "/modules/" + c.module
		}
		f.Add(client, username, tok, topic+"/messages/events/Table=T&%24.mid=1")
		f.Add(client, "fuzzhub", tok[:len(tok)-3]+"xyz", "devices/"+c.device+"/modules/m/messages/events/a=b&$.ct=application%2Fjson")
	}
	f.Add("", "", "SharedAccessSignature sr=&sig=&se=", "devices//messages/events")
	f.Add("d", "h.azure-devices.net/d/?model-id=x", "SharedAccessSignature sr=h.azure-devices.net%2Fdevices%2Fd&sig=%zz&se=1&skn=%", "devices/d/messages/events/%gg=1")
	now := time.Now()
	f.Fuzz(func(t *testing.T, clientID, username, password, topic string) {
		if id, err := keys.Authenticate(clientID, username, password, now); err == nil {
			tok, perr := iothub.ParseToken(password)
			if perr != nil {
				t.Fatalf("authenticated %+v with a password that is not a token: %v", id, perr)
			}
			signed := false
			for _, s := range signatures {
				signed = signed || bytes.Equal(s, tok.Signature)
			}
			if !signed {
				t.Fatalf("authenticated %+v with a signature this test never made", id)
			}
			if id.Hub != "fuzzhub" || strings.Trim(id.Device+"/"+id.Module, "/") != clientID {
				t.Fatalf("authenticated as %+v for client id %q", id, clientID)
			}
		}
		device, module, bag, ok := iothub.ParseTelemetryTopic(topic)
		if ok {
			if device == "" || strings.Contains(device, "/") || strings.Contains(module, "/") {
				t.Fatalf("topic %q: device %q module %q", topic, device, module)
			}
			prefix := "devices/" + device
			if module != "" {
				prefix += "/modules/" + module
			}
			if rest := strings.TrimPrefix(topic, prefix+"/messages/events"); rest == topic || strings.TrimPrefix(rest, "/") != bag {
				t.Fatalf("topic %q: device %q module %q bag %q", topic, device, module, bag)
			}
		}
		app, _, err := iothub.ParsePropertyBag(bag)
		if err == nil {
			for _, p := range app {
				if p.Name == "" || strings.HasPrefix(p.Name, "$.") || p.Name == iothub.PropCreationTimeUTC {
					t.Fatalf("bag %q: application property %q", bag, p.Name)
				}
			}
		}
	})
}
