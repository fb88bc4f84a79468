// Package pki gives odx its own certificate authority and HTTPS server
// certificate.
//
// The Azure SDKs refuse http authorities and bearer tokens over http, so odx
// always serves TLS. On first start Ensure creates a CA and a server
// certificate signed by it under DIR/tls; users trust DIR/tls/ca.pem
// (SSL_CERT_FILE, REQUESTS_CA_BUNDLE, NODE_EXTRA_CA_CERTS). Later starts reuse
// both, and re-issue only the server certificate when the requested host names
// change or it nears expiry, so the CA users already trust stays valid.
package pki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// File names under DIR/tls.
const (
	CAFileName         = "ca.pem"
	CAKeyFileName      = "ca-key.pem"
	ServerCertFileName = "server.pem"
	ServerKeyFileName  = "server-key.pem"
)

const (
	caValidity     = 10 * 365 * 24 * time.Hour
	serverValidity = 397 * 24 * time.Hour // the longest lifetime browsers and macOS accept
	// renewBefore re-issues the server certificate this long before it
	// expires, so a long-running odx restarted now and then never serves an
	// expired certificate.
	renewBefore = 30 * 24 * time.Hour
)

// DefaultHosts are always in the server certificate: odx listens on loopback
// unless told otherwise.
var DefaultHosts = []string{"localhost", "127.0.0.1", "::1"}

// Bundle is odx's CA and server certificate, ready to serve and to trust.
type Bundle struct {
	Dir            string // DIR/tls
	CAFile         string // PEM of the CA certificate users must trust
	ServerCertFile string
	ServerKeyFile  string

	CA         *x509.Certificate
	CertPool   *x509.CertPool // only odx's CA
	ServerCert tls.Certificate
	// ServerTLS serves ServerCert with TLS 1.2 or later. Callers may Clone it
	// and add NextProtos or client authentication.
	ServerTLS *tls.Config
	// Hosts are the DNS names and IP addresses the server certificate covers.
	Hosts []string
}

// ClientTLS returns a client configuration that trusts the system roots and
// odx's CA, for odx's own client commands and for tests.
func (b *Bundle) ClientTLS() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: withSystemRoots(b.CA)}
}

// HTTPClient returns an HTTP client that trusts odx's CA.
func (b *Bundle) HTTPClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = b.ClientTLS()
	return &http.Client{Transport: tr, Timeout: 60 * time.Second}
}

// ClientTLSFromFile returns a client configuration that trusts the system
// roots plus every certificate in the PEM file caFile (odx's ca.pem).
func ClientTLSFromFile(caFile string) (*tls.Config, error) {
	data, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("read CA file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("CA file %s holds no PEM certificate", caFile)
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool}, nil
}

func withSystemRoots(ca *x509.Certificate) *x509.CertPool {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	pool.AddCert(ca)
	return pool
}

// Ensure loads or creates the CA and server certificate under dir/tls, dir
// being odx's data directory (a dir that already ends in "tls" is used as
// is). The server certificate covers DefaultHosts plus extraHosts (DNS names
// or IP addresses; a ":port" suffix is ignored). It is re-issued when that
// set of names differs from the one on disk, when it expires within 30 days,
// or when it was not signed by the current CA.
func Ensure(dir string, extraHosts []string) (*Bundle, error) {
	tlsDir := filepath.Join(dir, "tls")
	if filepath.Base(filepath.Clean(dir)) == "tls" {
		tlsDir = filepath.Clean(dir)
	}
	if err := os.MkdirAll(tlsDir, 0o700); err != nil {
		return nil, fmt.Errorf("create TLS directory: %w", err)
	}
	hosts, err := normalizeHosts(append(slices.Clone(DefaultHosts), extraHosts...))
	if err != nil {
		return nil, err
	}
	b := &Bundle{
		Dir:            tlsDir,
		CAFile:         filepath.Join(tlsDir, CAFileName),
		ServerCertFile: filepath.Join(tlsDir, ServerCertFileName),
		ServerKeyFile:  filepath.Join(tlsDir, ServerKeyFileName),
		Hosts:          hosts,
	}
	caKeyFile := filepath.Join(tlsDir, CAKeyFileName)

	ca, caKey, err := loadPair(b.CAFile, caKeyFile)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		ca, caKey, err = createCA(b.CAFile, caKeyFile)
		if err != nil {
			return nil, err
		}
		slog.Info("created odx certificate authority", "file", b.CAFile)
	case err != nil:
		return nil, fmt.Errorf("load odx CA (delete %s to start over with a new CA that clients must trust again): %w", tlsDir, err)
	}
	b.CA = ca
	b.CertPool = x509.NewCertPool()
	b.CertPool.AddCert(ca)

	leaf, _, err := loadPair(b.ServerCertFile, b.ServerKeyFile)
	if reason := reissueReason(leaf, err, ca, b.CertPool, hosts); reason != "" {
		if err := issueServerCert(b.ServerCertFile, b.ServerKeyFile, ca, caKey, hosts); err != nil {
			return nil, err
		}
		slog.Info("issued odx server certificate", "reason", reason, "hosts", strings.Join(hosts, ","))
	}
	cert, err := tls.LoadX509KeyPair(b.ServerCertFile, b.ServerKeyFile)
	if err != nil {
		return nil, fmt.Errorf("load server certificate: %w", err)
	}
	b.ServerCert = cert
	b.ServerTLS = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	return b, nil
}

// reissueReason says why the server certificate must be issued again, or ""
// when the one on disk is fine.
func reissueReason(leaf *x509.Certificate, loadErr error, ca *x509.Certificate, roots *x509.CertPool, hosts []string) string {
	if loadErr != nil {
		if errors.Is(loadErr, fs.ErrNotExist) {
			return "first start"
		}
		return "unreadable: " + loadErr.Error()
	}
	if time.Until(leaf.NotAfter) < renewBefore {
		return "expires " + leaf.NotAfter.UTC().Format(time.RFC3339)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		return "not signed by the current CA"
	}
	if !slices.Equal(certHosts(leaf), hosts) {
		return "host names changed"
	}
	return ""
}

// normalizeHosts lower-cases names, strips ports and brackets, drops
// duplicates and empties, and sorts, so two requests for the same names
// compare equal.
func normalizeHosts(in []string) ([]string, error) {
	var out []string
	for _, h := range in {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		if net.ParseIP(strings.Trim(h, "[]")) == nil {
			if host, _, err := net.SplitHostPort(h); err == nil {
				h = host
			}
		}
		h = strings.Trim(h, "[]")
		if ip := net.ParseIP(h); ip != nil {
			h = ip.String()
		} else {
			h = strings.ToLower(strings.TrimSuffix(h, "."))
			if strings.ContainsAny(h, " /\\@") {
				return nil, fmt.Errorf("%q is neither a host name nor an IP address", h)
			}
		}
		out = append(out, h)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func certHosts(c *x509.Certificate) []string {
	names := slices.Clone(c.DNSNames)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	out, _ := normalizeHosts(names)
	return out
}

func createCA(certFile, keyFile string) (*x509.Certificate, crypto.Signer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate CA key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{CommonName: "odx local CA " + now.UTC().Format("2006-01-02"), Organization: []string{"odx"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(caValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, fmt.Errorf("create CA certificate: %w", err)
	}
	// Key first: a CA certificate without its key would be unusable.
	if err := writeKey(keyFile, key); err != nil {
		return nil, nil, err
	}
	if err := writePEM(certFile, "CERTIFICATE", der, 0o644); err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	return cert, key, nil
}

func issueServerCert(certFile, keyFile string, ca *x509.Certificate, caKey crypto.Signer, hosts []string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("generate server key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{CommonName: hosts[0], Organization: []string{"odx"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(serverValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		return fmt.Errorf("sign server certificate: %w", err)
	}
	if err := writeKey(keyFile, key); err != nil {
		return err
	}
	// The chain (leaf then CA) lets clients that were handed only the leaf
	// file still see who issued it.
	var chain bytes.Buffer
	_ = pem.Encode(&chain, &pem.Block{Type: "CERTIFICATE", Bytes: der})
	_ = pem.Encode(&chain, &pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw})
	return writeFileAtomic(certFile, chain.Bytes(), 0o644)
}

// loadPair reads a certificate and its private key. The error wraps
// fs.ErrNotExist when either file is missing.
func loadPair(certFile, keyFile string) (*x509.Certificate, crypto.Signer, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, nil, err
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, nil, err
	}
	block, _ := pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, nil, fmt.Errorf("%s holds no PEM certificate", certFile)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("parse %s: %w", certFile, err)
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil {
		return nil, nil, fmt.Errorf("%s holds no PEM key", keyFile)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("parse %s: %w", keyFile, err)
	}
	signer, ok := parsed.(crypto.Signer)
	if !ok {
		return nil, nil, fmt.Errorf("%s: unsupported key type %T", keyFile, parsed)
	}
	if pub, ok := cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool }); !ok || !pub.Equal(signer.Public()) {
		return nil, nil, fmt.Errorf("%s does not belong to %s", keyFile, certFile)
	}
	return cert, signer, nil
}

func writeKey(path string, key crypto.Signer) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("encode key: %w", err)
	}
	return writePEM(path, "PRIVATE KEY", der, 0o600)
}

func writePEM(path, blockType string, der []byte, mode os.FileMode) error {
	return writeFileAtomic(path, pem.EncodeToMemory(&pem.Block{Type: blockType, Bytes: der}), mode)
}

// writeFileAtomic writes through a temporary file and a rename, so a crash
// never leaves a half-written certificate or key behind.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func randomSerial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		// crypto/rand does not fail on supported platforms; a fixed serial
		// would still yield a valid certificate.
		return big.NewInt(time.Now().UnixNano())
	}
	return n
}
