package auth

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"strings"
)

// signingKey signs odx's access tokens (RS256, as Azure AD does). It is kept
// in DIR/token-signing-key.pem so tokens stay valid across restarts.
type signingKey struct {
	key *rsa.PrivateKey
	kid string
}

func loadOrCreateSigningKey(dataDir string) (*signingKey, error) {
	path := filepath.Join(dataDir, SigningKeyFileName)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, fmt.Errorf("generate token signing key: %w", err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return nil, err
		}
		if err := writeFileAtomic(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
			return nil, err
		}
		return newSigningKey(key), nil
	}
	if err != nil {
		return nil, fmt.Errorf("read token signing key: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%s holds no PEM key (delete it to make a new one; issued tokens become invalid)", path)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	key, ok := parsed.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s is a %T key, want RSA", path, parsed)
	}
	return newSigningKey(key), nil
}

func newSigningKey(key *rsa.PrivateKey) *signingKey {
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	sum := sha256.Sum256(der)
	return &signingKey{key: key, kid: base64.RawURLEncoding.EncodeToString(sum[:16])}
}

type jwtHeader struct {
	Alg string `json:"alg"`
	Typ string `json:"typ"`
	Kid string `json:"kid"`
}

// claims are the access token claims odx issues and checks: the ones Azure
// AD puts in app-only tokens that a resource server relies on.
type claims struct {
	Aud        audience `json:"aud"`
	Iss        string   `json:"iss"`
	Iat        int64    `json:"iat"`
	Nbf        int64    `json:"nbf"`
	Exp        int64    `json:"exp"`
	AppID      string   `json:"appid,omitempty"` // v1 tokens
	Azp        string   `json:"azp,omitempty"`   // v2 tokens
	AppName    string   `json:"app_displayname,omitempty"`
	IDType     string   `json:"idtyp,omitempty"`
	OID        string   `json:"oid"`
	Sub        string   `json:"sub"`
	TID        string   `json:"tid"`
	Roles      []string `json:"roles,omitempty"`
	Ver        string   `json:"ver"`
	UniqueTokI string   `json:"uti,omitempty"`
}

func (c *claims) clientID() string {
	if c.AppID != "" {
		return c.AppID
	}
	return c.Azp
}

// audience accepts "aud" as a string or an array of strings (RFC 7519).
type audience []string

func (a audience) MarshalJSON() ([]byte, error) {
	if len(a) == 1 {
		return json.Marshal(a[0])
	}
	return json.Marshal([]string(a))
}

func (a *audience) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = audience{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New(`"aud" is neither a string nor a list of strings`)
	}
	*a = many
	return nil
}

func (k *signingKey) sign(c *claims) (string, error) {
	h, err := json.Marshal(jwtHeader{Alg: "RS256", Typ: "JWT", Kid: k.kid})
	if err != nil {
		return "", err
	}
	p, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	signed := enc.EncodeToString(h) + "." + enc.EncodeToString(p)
	digest := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, k.key, crypto.SHA256, digest[:])
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return signed + "." + enc.EncodeToString(sig), nil
}

// errForeignToken: the token is well formed but not signed by this odx.
var errForeignToken = errors.New("token was not signed by this odx")

// parse checks the token's shape and signature and returns its claims. It
// does not check times, audience or tenant.
func (k *signingKey) parse(token string) (*claims, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, errors.New("token is not a JWT (want three dot-separated parts)")
	}
	enc := base64.RawURLEncoding
	hb, err := enc.DecodeString(parts[0])
	if err != nil {
		return nil, errors.New("token header is not base64url")
	}
	var h jwtHeader
	if err := json.Unmarshal(hb, &h); err != nil {
		return nil, errors.New("token header is not JSON")
	}
	if h.Alg != "RS256" {
		return nil, fmt.Errorf("token algorithm %q is not accepted (want RS256)", h.Alg)
	}
	if h.Kid != k.kid {
		return nil, errForeignToken
	}
	sig, err := enc.DecodeString(parts[2])
	if err != nil {
		return nil, errors.New("token signature is not base64url")
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(&k.key.PublicKey, crypto.SHA256, digest[:], sig); err != nil {
		return nil, errForeignToken
	}
	pb, err := enc.DecodeString(parts[1])
	if err != nil {
		return nil, errors.New("token payload is not base64url")
	}
	var c claims
	if err := json.Unmarshal(pb, &c); err != nil {
		return nil, fmt.Errorf("token claims: %w", err)
	}
	return &c, nil
}

// jwks is the public half of the signing key as a JSON Web Key Set.
func (k *signingKey) jwks() map[string]any {
	pub := k.key.PublicKey
	enc := base64.RawURLEncoding
	return map[string]any{"keys": []map[string]any{{
		"kty": "RSA",
		"use": "sig",
		"alg": "RS256",
		"kid": k.kid,
		"n":   enc.EncodeToString(pub.N.Bytes()),
		"e":   enc.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}}}
}
