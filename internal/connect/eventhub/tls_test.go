package eventhub_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"

	"odx/internal/connect"
	"odx/internal/connect/connecttest"
	"odx/internal/connect/eventhub"
)

// testCA makes a CA and a server certificate for 127.0.0.1; it writes the
// CA to a PEM file and returns the server's TLS config.
func testCA(t *testing.T) (caFile string, server *tls.Config) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "odx test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caFile = filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600)
	return caFile, &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}

// Event Hubs' shape: SASL PLAIN over TLS, trusting a CA from caFile. A
// connection without the CA fails with a certificate error, visibly.
func TestTLSWithSASL(t *testing.T) {
	const cs = "Endpoint=sb://tls-ns.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=a2V5"
	caFile, serverTLS := testCA(t)
	broker, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.TLS(serverTLS), kfake.SeedTopics(4, "secure"),
		kfake.EnableSASL(), kfake.Superuser("PLAIN", "$ConnectionString", cs))
	if err != nil {
		t.Fatal(err)
	}
	defer broker.Close()
	addr := broker.ListenAddrs()[0]
	sasl := &eventhub.SASL{Mechanism: "PLAIN", Username: "$ConnectionString", Password: cs}
	conn := eventhub.New(eventhub.Options{ClientOptions: fastGroup, Namespaces: map[string]eventhub.Endpoint{
		"tls-ns":    {Brokers: []string{addr}, TLS: true, CAFile: caFile, SASL: sasl},
		"untrusted": {Brokers: []string{addr}, TLS: true, SASL: sasl},
	}})
	sink := connecttest.NewSink(testPolicy)
	m := newManager(t, sink, conn)
	good := spec("tls", "tls-ns", "secure")
	bad := spec("untrusted", "untrusted", "secure")
	bad.ConsumerGroup = "other"
	for _, s := range []connect.Spec{good, bad} {
		if err := m.Apply(t.Context(), s); err != nil {
			t.Fatal(err)
		}
	}
	pool := x509.NewCertPool()
	pem, _ := os.ReadFile(caFile)
	pool.AppendCertsFromPEM(pem)
	p := producer(t, addr, kgo.DialTLSConfig(&tls.Config{RootCAs: pool}), kgo.SASL(plain.Auth{User: "$ConnectionString", Pass: cs}.AsMechanism()))
	recs := numbered("secure", "tls", 0, 12)
	produce(t, p, recs...)
	sink.WaitItems(t, len(recs), waitLong)
	assertExactlyOnce(t, sink, bodies(recs))
	st := waitState(t, m, bad.ID, connect.Retrying, waitLong)
	if !strings.Contains(st.LastError, "not trusted (set caFile") {
		t.Fatalf("untrusted broker error does not mention the certificate: %q", st.LastError)
	}
}
