package iothub

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Shared access policy rights, as IoT Hub names them.
const (
	RegistryRead   = "RegistryRead"
	RegistryWrite  = "RegistryWrite"
	ServiceConnect = "ServiceConnect"
	DeviceConnect  = "DeviceConnect"
)

// Rights lists every right, in IoT Hub's order.
var Rights = []string{RegistryRead, RegistryWrite, ServiceConnect, DeviceConnect}

// DefaultPolicies are the shared access policies every IoT hub starts with,
// with IoT Hub's rights (RegistryWrite implies RegistryRead there too).
var DefaultPolicies = []Policy{
	{Name: "iothubowner", Rights: []string{RegistryRead, RegistryWrite, ServiceConnect, DeviceConnect}},
	{Name: "service", Rights: []string{ServiceConnect}},
	{Name: "device", Rights: []string{DeviceConnect}},
	{Name: "registryRead", Rights: []string{RegistryRead}},
	{Name: "registryReadWrite", Rights: []string{RegistryRead, RegistryWrite}},
}

// KeysDir and KeysFile locate the keys under the data directory:
// DIR/iothub/keys.json, mode 0600.
const (
	KeysDir  = "iothub"
	KeysFile = "keys.json"
)

// Policy is one shared access policy of a hub. Keys are base64 (32 random
// bytes), as IoT Hub shows them.
type Policy struct {
	Name         string   `json:"name"`
	Rights       []string `json:"rights"`
	PrimaryKey   string   `json:"primaryKey"`
	SecondaryKey string   `json:"secondaryKey,omitempty"`
	// FromConfig marks a policy defined in the configuration file (not
	// stored in the keys file).
	FromConfig bool `json:"-"`
}

// Can reports whether the policy grants a right.
func (p Policy) Can(right string) bool { return slices.Contains(p.Rights, right) }

// Hub is an embedded IoT hub's identity: its name and policies.
type Hub struct {
	Name     string    `json:"name"`
	Created  time.Time `json:"created"`
	Policies []Policy  `json:"policies"`
}

// Policy finds a policy by name (policy names compare case-insensitively, as
// in IoT Hub).
func (h Hub) Policy(name string) (Policy, bool) {
	for _, p := range h.Policies {
		if strings.EqualFold(p.Name, name) {
			return p, true
		}
	}
	return Policy{}, false
}

// keysDoc is the keys file.
type keysDoc struct {
	Hubs map[string]*Hub `json:"hubs"` // by lower-case hub name
}

// Keys is the store of the embedded IoT hubs and their shared access
// policies: DIR/iothub/keys.json, shared by the running odx and the `odx
// iot` commands (writes take a file lock, readers reload when the file
// changes). It is safe for concurrent use.
type Keys struct {
	path  string
	extra map[string][]Policy // lower-case hub → policies from the config file

	mu      sync.Mutex
	doc     keysDoc
	modTime time.Time
	size    int64
	loaded  bool
}

// hubName is IoT Hub's rule: 3 to 50 letters, digits or hyphens, not
// ending with a hyphen.
var hubName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{1,48}[A-Za-z0-9]$`)

// ValidHubName explains why name cannot be an IoT hub name, nil when it can.
func ValidHubName(name string) error {
	if !hubName.MatchString(name) {
		return fmt.Errorf("%q is not an IoT hub name: use 3 to 50 letters, digits or hyphens, not starting or ending with a hyphen", name)
	}
	return nil
}

// OpenKeys opens the keys of the data directory dataDir. extra are the
// policies the configuration file adds (hub → policy name → base64 key);
// they grant ServiceConnect and DeviceConnect and take precedence over a
// stored policy of the same name. Nothing is read until first use.
func OpenKeys(dataDir string, extra map[string]map[string]string) (*Keys, error) {
	k := &Keys{path: filepath.Join(dataDir, KeysDir, KeysFile), extra: map[string][]Policy{}}
	for hub, policies := range extra {
		names := make([]string, 0, len(policies))
		for n := range policies {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			key := policies[n]
			if raw, err := base64.StdEncoding.DecodeString(key); err != nil || len(raw) == 0 {
				return nil, fmt.Errorf("iotHubs.%s.policies.%s: the key must be base64 (e.g. from `openssl rand -base64 32`)", hub, n)
			}
			k.extra[strings.ToLower(hub)] = append(k.extra[strings.ToLower(hub)],
				Policy{Name: n, Rights: []string{ServiceConnect, DeviceConnect}, PrimaryKey: key, FromConfig: true})
		}
	}
	return k, nil
}

// Path is the keys file.
func (k *Keys) Path() string { return k.path }

// Lookup returns a hub, false when it does not exist.
func (k *Keys) Lookup(name string) (Hub, bool, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.refreshLocked(); err != nil {
		return Hub{}, false, err
	}
	h, ok := k.doc.Hubs[strings.ToLower(name)]
	if !ok {
		return Hub{}, false, nil
	}
	return k.withExtra(*h), true, nil
}

// Hubs lists the hubs, by name.
func (k *Keys) Hubs() ([]Hub, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.refreshLocked(); err != nil {
		return nil, err
	}
	out := make([]Hub, 0, len(k.doc.Hubs))
	for _, h := range k.doc.Hubs {
		out = append(out, k.withExtra(*h))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// EnsureHub returns a hub, creating it with the default policies and fresh
// keys when it does not exist yet.
func (k *Keys) EnsureHub(name string) (Hub, error) {
	if h, ok, err := k.Lookup(name); err != nil || ok {
		return h, err
	}
	if err := ValidHubName(name); err != nil {
		return Hub{}, err
	}
	var out Hub
	err := k.update(func(doc *keysDoc) error {
		if h, ok := doc.Hubs[strings.ToLower(name)]; ok {
			out = *h
			return nil
		}
		h := &Hub{Name: name, Created: time.Now().UTC()}
		for _, p := range DefaultPolicies {
			p.Rights = slices.Clone(p.Rights)
			p.PrimaryKey, p.SecondaryKey = newKey(), newKey()
			h.Policies = append(h.Policies, p)
		}
		doc.Hubs[strings.ToLower(name)] = h
		out = *h
		return nil
	})
	if err != nil {
		return Hub{}, err
	}
	return k.withExtra(out), nil
}

// SetPolicy adds a policy to a hub (creating the hub if needed) or changes
// the rights of an existing one; its keys are generated once and kept.
func (k *Keys) SetPolicy(hub, name string, rights []string) (Policy, error) {
	if name == "" || len(name) > 64 || strings.ContainsAny(name, " &=;/\\") {
		return Policy{}, fmt.Errorf("%q is not a policy name: use up to 64 letters, digits, '-', '_' or '.'", name)
	}
	var clean []string
	for _, r := range rights {
		i := slices.IndexFunc(Rights, func(s string) bool { return strings.EqualFold(s, r) })
		if i < 0 {
			return Policy{}, fmt.Errorf("%q is not a right; use %s", r, strings.Join(Rights, ", "))
		}
		if !slices.Contains(clean, Rights[i]) {
			clean = append(clean, Rights[i])
		}
	}
	if len(clean) == 0 {
		return Policy{}, fmt.Errorf("a policy needs at least one right (%s)", strings.Join(Rights, ", "))
	}
	if _, err := k.EnsureHub(hub); err != nil {
		return Policy{}, err
	}
	var out Policy
	err := k.update(func(doc *keysDoc) error {
		h := doc.Hubs[strings.ToLower(hub)]
		for i := range h.Policies {
			if strings.EqualFold(h.Policies[i].Name, name) {
				h.Policies[i].Rights = clean
				out = h.Policies[i]
				return nil
			}
		}
		out = Policy{Name: name, Rights: clean, PrimaryKey: newKey(), SecondaryKey: newKey()}
		h.Policies = append(h.Policies, out)
		return nil
	})
	return out, err
}

func (k *Keys) withExtra(h Hub) Hub {
	h.Policies = slices.Clone(h.Policies)
	for _, p := range k.extra[strings.ToLower(h.Name)] {
		if i := slices.IndexFunc(h.Policies, func(q Policy) bool { return strings.EqualFold(q.Name, p.Name) }); i >= 0 {
			h.Policies[i] = p
		} else {
			h.Policies = append(h.Policies, p)
		}
	}
	return h
}

// ConfigPolicies returns the policies the configuration file gives a hub
// (for hubs bound to a real endpoint, which have no keys file entry).
func (k *Keys) ConfigPolicies(hub string) []Policy {
	return slices.Clone(k.extra[strings.ToLower(hub)])
}

// refreshLocked reloads the file when it changed on disk.
func (k *Keys) refreshLocked() error {
	st, err := os.Stat(k.path)
	if errors.Is(err, fs.ErrNotExist) {
		k.doc, k.loaded = keysDoc{Hubs: map[string]*Hub{}}, true
		k.modTime, k.size = time.Time{}, 0
		return nil
	}
	if err != nil {
		return fmt.Errorf("IoT hub keys: %w", err)
	}
	if k.loaded && st.ModTime().Equal(k.modTime) && st.Size() == k.size {
		return nil
	}
	doc, err := readKeys(k.path)
	if err != nil {
		return err
	}
	k.doc, k.modTime, k.size, k.loaded = doc, st.ModTime(), st.Size(), true
	return nil
}

func readKeys(path string) (keysDoc, error) {
	doc := keysDoc{Hubs: map[string]*Hub{}}
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return doc, nil
	}
	if err != nil {
		return doc, fmt.Errorf("IoT hub keys: %w", err)
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return doc, fmt.Errorf("IoT hub keys file %s is damaged (%v); restore it from a backup, or delete it to generate new keys (devices then need new tokens)", path, err)
	}
	if doc.Hubs == nil {
		doc.Hubs = map[string]*Hub{}
	}
	return doc, nil
}

// update changes the file under an exclusive lock (odx and `odx iot`
// commands may write at the same time), then reloads it.
func (k *Keys) update(change func(*keysDoc) error) error {
	if err := os.MkdirAll(filepath.Dir(k.path), 0o700); err != nil {
		return fmt.Errorf("IoT hub keys: %w", err)
	}
	lock, err := os.OpenFile(k.path+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("IoT hub keys: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("IoT hub keys: locking %s: %w", lock.Name(), err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)

	doc, err := readKeys(k.path)
	if err != nil {
		return err
	}
	if err := change(&doc); err != nil {
		return err
	}
	raw, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(k.path), KeysFile+".tmp*")
	if err != nil {
		return fmt.Errorf("IoT hub keys: %w", err)
	}
	_, werr := tmp.Write(append(raw, '\n'))
	if werr == nil {
		werr = tmp.Sync()
	}
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(tmp.Name(), 0o600)
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), k.path)
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("IoT hub keys: writing %s: %w", k.path, werr)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.loaded = false
	return k.refreshLocked()
}

// newKey is a fresh 256-bit policy key, base64 as IoT Hub shows keys.
func newKey() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (Go 1.24+ aborts the process instead)
	return base64.StdEncoding.EncodeToString(b)
}
