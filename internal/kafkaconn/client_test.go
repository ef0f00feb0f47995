package kafkaconn

import (
	"context"
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
)

func TestConnectUnreachableFailsWithinTimeout(t *testing.T) {
	// A listener that accepts TCP but never answers: the case where kgo
	// would otherwise wait and retry for a long time.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	// A port with nothing listening: connection refused.
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refusedAddr := closed.Addr().String()
	closed.Close()

	for _, tc := range []struct {
		name, addr, want string
	}{
		{"silent listener", silent.Addr().String(), "no answer within 700ms"},
		{"connection refused", refusedAddr, "check the addresses and that the brokers are running"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			_, err := Connect(context.Background(), Options{Bootstrap: []string{tc.addr}, DialTimeout: 700 * time.Millisecond})
			took := time.Since(start)
			if err == nil {
				t.Fatal("connected to an unreachable bootstrap server")
			}
			if took > 3*time.Second {
				t.Errorf("took %s to fail, want about the 700ms dial timeout", took)
			}
			if !strings.Contains(err.Error(), tc.addr) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not name %s and say %q", err, tc.addr, tc.want)
			}
		})
	}
}

func TestConnectSCRAMAndPlain(t *testing.T) {
	const user, pass = "admin", "s3cret-pw"
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.EnableSASL(),
		kfake.Superuser("SCRAM-SHA-256", user, pass),
		kfake.Superuser("SCRAM-SHA-512", user, pass),
		kfake.Superuser("PLAIN", user, pass))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, mech := range AllSASLMechanisms {
		t.Run(string(mech), func(t *testing.T) {
			o := Options{Bootstrap: c.ListenAddrs(), DialTimeout: 3 * time.Second,
				SASL: SASLOptions{Mechanism: mech, User: user, Password: pass}}
			cl, err := Connect(context.Background(), o)
			if err != nil {
				t.Fatalf("right password: %v", err)
			}
			if _, err := cl.Admin.BrokerMetadata(context.Background()); err != nil {
				t.Errorf("metadata after %s login: %v", mech, err)
			}
			cl.Close()

			o.SASL.Password = "wrong-pw"
			_, err = Connect(context.Background(), o)
			if err == nil {
				t.Fatal("wrong password accepted")
			}
			if !strings.Contains(err.Error(), "wrong user or password") || !strings.Contains(err.Error(), `user "admin"`) {
				t.Errorf("wrong password error is not clear: %v", err)
			}
			if strings.Contains(err.Error(), "wrong-pw") || strings.Contains(err.Error(), pass) {
				t.Errorf("error leaks the password: %v", err)
			}
		})
	}
}

func TestConnectTLS(t *testing.T) {
	dir := t.TempDir()
	caPEM, serverCert := testCA(t, "127.0.0.1")
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.TLS(&tls.Config{Certificates: []tls.Certificate{serverCert}, MinVersion: tls.VersionTLS12}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	cl, err := Connect(context.Background(), Options{Bootstrap: c.ListenAddrs(), DialTimeout: 3 * time.Second, TLS: TLSOptions{CAFile: caFile}})
	if err != nil {
		t.Fatalf("TLS with the right CA: %v", err)
	}
	cl.Close()

	otherCA, _ := testCA(t, "127.0.0.1")
	otherFile := filepath.Join(dir, "other.pem")
	if err := os.WriteFile(otherFile, otherCA, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Connect(context.Background(), Options{Bootstrap: c.ListenAddrs(), DialTimeout: 2 * time.Second, TLS: TLSOptions{CAFile: otherFile}})
	if err == nil || !strings.Contains(err.Error(), "not trusted") {
		t.Errorf("TLS with a CA that did not sign the broker: got %v, want a 'not trusted' error", err)
	}
}

// testCA makes a CA and a server certificate for host signed by it.
func testCA(t *testing.T, host string) ([]byte, tls.Certificate) {
	t.Helper()
	ca := newTestAuthority(t)
	return ca.pem, ca.issue(t, host, x509.ExtKeyUsageServerAuth)
}

// testAuthority is a CA that issues certificates for tests.
type testAuthority struct {
	pem  []byte
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newTestAuthority(t *testing.T) *testAuthority {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "kshift test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	return &testAuthority{pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), cert: ca, key: caKey}
}

// issue makes a certificate for host with the given use, signed by the CA.
func (a *testAuthority) issue(t *testing.T, host string, use x509.ExtKeyUsage) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP(host)}, ExtKeyUsage: []x509.ExtKeyUsage{use},
		KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, &key.PublicKey, a.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// writePair writes a certificate and its unencrypted key as PEM files.
func writePair(t *testing.T, dir string, c tls.Certificate) (certFile, keyFile string) {
	t.Helper()
	keyDER, err := x509.MarshalPKCS8PrivateKey(c.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "client.pem"), filepath.Join(dir, "client.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func TestConnectMutualTLS(t *testing.T) {
	dir := t.TempDir()
	ca := newTestAuthority(t)
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, ca.pem, 0o600); err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.TLS(&tls.Config{
		Certificates: []tls.Certificate{ca.issue(t, "127.0.0.1", x509.ExtKeyUsageServerAuth)},
		ClientCAs:    pool, ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12,
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	certFile, keyFile := writePair(t, dir, ca.issue(t, "127.0.0.1", x509.ExtKeyUsageClientAuth))

	o := Options{Bootstrap: c.ListenAddrs(), DialTimeout: 2 * time.Second, TLS: TLSOptions{CAFile: caFile, CertFile: certFile, KeyFile: keyFile}}
	cl, err := Connect(context.Background(), o)
	if err != nil {
		t.Fatalf("with a client certificate: %v", err)
	}
	cl.Close()

	o.TLS.CertFile, o.TLS.KeyFile = "", ""
	if _, err := Connect(context.Background(), o); err == nil {
		t.Error("connected without the client certificate the broker requires")
	}
	o.TLS.CertFile, o.TLS.KeyFile = certFile, caFile
	if _, err := Connect(context.Background(), o); err == nil || !strings.Contains(err.Error(), "cannot load TLS client certificate") {
		t.Errorf("key file that is not a key: %v", err)
	}
}
