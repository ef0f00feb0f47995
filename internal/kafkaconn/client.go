package kafkaconn

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// MetadataMinAge is how stale cached metadata may be. kadm answers Metadata
// from the client's cache for this long (5 s by default), too long for a
// poll loop watching a move finish (CONTRIBUTING.md, kadm traps).
const MetadataMinAge = 100 * time.Millisecond

// requestRetries bounds retries of one request; RequestTimeout bounds the
// total, and kgo would otherwise retry 20 times.
const requestRetries = 5

// Clients are the connections to one cluster. Close them when done.
type Clients struct {
	// Kafka is the low-level client, for raw kmsg requests.
	Kafka *kgo.Client
	// Admin wraps Kafka for the admin API.
	Admin *kadm.Client
	// Options are the options the clients were built from, with defaults
	// filled in (secrets included: never serialise them beyond their tags).
	Options Options
}

// Close closes the connections.
func (c *Clients) Close() { c.Kafka.Close() }

// Connect builds the clients and proves the connection works by getting an
// answer from a bootstrap server within opts.DialTimeout. It fails with a
// message naming the servers and the likely cause instead of retrying
// forever.
func Connect(ctx context.Context, opts Options) (*Clients, error) {
	opts = opts.WithDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	kopts, err := clientOpts(opts)
	if err != nil {
		return nil, err
	}
	cl, err := kgo.NewClient(kopts...)
	if err != nil {
		return nil, fmt.Errorf("cannot build a Kafka client for %v: %w", opts.Bootstrap, err)
	}
	if err := ping(ctx, cl, opts.DialTimeout); err != nil {
		cl.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, explainConnectError(opts, err)
	}
	adm := kadm.NewClient(cl)
	adm.SetTimeoutMillis(int32(opts.RequestTimeout / time.Millisecond))
	return &Clients{Kafka: cl, Admin: adm, Options: opts}, nil
}

// ping waits at most timeout for any bootstrap server to answer. kgo stops
// waiting for an answer that was already requested only at its read timeout,
// whatever the context says, so a listener that accepts and never answers
// would hold Ping for that long: the client is closed instead, which ends it.
func ping(ctx context.Context, cl *kgo.Client, timeout time.Duration) error {
	pingCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- cl.Ping(pingCtx) }()
	select {
	case err := <-done:
		return err
	case <-pingCtx.Done():
		cl.Close()
		<-done
		return pingCtx.Err()
	}
}

func clientOpts(opts Options) ([]kgo.Opt, error) {
	kopts := []kgo.Opt{
		kgo.SeedBrokers(opts.Bootstrap...),
		kgo.ClientID(opts.ClientID),
		kgo.DialTimeout(opts.DialTimeout),
		kgo.RequestRetries(requestRetries),
		kgo.RetryTimeout(opts.RequestTimeout),
		kgo.MetadataMinAge(MetadataMinAge),
		kgo.MetadataMaxAge(30 * time.Second),
		// Admin requests such as DescribeLogDirs on a large broker can take
		// a while to answer; allow for it beyond the request's own timeout.
		kgo.RequestTimeoutOverhead(opts.RequestTimeout),
	}
	if opts.TLS.TLSEnabled() {
		cfg, err := tlsConfig(opts.TLS)
		if err != nil {
			return nil, badOptions(err)
		}
		kopts = append(kopts, kgo.DialTLSConfig(cfg))
	}
	if m := saslMechanism(opts.SASL); m != nil {
		kopts = append(kopts, kgo.SASL(m))
	}
	return kopts, nil
}

func tlsConfig(t TLSOptions) (*tls.Config, error) {
	cfg := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         t.ServerName,
		InsecureSkipVerify: t.InsecureSkipVerify, //nolint:gosec // an explicit operator choice, for test clusters
	}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("cannot read the TLS CA file (--tls-ca): %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("TLS CA file %s holds no PEM certificate", t.CAFile)
		}
		cfg.RootCAs = pool
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("cannot load TLS client certificate %s with key %s (an unencrypted PEM pair is needed): %w", t.CertFile, t.KeyFile, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

func saslMechanism(s SASLOptions) sasl.Mechanism {
	switch s.Mechanism {
	case SASLPlain:
		return plain.Auth{User: s.User, Pass: s.Password}.AsMechanism()
	case SASLScramSHA256:
		return scram.Auth{User: s.User, Pass: s.Password}.AsSha256Mechanism()
	case SASLScramSHA512:
		return scram.Auth{User: s.User, Pass: s.Password}.AsSha512Mechanism()
	}
	return nil
}

// explainConnectError turns a failed first contact into a message saying what
// failed and what to check. It never includes a secret.
func explainConnectError(opts Options, err error) error {
	servers := strings.Join(opts.Bootstrap, ",")
	var tlsErr *tls.CertificateVerificationError
	var recordErr tls.RecordHeaderError
	var netErr net.Error
	passwordFrom := ShowEnvName(opts.SASL.PasswordEnv, "--sasl-password-env")
	switch {
	case errors.Is(err, kerr.IllegalSaslState):
		// Kafka answers a SASL handshake on a listener without SASL
		// (PLAINTEXT or SSL) with ILLEGAL_SASL_STATE: no password was checked.
		return fmt.Errorf("cannot connect to %s: the listener does not use SASL (it answered the SASL %s handshake with ILLEGAL_SASL_STATE, before any password was checked): it is a PLAINTEXT or SSL listener; leave out --sasl-mechanism, or give the address of the SASL_PLAINTEXT or SASL_SSL listener: %w",
			servers, opts.SASL.Mechanism, err)
	case errors.Is(err, kerr.SaslAuthenticationFailed):
		return fmt.Errorf("cannot connect to %s: SASL %s authentication as user %q failed: wrong user or password (the password comes from %s): %w",
			servers, opts.SASL.Mechanism, opts.SASL.User, passwordFrom, err)
	case opts.SASL.Mechanism != SASLNone && errors.Is(err, io.EOF):
		// Some brokers close the connection on a failed login instead of
		// answering with an error code.
		return fmt.Errorf("cannot connect to %s: the broker closed the connection during SASL %s login as user %q: wrong user or password (the password comes from %s), or %s is not enabled on this listener: %w",
			servers, opts.SASL.Mechanism, opts.SASL.User, passwordFrom, opts.SASL.Mechanism, err)
	case errors.Is(err, kerr.UnsupportedSaslMechanism):
		return fmt.Errorf("cannot connect to %s: the brokers do not accept SASL %s: check --sasl-mechanism: %w", servers, opts.SASL.Mechanism, err)
	case errors.As(err, &tlsErr):
		return fmt.Errorf("cannot connect to %s: the broker's TLS certificate is not trusted: check --tls-ca and --tls-server-name: %w", servers, err)
	case errors.As(err, &recordErr):
		return fmt.Errorf("cannot connect to %s: the server did not answer TLS: is this a plaintext listener? %w", servers, err)
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return fmt.Errorf("cannot connect to %s: no answer within %s: check the addresses, the network, and whether the listener expects TLS or SASL (--tls, --sasl-mechanism): %w",
			servers, opts.DialTimeout, err)
	default:
		return fmt.Errorf("cannot connect to %s within %s: check the addresses and that the brokers are running: %w", servers, opts.DialTimeout, err)
	}
}
