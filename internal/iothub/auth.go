package iothub

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Identity is an authenticated device connection.
type Identity struct {
	Hub     string // hub name as stored
	Device  string
	Module  string // "" for a device
	ModelID string // PnP model id from the username (model-id=...), → dt-dataschema
	// Scope is "device" for a token signed with the device key, "hub" for
	// one signed with a shared access policy (IoT Hub's auth-method scope).
	Scope        string
	Policy       string // the policy that signed the token (Scope "hub")
	GenerationID string
}

// AuthMethod is the iothub-connection-auth-method value, a JSON object as
// IoT Hub writes it.
func (id Identity) AuthMethod() string {
	// The two scopes odx issues are constants: no string built per message.
	switch id.Scope {
	case "device":
		return authMethodDevice
	case "hub":
		return authMethodHub
	}
	return `{"scope":"` + id.Scope + `","type":"sas","issuer":"iothub","acceptingIpFilterRule":null}`
}

const (
	authMethodDevice = `{"scope":"device","type":"sas","issuer":"iothub","acceptingIpFilterRule":null}`
	authMethodHub    = `{"scope":"hub","type":"sas","issuer":"iothub","acceptingIpFilterRule":null}`
)

// ParseClientID splits an MQTT client id: "{device}" or "{device}/{module}".
func ParseClientID(clientID string) (device, module string, err error) {
	device, module, _ = strings.Cut(clientID, "/")
	if device == "" || strings.Contains(module, "/") || (strings.Contains(clientID, "/") && module == "") {
		return "", "", fmt.Errorf("client id %q is not a device id (or device/module)", clientID)
	}
	return device, module, nil
}

// Username is a parsed MQTT username.
type Username struct {
	Hub     string // first DNS label of the host name, or the bare hub name
	Device  string // "" for a bare hub name
	Module  string
	ModelID string
}

// ParseUsername reads "{hub}.azure-devices.net/{device}/?api-version=...",
// "{hub}.azure-devices.net/{device}/{module}/?api-version=...", optionally
// with "&model-id={dtmi}", or a bare hub name.
func ParseUsername(u string) (Username, error) {
	path, query, _ := strings.Cut(u, "?")
	segs := strings.Split(strings.TrimRight(path, "/"), "/")
	var out Username
	switch len(segs) {
	case 1:
	case 2:
		out.Device = segs[1]
	case 3:
		out.Device, out.Module = segs[1], segs[2]
	default:
		return out, fmt.Errorf("username %q: want {hub}.azure-devices.net/{deviceId}/?api-version=2021-04-12", u)
	}
	out.Hub, _, _ = strings.Cut(segs[0], ".")
	if out.Hub == "" {
		return out, fmt.Errorf("username %q names no hub: want {hub}.azure-devices.net/{deviceId}/?api-version=2021-04-12", u)
	}
	if query != "" {
		q, err := url.ParseQuery(query)
		if err != nil {
			return out, fmt.Errorf("username %q: the part after '?' is not a query string: %w", u, err)
		}
		out.ModelID = q.Get("model-id")
	}
	return out, nil
}

// Authenticate checks a device connection: client id, username and SAS
// token password. Tokens must not be expired, must be for this hub and
// cover this device (the resource is the device, its module, or a prefix of
// them by path segment), and must be signed either with the device key (no
// skn) or with a policy that grants DeviceConnect.
func (k *Keys) Authenticate(clientID, username, password string, now time.Time) (Identity, error) {
	device, module, err := ParseClientID(clientID)
	if err != nil {
		return Identity{}, err
	}
	u, err := ParseUsername(username)
	if err != nil {
		return Identity{}, err
	}
	if u.Device != "" && (u.Device != device || u.Module != module) {
		return Identity{}, fmt.Errorf("the username names device %q but the client id is %q; they must be the same", strings.Trim(u.Device+"/"+u.Module, "/"), clientID)
	}
	hub, ok, err := k.Lookup(u.Hub)
	if err != nil {
		return Identity{}, err
	}
	if !ok {
		return Identity{}, fmt.Errorf("IoT hub %q does not exist in this odx (create it with `odx iot token --hub %s ...` or an IotHub data connection)", u.Hub, u.Hub)
	}
	tok, err := ParseToken(password)
	if err != nil {
		return Identity{}, err
	}
	if !now.Before(tok.Expiry) {
		return Identity{}, fmt.Errorf("the SAS token expired at %s", tok.Expiry.UTC().Format(time.RFC3339))
	}
	host, path, _ := strings.Cut(tok.Resource, "/")
	if label, _, _ := strings.Cut(host, "."); !strings.EqualFold(label, hub.Name) {
		return Identity{}, fmt.Errorf("the SAS token is for %q, not IoT hub %s", tok.Resource, hub.Name)
	}
	want := []string{"devices", device}
	if module != "" {
		want = append(want, "modules", module)
	}
	var got []string
	if p := strings.Trim(path, "/"); p != "" {
		got = strings.Split(p, "/")
	}
	if !segmentPrefix(got, want) {
		return Identity{}, fmt.Errorf("the SAS token is for %q, which does not cover %s", tok.Resource, DeviceResource(hub.Name, device, module))
	}
	id := Identity{Hub: hub.Name, Device: device, Module: module, ModelID: u.ModelID, GenerationID: GenerationID(hub.Name, device)}
	if tok.KeyName == "" {
		if len(got) != len(want) {
			return Identity{}, fmt.Errorf("a token signed with a device key must be for exactly %s", DeviceResource(hub.Name, device, module))
		}
		key, err := DeviceKey(hub, device, module)
		if err != nil {
			return Identity{}, err
		}
		if !tok.SignedBy(key) {
			return Identity{}, errors.New("the SAS token's signature does not match the device key")
		}
		id.Scope = "device"
		return id, nil
	}
	p, ok := hub.Policy(tok.KeyName)
	if !ok {
		return Identity{}, fmt.Errorf("IoT hub %s has no shared access policy %q", hub.Name, tok.KeyName)
	}
	if !p.Can(DeviceConnect) {
		return Identity{}, fmt.Errorf("shared access policy %q of IoT hub %s lacks DeviceConnect; sign device tokens with device or iothubowner", p.Name, hub.Name)
	}
	if !tok.SignedBy(p.PrimaryKey) && (p.SecondaryKey == "" || !tok.SignedBy(p.SecondaryKey)) {
		return Identity{}, fmt.Errorf("the SAS token's signature does not match the keys of policy %q", p.Name)
	}
	id.Scope, id.Policy = "hub", p.Name
	return id, nil
}

// segmentPrefix reports whether got is a prefix of want. Device and
// module ids are case-sensitive; the literal segments are not.
func segmentPrefix(got, want []string) bool {
	if len(got) > len(want) {
		return false
	}
	for i, g := range got {
		if i%2 == 0 {
			if !strings.EqualFold(g, want[i]) {
				return false
			}
		} else if g != want[i] {
			return false
		}
	}
	return true
}
