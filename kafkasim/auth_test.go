package kafkasim

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// selfSigned returns a server TLS config for 127.0.0.1 and a pool trusting it.
func selfSigned(t *testing.T) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "kafkasim"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, pool
}

// authCluster starts a cluster with TLS and SASL and returns it with the
// client TLS config.
func authCluster(t *testing.T, mechanism string) (*Cluster, *tls.Config) {
	t.Helper()
	server, pool := selfSigned(t)
	c, _, _ := start(t, Config{
		Brokers:       []BrokerConfig{{ID: 0}, {ID: 1}},
		TLS:           server,
		SASLMechanism: mechanism,
		SASLUsers:     []SASLUser{{User: "kshift", Password: "s3cret"}},
	})
	return c, &tls.Config{RootCAs: pool}
}

func mechanism(name, user, pass string) sasl.Mechanism {
	switch name {
	case SASLPlain:
		return plain.Auth{User: user, Pass: pass}.AsMechanism()
	case SASLScramSHA256:
		return scram.Auth{User: user, Pass: pass}.AsSha256Mechanism()
	}
	return scram.Auth{User: user, Pass: pass}.AsSha512Mechanism()
}

// TLS with SASL PLAIN and SCRAM: the right password works, a wrong one fails
// with Kafka's SASL_AUTHENTICATION_FAILED.
func TestTLSAndSASL(t *testing.T) {
	for _, mech := range allSASLMechanisms {
		t.Run(mech, func(t *testing.T) {
			c, clientTLS := authCluster(t, mech)
			good := kadm.NewClient(client(t, c, kgo.DialTLSConfig(clientTLS), kgo.SASL(mechanism(mech, "kshift", "s3cret"))))
			md, err := good.Metadata(ctx(t))
			if err != nil || len(md.Brokers) != 2 {
				t.Fatalf("right password: %v %+v", err, md.Brokers)
			}
			bad := kadm.NewClient(client(t, c, kgo.DialTLSConfig(clientTLS), kgo.SASL(mechanism(mech, "kshift", "wrong"))))
			_, err = bad.Metadata(ctx(t))
			if err == nil || !strings.Contains(err.Error(), "SASL_AUTHENTICATION_FAILED") {
				t.Errorf("wrong password: %v, want SASL_AUTHENTICATION_FAILED", err)
			}
		})
	}
}

// A client without TLS cannot talk to a TLS listener.
func TestTLSListenerRefusesPlaintext(t *testing.T) {
	c, _ := authCluster(t, SASLPlain)
	adm := kadm.NewClient(client(t, c, kgo.SASL(mechanism(SASLPlain, "kshift", "s3cret")), kgo.DialTimeout(time.Second)))
	if _, err := adm.Metadata(ctx(t)); err == nil {
		t.Error("plaintext client got metadata from a TLS listener")
	}
}
