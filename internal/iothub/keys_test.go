package iothub_test

import (
	"encoding/base64"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"odx/internal/iothub"
)

func TestHubsStartWithIoTHubsDefaultPoliciesAndKeepTheirKeys(t *testing.T) {
	dir := t.TempDir()
	k1, err := iothub.OpenKeys(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	h, err := k1.EnsureHub("Plant-7")
	if err != nil {
		t.Fatal(err)
	}
	rights := map[string][]string{}
	for _, p := range h.Policies {
		rights[p.Name] = p.Rights
		for _, key := range []string{p.PrimaryKey, p.SecondaryKey} {
			if raw, err := base64.StdEncoding.DecodeString(key); err != nil || len(raw) != 32 {
				t.Errorf("policy %s key %q is not 32 base64 bytes", p.Name, key)
			}
		}
	}
	want := map[string]string{"iothubowner": "RegistryRead,RegistryWrite,ServiceConnect,DeviceConnect", "service": "ServiceConnect",
		"device": "DeviceConnect", "registryRead": "RegistryRead", "registryReadWrite": "RegistryRead,RegistryWrite"}
	for name, r := range want {
		if strings.Join(rights[name], ",") != r {
			t.Errorf("policy %s rights %v, want %s", name, rights[name], r)
		}
	}
	if len(rights) != len(want) {
		t.Errorf("policies %v", rights)
	}
	st, err := os.Stat(k1.Path())
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("keys file %v mode %v", err, st.Mode())
	}

	// Another process (a second Keys) sees the same hub, by any case, and the
	// first sees a policy the second adds.
	k2, _ := iothub.OpenKeys(dir, nil)
	again, ok, err := k2.Lookup("plant-7")
	if err != nil || !ok {
		t.Fatalf("hub not found again: %v", err)
	}
	p1, _ := h.Policy("device")
	if p2, _ := again.Policy("DEVICE"); p2.PrimaryKey != p1.PrimaryKey {
		t.Fatal("keys changed between opens")
	}
	if _, err := k2.SetPolicy("plant-7", "ingest", []string{"serviceconnect"}); err != nil {
		t.Fatal(err)
	}
	h1, _, _ := k1.Lookup("plant-7")
	if p, ok := h1.Policy("ingest"); !ok || !p.Can(iothub.ServiceConnect) || p.Can(iothub.DeviceConnect) {
		t.Fatalf("policy added elsewhere not seen: %+v", p)
	}
	if _, err := k1.EnsureHub("x"); err == nil {
		t.Error("a one-letter hub name was accepted")
	}
	if _, err := k1.SetPolicy("plant-7", "bad", []string{"Everything"}); err == nil {
		t.Error("an unknown right was accepted")
	}
}

func TestConcurrentHubCreationKeepsEveryHub(t *testing.T) {
	dir := t.TempDir()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, _ := iothub.OpenKeys(dir, nil) // separate stores, as separate processes
			if _, err := k.EnsureHub("hub-" + string(rune('a'+i))); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	k, _ := iothub.OpenKeys(dir, nil)
	hubs, err := k.Hubs()
	if err != nil || len(hubs) != 8 {
		t.Fatalf("%d hubs after 8 concurrent creations (%v)", len(hubs), err)
	}
}

func TestConfigPoliciesSignDeviceTokens(t *testing.T) {
	dir := t.TempDir()
	key := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	k, err := iothub.OpenKeys(dir, map[string]map[string]string{"myhub": {"factory": key}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.EnsureHub("myhub"); err != nil {
		t.Fatal(err)
	}
	tok, _ := iothub.SignToken(iothub.DeviceResource("myhub", "d", ""), "factory", key, time.Now().Add(time.Minute))
	if _, err := k.Authenticate("d", "myhub", tok, time.Now()); err != nil {
		t.Fatalf("token signed with a configured policy refused: %v", err)
	}
	if _, err := iothub.OpenKeys(dir, map[string]map[string]string{"myhub": {"bad": "not base64!"}}); err == nil {
		t.Error("a configured key that is not base64 was accepted")
	}
}

func TestTokensSignedAsOtherClientsEncodeThem(t *testing.T) {
	k, _ := iothub.OpenKeys(t.TempDir(), nil)
	h, _ := k.EnsureHub("myhub")
	p, _ := h.Policy("device")
	se := time.Now().Add(time.Hour).Unix()
	// A client that lower-cases the percent-encoding (%2f) and puts skn first.
	res := strings.ToLower(url.QueryEscape("myhub.azure-devices.net/devices/d1"))
	raw, _ := base64.StdEncoding.DecodeString(p.PrimaryKey)
	sig := base64.StdEncoding.EncodeToString(hmacSHA256(raw, res+"\n"+itoa(se)))
	tok := "SharedAccessSignature skn=device&sr=" + res + "&se=" + itoa(se) + "&sig=" + url.QueryEscape(sig)
	if _, err := k.Authenticate("d1", "myhub.azure-devices.net/d1/?api-version=2021-04-12", tok, time.Now()); err != nil {
		t.Fatalf("refused: %v", err)
	}
	// A hub-wide resource covers every device when signed with a policy.
	wide, _ := iothub.SignToken("myhub.azure-devices.net", "device", p.PrimaryKey, time.Now().Add(time.Hour))
	if _, err := k.Authenticate("anything", "myhub", wide, time.Now()); err != nil {
		t.Fatalf("hub-wide policy token refused: %v", err)
	}
	// But a device key is only good for its own device.
	dk, _ := iothub.DeviceKey(h, "d1", "")
	wideDevice, _ := iothub.SignToken("myhub.azure-devices.net", "", dk, time.Now().Add(time.Hour))
	if _, err := k.Authenticate("d1", "myhub", wideDevice, time.Now()); err == nil {
		t.Fatal("hub-wide token signed with a device key accepted")
	}
	// Device ids are case-sensitive.
	own, _ := iothub.SignToken(iothub.DeviceResource("myhub", "d1", ""), "device", p.PrimaryKey, time.Now().Add(time.Hour))
	if _, err := k.Authenticate("D1", "myhub", own, time.Now()); err == nil {
		t.Fatal("token of d1 accepted for D1")
	}
}
