package pki_test

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
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"odx/internal/pki"
)

func TestEnsureCreatesFilesWithPrivateKeys(t *testing.T) {
	dir := t.TempDir()
	b, err := pki.Ensure(dir, []string{"odx.example.test", "10.1.2.3"})
	if err != nil {
		t.Fatal(err)
	}
	for name, wantMode := range map[string]os.FileMode{
		"ca.pem": 0o644, "ca-key.pem": 0o600, "server.pem": 0o644, "server-key.pem": 0o600,
	} {
		fi, err := os.Stat(filepath.Join(dir, "tls", name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if fi.Mode().Perm() != wantMode {
			t.Errorf("%s mode = %v, want %v", name, fi.Mode().Perm(), wantMode)
		}
	}
	if b.CAFile != filepath.Join(dir, "tls", "ca.pem") {
		t.Errorf("CAFile = %q", b.CAFile)
	}
	if b.ServerTLS.MinVersion != tls.VersionTLS12 {
		t.Errorf("ServerTLS.MinVersion = %x, want TLS 1.2", b.ServerTLS.MinVersion)
	}
	if !b.CA.IsCA || b.CA.NotAfter.Before(time.Now().Add(9*365*24*time.Hour)) {
		t.Errorf("CA: IsCA=%v NotAfter=%v, want a CA valid about 10 years", b.CA.IsCA, b.CA.NotAfter)
	}
	leaf, err := x509.ParseCertificate(b.ServerCert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"localhost", "127.0.0.1", "::1", "odx.example.test", "10.1.2.3"} {
		if err := leaf.VerifyHostname(host); err != nil {
			t.Errorf("server certificate does not cover %s: %v", host, err)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: b.CertPool}); err != nil {
		t.Errorf("server certificate not signed by the CA: %v", err)
	}
}

func TestEnsureReusesAndReissues(t *testing.T) {
	dir := t.TempDir()
	first, err := pki.Ensure(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	again, err := pki.Ensure(dir, []string{"LOCALHOST", "127.0.0.1:8443"}) // same names, other spelling
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first.CA.Raw, again.CA.Raw) {
		t.Error("second start made a new CA; clients would have to trust it again")
	}
	if !bytes.Equal(first.ServerCert.Certificate[0], again.ServerCert.Certificate[0]) {
		t.Error("second start with the same host names re-issued the server certificate")
	}

	grown, err := pki.Ensure(dir, []string{"odx.internal"})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first.CA.Raw, grown.CA.Raw) {
		t.Error("a new host name must not replace the CA")
	}
	if bytes.Equal(first.ServerCert.Certificate[0], grown.ServerCert.Certificate[0]) {
		t.Fatal("adding a host name did not re-issue the server certificate")
	}
	if !slices.Contains(grown.Hosts, "odx.internal") {
		t.Errorf("Hosts = %v", grown.Hosts)
	}
	leaf, _ := x509.ParseCertificate(grown.ServerCert.Certificate[0])
	if err := leaf.VerifyHostname("odx.internal"); err != nil {
		t.Error(err)
	}
}

func TestEnsureReissuesCertificateOfAnotherCA(t *testing.T) {
	dir := t.TempDir()
	first, err := pki.Ensure(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Replace the server certificate by one signed by a foreign CA: Ensure
	// must notice it does not chain to odx's CA and issue a fresh one.
	other, err := pki.Ensure(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	copyFile(t, other.ServerCertFile, first.ServerCertFile)
	copyFile(t, other.ServerKeyFile, first.ServerKeyFile)
	fixed, err := pki.Ensure(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(fixed.ServerCert.Certificate[0])
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: first.CertPool}); err != nil {
		t.Errorf("foreign server certificate was kept: %v", err)
	}
}

func TestEnsureRejectsKeyOfAnotherCertificate(t *testing.T) {
	dir := t.TempDir()
	if _, err := pki.Ensure(dir, nil); err != nil {
		t.Fatal(err)
	}
	other := t.TempDir()
	if _, err := pki.Ensure(other, nil); err != nil {
		t.Fatal(err)
	}
	copyFile(t, filepath.Join(other, "tls", "ca-key.pem"), filepath.Join(dir, "tls", "ca-key.pem"))
	if _, err := pki.Ensure(dir, nil); err == nil {
		t.Fatal("Ensure accepted a CA key that does not match ca.pem")
	}
}

func TestServeAndTrust(t *testing.T) {
	b, err := pki.Ensure(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", b.ServerTLS)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	port := ln.Addr().(*net.TCPAddr).Port

	for _, host := range []string{"127.0.0.1", "localhost"} {
		url := "https://" + net.JoinHostPort(host, strconv.Itoa(port)) + "/"
		res, err := b.HTTPClient().Get(url)
		if err != nil {
			t.Fatalf("GET %s with the bundle's client: %v", url, err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if string(body) != "ok" {
			t.Errorf("body = %q", body)
		}
	}

	cfg, err := pki.ClientTLSFromFile(b.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := tls.Dial("tcp", ln.Addr().String(), cfg)
	if err != nil {
		t.Fatalf("dial trusting ca.pem: %v", err)
	}
	conn.Close()

	// Without the CA the connection must fail: the bundle is what makes it work.
	if _, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{}); err == nil {
		t.Error("connection succeeded without trusting odx's CA")
	}
	// TLS 1.1 is refused.
	old := cfg.Clone()
	old.MinVersion, old.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
	if c, err := tls.Dial("tcp", ln.Addr().String(), old); err == nil {
		c.Close()
		t.Error("server accepted TLS 1.1")
	}
}

func TestClientTLSFromFileErrors(t *testing.T) {
	if _, err := pki.ClientTLSFromFile(filepath.Join(t.TempDir(), "missing.pem")); err == nil {
		t.Error("missing file accepted")
	}
	junk := filepath.Join(t.TempDir(), "junk.pem")
	os.WriteFile(junk, pem.EncodeToMemory(&pem.Block{Type: "NOTHING", Bytes: []byte("x")}), 0o644)
	if _, err := pki.ClientTLSFromFile(junk); err == nil {
		t.Error("file without certificates accepted")
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestEnsureReissuesCertificateNearExpiry(t *testing.T) {
	dir := t.TempDir()
	first, err := pki.Ensure(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Sign, with odx's own CA key, a certificate for the same hosts that
	// expires in two days, as a long-lived data directory would have.
	caKeyPEM, err := os.ReadFile(filepath.Join(dir, "tls", "ca-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(caKeyPEM)
	caKey, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(42),
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(48 * time.Hour),
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, first.CA, key.Public(), caKey.(crypto.Signer))
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	os.WriteFile(first.ServerCertFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(first.ServerKeyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600)

	renewed, err := pki.Ensure(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(renewed.ServerCert.Certificate[0])
	if time.Until(leaf.NotAfter) < 300*24*time.Hour {
		t.Errorf("certificate expiring %v was not renewed", leaf.NotAfter)
	}
	if !bytes.Equal(first.CA.Raw, renewed.CA.Raw) {
		t.Error("renewal replaced the CA")
	}
}

func TestEnsureAcceptsTheTLSDirectoryItself(t *testing.T) {
	dir := t.TempDir()
	viaData, err := pki.Ensure(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	viaTLS, err := pki.Ensure(filepath.Join(dir, "tls"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if viaTLS.CAFile != viaData.CAFile || !bytes.Equal(viaTLS.CA.Raw, viaData.CA.Raw) {
		t.Errorf("DIR/tls gave %s, DIR gave %s; want the same CA", viaTLS.CAFile, viaData.CAFile)
	}
	if _, err := os.Stat(filepath.Join(dir, "tls", "tls")); err == nil {
		t.Error("Ensure(DIR/tls) created DIR/tls/tls")
	}
}
