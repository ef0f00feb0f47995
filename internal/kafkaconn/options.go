// Package kafkaconn owns how kshift connects to a live cluster: the connection
// options (bootstrap servers, TLS, SASL, ZooKeeper, timeouts), the cluster
// profile file, secrets taken from the environment, and the franz-go clients
// built from them with bounded timeouts.
//
// It must not read or change cluster state beyond proving the connection
// works, and it must never write a secret anywhere: secrets live only in
// fields that no encoder serialises.
package kafkaconn

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// SASLMechanism is how kshift authenticates to the brokers.
type SASLMechanism string

const (
	// SASLNone sends no SASL handshake.
	SASLNone SASLMechanism = ""
	// SASLPlain sends the user and password in clear (use with TLS only).
	SASLPlain SASLMechanism = "PLAIN"
	// SASLScramSHA256 is SCRAM with SHA-256.
	SASLScramSHA256 SASLMechanism = "SCRAM-SHA-256"
	// SASLScramSHA512 is SCRAM with SHA-512.
	SASLScramSHA512 SASLMechanism = "SCRAM-SHA-512"
)

// AllSASLMechanisms lists every mechanism kshift accepts (besides none).
var AllSASLMechanisms = []SASLMechanism{SASLPlain, SASLScramSHA256, SASLScramSHA512}

// Environment variables that carry secrets. Secrets are never taken from
// flags (they would show in ps and shell history) nor from profile files.
const (
	// EnvSASLPassword is the default variable holding the SASL password.
	EnvSASLPassword = "KSHIFT_SASL_PASSWORD"
	// EnvZKDigest is the default variable holding the ZooKeeper digest
	// credentials "user:password".
	EnvZKDigest = "KSHIFT_ZK_DIGEST"
)

// Default timeouts.
const (
	DefaultDialTimeout    = 10 * time.Second
	DefaultRequestTimeout = 30 * time.Second
	DefaultClientID       = "kshift"
)

// Options say how to reach one cluster. The zero value plus Bootstrap is a
// plaintext, unauthenticated connection with default timeouts.
type Options struct {
	// Bootstrap are host:port addresses of some brokers.
	Bootstrap []string `yaml:"bootstrap,flow" json:"bootstrap"`
	ClientID  string   `yaml:"client_id,omitempty" json:"client_id,omitempty"`
	// DialTimeout bounds connecting to the cluster: dialing one broker, and
	// the first successful answer from any bootstrap server.
	DialTimeout time.Duration `yaml:"dial_timeout,omitempty" json:"dial_timeout,omitempty"`
	// RequestTimeout bounds one admin request including its retries.
	RequestTimeout time.Duration    `yaml:"request_timeout,omitempty" json:"request_timeout,omitempty"`
	TLS            TLSOptions       `yaml:"tls,omitempty" json:"tls,omitempty"`
	SASL           SASLOptions      `yaml:"sasl,omitempty" json:"sasl,omitempty"`
	ZooKeeper      ZooKeeperOptions `yaml:"zookeeper,omitempty" json:"zookeeper,omitempty"`
}

// TLSOptions configure TLS to the brokers.
type TLSOptions struct {
	Enabled bool `yaml:"enabled,omitempty" json:"enabled,omitempty"`
	// CAFile is a PEM bundle of the CAs that signed the brokers' certificates;
	// empty means the system pool.
	CAFile string `yaml:"ca_file,omitempty" json:"ca_file,omitempty"`
	// CertFile and KeyFile are a PEM client certificate and its unencrypted key
	// for mutual TLS.
	CertFile   string `yaml:"cert_file,omitempty" json:"cert_file,omitempty"`
	KeyFile    string `yaml:"key_file,omitempty" json:"key_file,omitempty"`
	ServerName string `yaml:"server_name,omitempty" json:"server_name,omitempty"`
	// InsecureSkipVerify accepts any broker certificate. For tests only.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify,omitempty" json:"insecure_skip_verify,omitempty"`
}

// SASLOptions configure SASL authentication. Password is a secret: it is
// filled from the environment only and never serialised.
type SASLOptions struct {
	Mechanism SASLMechanism `yaml:"mechanism,omitempty" json:"mechanism,omitempty"`
	User      string        `yaml:"user,omitempty" json:"user,omitempty"`
	// PasswordEnv names the environment variable holding the password
	// (default KSHIFT_SASL_PASSWORD).
	PasswordEnv string `yaml:"password_env,omitempty" json:"password_env,omitempty"`
	Password    string `yaml:"-" json:"-"`
}

// ZooKeeperOptions say how to reach the cluster's ZooKeeper ensemble. Digest
// is a secret ("user:password"): environment only, never serialised.
type ZooKeeperOptions struct {
	// Connect is Kafka's zookeeper.connect: host:port,host:port/chroot.
	Connect string `yaml:"connect,omitempty" json:"connect,omitempty"`
	// DigestEnv names the environment variable holding "user:password" for
	// digest auth (default KSHIFT_ZK_DIGEST).
	DigestEnv      string        `yaml:"digest_env,omitempty" json:"digest_env,omitempty"`
	SessionTimeout time.Duration `yaml:"session_timeout,omitempty" json:"session_timeout,omitempty"`
	Digest         string        `yaml:"-" json:"-"`
}

// Servers returns the host:port list of Connect, without the chroot.
func (z ZooKeeperOptions) Servers() []string {
	hosts, _ := splitChroot(z.Connect)
	var out []string
	for _, h := range strings.Split(hosts, ",") {
		if h = strings.TrimSpace(h); h != "" {
			out = append(out, h)
		}
	}
	return out
}

// Chroot returns the chroot of Connect, "/" when there is none.
func (z ZooKeeperOptions) Chroot() string {
	_, chroot := splitChroot(z.Connect)
	return chroot
}

func splitChroot(connect string) (hosts, chroot string) {
	if i := strings.IndexByte(connect, '/'); i >= 0 {
		chroot = strings.TrimRight(connect[i:], "/")
		if chroot == "" {
			chroot = "/"
		}
		return connect[:i], chroot
	}
	return connect, "/"
}

// WithDefaults returns o with empty timeouts, client id and secret variable
// names set to their defaults.
func (o Options) WithDefaults() Options {
	if o.ClientID == "" {
		o.ClientID = DefaultClientID
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = DefaultDialTimeout
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = DefaultRequestTimeout
	}
	if o.SASL.PasswordEnv == "" {
		o.SASL.PasswordEnv = EnvSASLPassword
	}
	if o.ZooKeeper.DigestEnv == "" {
		o.ZooKeeper.DigestEnv = EnvZKDigest
	}
	if o.ZooKeeper.SessionTimeout <= 0 {
		o.ZooKeeper.SessionTimeout = 10 * time.Second
	}
	return o
}

// ResolveSecrets fills the SASL password and the ZooKeeper digest from the
// environment variables the options name, using getenv (os.Getenv in the
// binary). A secret already set is kept.
func (o *Options) ResolveSecrets(getenv func(string) string) {
	if o.SASL.Password == "" && o.SASL.PasswordEnv != "" {
		o.SASL.Password = getenv(o.SASL.PasswordEnv)
	}
	if o.ZooKeeper.Digest == "" && o.ZooKeeper.DigestEnv != "" {
		o.ZooKeeper.Digest = getenv(o.ZooKeeper.DigestEnv)
	}
}

// Validate reports every problem of the options at once.
func (o *Options) Validate() error {
	var errs []error
	if len(o.Bootstrap) == 0 {
		errs = append(errs, errors.New("no bootstrap servers: give --bootstrap host:port or a profile with bootstrap"))
	}
	for _, b := range o.Bootstrap {
		if b == "" || strings.ContainsAny(b, " /") {
			errs = append(errs, fmt.Errorf("bootstrap server %q is not host:port", b))
		}
	}
	if o.DialTimeout < 0 || o.RequestTimeout < 0 {
		errs = append(errs, errors.New("timeouts must not be negative"))
	}
	switch o.SASL.Mechanism {
	case SASLNone:
		if o.SASL.User != "" {
			errs = append(errs, errors.New("a SASL user is set but no SASL mechanism: give --sasl-mechanism"))
		}
	case SASLPlain, SASLScramSHA256, SASLScramSHA512:
		if o.SASL.User == "" {
			errs = append(errs, fmt.Errorf("SASL %s needs a user (--sasl-user)", o.SASL.Mechanism))
		}
		if o.SASL.Password == "" {
			errs = append(errs, fmt.Errorf("SASL %s needs a password: set the environment variable %s", o.SASL.Mechanism, o.SASL.PasswordEnv))
		}
	default:
		errs = append(errs, fmt.Errorf("SASL mechanism %q is not one of %v", o.SASL.Mechanism, AllSASLMechanisms))
	}
	if (o.TLS.CertFile == "") != (o.TLS.KeyFile == "") {
		errs = append(errs, errors.New("TLS client certificate and key go together: give both --tls-cert and --tls-key"))
	}
	if o.ZooKeeper.Connect != "" {
		if len(o.ZooKeeper.Servers()) == 0 {
			errs = append(errs, fmt.Errorf("zookeeper connect %q names no servers", o.ZooKeeper.Connect))
		}
		if d := o.ZooKeeper.Digest; d != "" && !strings.Contains(d, ":") {
			errs = append(errs, fmt.Errorf("zookeeper digest from %s must be user:password", o.ZooKeeper.DigestEnv))
		}
	}
	return errors.Join(errs...)
}

// TLSEnabled reports whether any TLS setting asks for TLS.
func (t TLSOptions) TLSEnabled() bool {
	return t.Enabled || t.CAFile != "" || t.CertFile != "" || t.InsecureSkipVerify || t.ServerName != ""
}
