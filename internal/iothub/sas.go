package iothub

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// HostSuffix is the DNS suffix of IoT hub host names: devices name their
// hub {hub}.azure-devices.net in the MQTT username and in token resources.
const HostSuffix = ".azure-devices.net"

// HostName is the host name of a hub, as devices write it.
func HostName(hub string) string { return hub + HostSuffix }

// DeviceResource is the resource URI a device's token is signed for:
// {hub}.azure-devices.net/devices/{device}[/modules/{module}].
func DeviceResource(hub, device, module string) string {
	r := HostName(hub) + "/devices/" + device
	if module != "" {
		r += "/modules/" + module
	}
	return r
}

// Token is a parsed SharedAccessSignature.
type Token struct {
	Resource    string // decoded resource URI (sr)
	rawResource string // sr exactly as written in the token: the signed text
	rawExpiry   string
	Signature   []byte // decoded HMAC
	Expiry      time.Time
	KeyName     string // skn: the shared access policy; "" for a device key
}

// SignToken makes a SharedAccessSignature for resource, valid until expiry,
// signed with a base64 key; keyName is the policy (skn), "" for a device key.
// The signature is Base64(HMAC-SHA256(key, URLEncode(resource) + "\n" + expiry)).
func SignToken(resource, keyName, key string, expiry time.Time) (string, error) {
	raw, err := base64.StdEncoding.DecodeString(key)
	if err != nil {
		return "", fmt.Errorf("the key is not base64: %w", err)
	}
	sr := url.QueryEscape(resource)
	se := strconv.FormatInt(expiry.Unix(), 10)
	sig := base64.StdEncoding.EncodeToString(mac(raw, sr+"\n"+se))
	tok := "SharedAccessSignature sr=" + sr + "&sig=" + url.QueryEscape(sig) + "&se=" + se
	if keyName != "" {
		tok += "&skn=" + url.QueryEscape(keyName)
	}
	return tok, nil
}

func mac(key []byte, msg string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msg))
	return h.Sum(nil)
}

// ParseToken reads "SharedAccessSignature sr=...&sig=...&se=...[&skn=...]"
// (fields in any order).
func ParseToken(s string) (Token, error) {
	const prefix = "SharedAccessSignature "
	if !strings.HasPrefix(s, prefix) {
		return Token{}, errors.New("the password is not a SAS token: it must start with \"SharedAccessSignature \" (make one with `odx iot token`)")
	}
	var t Token
	var sig string
	for _, field := range strings.Split(strings.TrimSpace(s[len(prefix):]), "&") {
		k, v, _ := strings.Cut(field, "=")
		switch k {
		case "sr":
			t.rawResource = v
		case "sig":
			sig = v
		case "se":
			t.rawExpiry = v
		case "skn":
			n, err := url.QueryUnescape(v)
			if err != nil {
				return Token{}, fmt.Errorf("the token's skn is not URL-encoded: %w", err)
			}
			t.KeyName = n
		}
	}
	if t.rawResource == "" || sig == "" || t.rawExpiry == "" {
		return Token{}, errors.New("the SAS token lacks sr, sig or se")
	}
	var err error
	if t.Resource, err = url.QueryUnescape(t.rawResource); err != nil {
		return Token{}, fmt.Errorf("the token's sr is not URL-encoded: %w", err)
	}
	se, err := strconv.ParseInt(t.rawExpiry, 10, 64)
	if err != nil {
		return Token{}, fmt.Errorf("the token's se %q is not a Unix time in seconds", t.rawExpiry)
	}
	t.Expiry = time.Unix(se, 0)
	dec, err := url.QueryUnescape(sig)
	if err == nil {
		t.Signature, err = base64.StdEncoding.DecodeString(dec)
	}
	if err != nil {
		return Token{}, errors.New("the token's sig is not URL-encoded base64")
	}
	return t, nil
}

// SignedBy reports whether the token was signed with the base64 key.
// Clients encode the resource URI differently (upper or lower case hex,
// lower-cased URIs), so the text as written in the token is checked first,
// then the usual re-encodings.
func (t Token) SignedBy(key string) bool {
	raw, err := base64.StdEncoding.DecodeString(key)
	if err != nil || len(raw) == 0 {
		return false
	}
	candidates := []string{t.rawResource, url.QueryEscape(t.Resource), url.QueryEscape(strings.ToLower(t.Resource)),
		strings.ToLower(url.QueryEscape(t.Resource))}
	for i, sr := range candidates {
		if slices.Contains(candidates[:i], sr) {
			continue
		}
		if hmac.Equal(t.Signature, mac(raw, sr+"\n"+t.rawExpiry)) {
			return true
		}
	}
	return false
}

// DeviceKey is a device's (or module's) symmetric key in the embedded IoT
// hub. odx has no device registry: device keys are derived from the hub's
// "device" policy key, as IoT Hub's Device Provisioning Service derives
// the keys of a group enrollment: Base64(HMAC-SHA256(policy key, id)),
// id being "{device}" or "{device}/{module}". Rotating the "device" policy
// key therefore changes every device key.
func DeviceKey(h Hub, device, module string) (string, error) {
	p, ok := h.Policy("device")
	if !ok {
		return "", fmt.Errorf("IoT hub %s has no \"device\" policy to derive device keys from", h.Name)
	}
	raw, err := base64.StdEncoding.DecodeString(p.PrimaryKey)
	if err != nil {
		return "", fmt.Errorf("IoT hub %s: the device policy key is not base64", h.Name)
	}
	id := device
	if module != "" {
		id += "/" + module
	}
	return base64.StdEncoding.EncodeToString(mac(raw, id)), nil
}

// GenerationID is the device's iothub-connection-auth-generation-id. IoT
// Hub assigns one when a device is registered; odx has no registry, so it is
// a stable number derived from the hub and device names.
func GenerationID(hub, device string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(hub) + "/" + device))
	return strconv.FormatUint(binary.BigEndian.Uint64(sum[:8])%1_000_000_000_000_000_000, 10)
}

// DeviceToken makes a device's SAS token for hub (created with its default
// policies if it does not exist yet), valid for ttl from now. With a policy
// name the token is signed with that policy's primary key (skn set; the
// policy needs DeviceConnect); without one it is signed with the device key
// (DeviceKey), as device SDKs do with a device connection string.
func (k *Keys) DeviceToken(hub, device, module, policy string, ttl time.Duration) (string, error) {
	if device == "" || strings.Contains(device, "/") || strings.Contains(module, "/") {
		return "", fmt.Errorf("device %q: a device id is required and cannot contain '/'", device)
	}
	if ttl <= 0 {
		return "", fmt.Errorf("the token lifetime must be positive, not %v", ttl)
	}
	h, err := k.EnsureHub(hub)
	if err != nil {
		return "", err
	}
	resource := DeviceResource(h.Name, device, module)
	expiry := time.Now().Add(ttl)
	if policy == "" {
		key, err := DeviceKey(h, device, module)
		if err != nil {
			return "", err
		}
		return SignToken(resource, "", key, expiry)
	}
	p, ok := h.Policy(policy)
	if !ok {
		names := make([]string, len(h.Policies))
		for i, q := range h.Policies {
			names[i] = q.Name
		}
		return "", fmt.Errorf("IoT hub %s has no shared access policy %q; it has %s", h.Name, policy, strings.Join(names, ", "))
	}
	if !p.Can(DeviceConnect) {
		return "", fmt.Errorf("policy %q lacks DeviceConnect, so devices cannot connect with its tokens; use device or iothubowner", p.Name)
	}
	return SignToken(resource, p.Name, p.PrimaryKey, expiry)
}

// DeviceConnectionString is what Azure IoT device SDKs take:
// HostName={hub}.azure-devices.net;DeviceId=...[;ModuleId=...];SharedAccessKey={device key}.
func (k *Keys) DeviceConnectionString(hub, device, module string) (string, error) {
	h, err := k.EnsureHub(hub)
	if err != nil {
		return "", err
	}
	key, err := DeviceKey(h, device, module)
	if err != nil {
		return "", err
	}
	cs := "HostName=" + HostName(h.Name) + ";DeviceId=" + device
	if module != "" {
		cs += ";ModuleId=" + module
	}
	return cs + ";SharedAccessKey=" + key, nil
}
