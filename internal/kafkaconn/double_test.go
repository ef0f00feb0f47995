package kafkaconn

import (
	"context"
	"crypto/tls"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kshift/kshift/kafkasim"
)

// The Kafka double answers a failed login with error 58 before closing the
// connection, as Kafka does; kshift must say so plainly.
func TestConnectDoubleTLSAndSCRAM(t *testing.T) {
	caPEM, cert := testCA(t, "127.0.0.1")
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, mech := range []SASLMechanism{SASLScramSHA256, SASLScramSHA512, SASLPlain} {
		t.Run(string(mech), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			d, err := kafkasim.Start(ctx, kafkasim.Config{
				Brokers:       []kafkasim.BrokerConfig{{ID: 1}, {ID: 2}},
				TLS:           &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
				SASLMechanism: string(mech),
				SASLUsers:     []kafkasim.SASLUser{{User: "kshift", Password: "right-pw"}},
			})
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			o := Options{Bootstrap: d.Bootstrap(), DialTimeout: 3 * time.Second,
				TLS:  TLSOptions{CAFile: caFile},
				SASL: SASLOptions{Mechanism: mech, User: "kshift", Password: "right-pw"}}
			cl, err := Connect(ctx, o)
			if err != nil {
				t.Fatalf("TLS + %s with the right password: %v", mech, err)
			}
			m, err := cl.Admin.BrokerMetadata(ctx)
			cl.Close()
			if err != nil || len(m.Brokers) != 2 {
				t.Fatalf("metadata over TLS + %s: %v %v", mech, m.Brokers, err)
			}

			o.SASL.Password = "wrong-pw"
			start := time.Now()
			_, err = Connect(ctx, o)
			if err == nil {
				t.Fatal("wrong password accepted")
			}
			if !strings.Contains(err.Error(), "wrong user or password") || strings.Contains(err.Error(), "wrong-pw") {
				t.Errorf("wrong password: unclear or leaking error: %v", err)
			}
			if time.Since(start) > 3*time.Second {
				t.Errorf("wrong password took %s to fail", time.Since(start))
			}

			// Plaintext against the TLS listener fails within the timeout.
			o.SASL.Password, o.TLS, o.DialTimeout = "right-pw", TLSOptions{}, time.Second
			if _, err := Connect(ctx, o); err == nil {
				t.Error("plaintext client connected to a TLS listener")
			}
		})
	}
}

// A SASL login against a listener without SASL is answered with
// ILLEGAL_SASL_STATE before any password is checked: kshift says the
// listener does not use SASL, not "wrong password".
func TestConnectSASLToPlainListener(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := kafkasim.Start(ctx, kafkasim.Config{Brokers: []kafkasim.BrokerConfig{{ID: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, mech := range AllSASLMechanisms {
		_, err := Connect(ctx, Options{Bootstrap: d.Bootstrap(), DialTimeout: 3 * time.Second,
			SASL: SASLOptions{Mechanism: mech, User: "kshift", Password: "some-pw"}})
		if err == nil {
			t.Fatalf("%s: connected", mech)
		}
		if msg := err.Error(); !strings.Contains(msg, "the listener does not use SASL") || strings.Contains(msg, "wrong user or password") || strings.Contains(msg, "some-pw") {
			t.Errorf("%s against a plain listener: %v", mech, err)
		}
	}
}
