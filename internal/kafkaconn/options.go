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
	"regexp"
	"strings"
	"time"

	"github.com/kshift/kshift/internal/zkdial"
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
	c, _ := zkdial.Parse(z.Connect)
	return c.Servers
}

// Chroot returns the chroot of Connect, "/" when there is none.
func (z ZooKeeperOptions) Chroot() string {
	c, _ := zkdial.Parse(z.Connect)
	return c.Chroot
}

// WithDefaults returns o with unset (zero) timeouts, client id and secret
// variable names set to their defaults.
func (o Options) WithDefaults() Options {
	if o.ClientID == "" {
		o.ClientID = DefaultClientID
	}
	// A negative timeout is kept for Validate to refuse.
	if o.DialTimeout == 0 {
		o.DialTimeout = DefaultDialTimeout
	}
	if o.RequestTimeout == 0 {
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

// ErrBadOptions marks errors in the options themselves (a flag or profile
// value, a TLS file that cannot be read): the person's input is wrong, not
// the cluster.
var ErrBadOptions = errors.New("bad connection options")

// badOptions marks err with ErrBadOptions; nil stays nil.
func badOptions(err error) error {
	if err == nil {
		return nil
	}
	return &optionsError{err}
}

type optionsError struct{ err error }

func (e *optionsError) Error() string   { return e.err.Error() }
func (e *optionsError) Unwrap() []error { return []error{ErrBadOptions, e.err} }

// Validate reports every problem of the options at once (ErrBadOptions).
func (o *Options) Validate() error {
	var errs []error
	if len(o.Bootstrap) == 0 {
		errs = append(errs, errors.New("no bootstrap servers: give --bootstrap host:port or a profile with bootstrap"))
	}
	for i, b := range o.Bootstrap {
		switch {
		case strings.Contains(b, "@"):
			// Not echoed: it holds a password.
			errs = append(errs, fmt.Errorf("bootstrap server %d holds credentials (user:password@host): kshift never takes a secret from a flag or a profile; give --sasl-user and put the password in an environment variable named by --sasl-password-env (default %s)", i+1, EnvSASLPassword))
		case b == "" || strings.ContainsAny(b, " /"):
			errs = append(errs, fmt.Errorf("bootstrap server %q is not host:port", b))
		}
	}
	if o.DialTimeout < 0 {
		errs = append(errs, fmt.Errorf("dial timeout %s is negative: give a positive --dial-timeout (or dial_timeout in the profile)", o.DialTimeout))
	}
	if o.RequestTimeout < 0 {
		errs = append(errs, fmt.Errorf("request timeout %s is negative: give a positive --request-timeout (or request_timeout in the profile)", o.RequestTimeout))
	}
	if o.SASL.PasswordEnv != "" && !validEnvName.MatchString(o.SASL.PasswordEnv) {
		errs = append(errs, notAnEnvName("--sasl-password-env (sasl.password_env in a profile)", "the SASL password"))
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
		if o.SASL.Password == "" && validEnvName.MatchString(o.SASL.PasswordEnv) {
			errs = append(errs, fmt.Errorf("SASL %s needs a password: set %s", o.SASL.Mechanism, ShowEnvName(o.SASL.PasswordEnv, "--sasl-password-env")))
		}
	default:
		errs = append(errs, fmt.Errorf("SASL mechanism %q is not one of %v", o.SASL.Mechanism, AllSASLMechanisms))
	}
	if (o.TLS.CertFile == "") != (o.TLS.KeyFile == "") {
		errs = append(errs, errors.New("TLS client certificate and key go together: give both --tls-cert and --tls-key"))
	}
	if o.ZooKeeper.DigestEnv != "" && !validEnvName.MatchString(o.ZooKeeper.DigestEnv) {
		errs = append(errs, notAnEnvName("--zookeeper-digest-env (zookeeper.digest_env in a profile)", "the ZooKeeper digest credentials"))
	}
	if o.ZooKeeper.Connect != "" {
		if err := CheckZooKeeperConnect(o.ZooKeeper.Connect); err != nil {
			errs = append(errs, err)
		}
		if d := o.ZooKeeper.Digest; d != "" && !strings.Contains(d, ":") {
			errs = append(errs, fmt.Errorf("zookeeper digest from %s must be user:password", ShowEnvName(o.ZooKeeper.DigestEnv, "--zookeeper-digest-env")))
		}
	}
	return badOptions(errors.Join(errs...))
}

// Warnings are what the options make kshift do that the person may not
// mean: a ZooKeeper digest variable named but not set connects without
// authentication.
func (o *Options) Warnings() []string {
	z := o.ZooKeeper
	if z.Connect != "" && z.Digest == "" && z.DigestEnv != EnvZKDigest && validEnvName.MatchString(z.DigestEnv) {
		return []string{fmt.Sprintf("%s is not set: connecting to ZooKeeper without authentication", ShowEnvName(z.DigestEnv, "--zookeeper-digest-env"))}
	}
	return nil
}

// validEnvName is what a shell accepts as an environment variable name.
var validEnvName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// shownEnvName is a name kshift prints: upper case, digits and underscores,
// the way environment variables are named. Another valid name may be a
// secret typed where its variable's name belongs, and is not printed.
var shownEnvName = regexp.MustCompile(`^[A-Z_][A-Z0-9_]*$`)

// ShowEnvName names the environment variable name for a message: "the
// environment variable NAME" when it looks like one, else by the flag that
// gave it, without the value.
func ShowEnvName(name, flag string) string {
	if shownEnvName.MatchString(name) {
		return "the environment variable " + name
	}
	return "the environment variable named by " + flag + " (its name is not shown: it is not in upper case, and may be a secret given where a variable name belongs)"
}

// CheckEnvName refuses a name that is not an environment variable's,
// without printing it: it is most likely the secret itself. flag says where
// the name came from, what the variable holds.
func CheckEnvName(name, flag, what string) error {
	if validEnvName.MatchString(name) {
		return nil
	}
	return notAnEnvName(flag, what)
}

func notAnEnvName(flag, what string) error {
	return fmt.Errorf("%s must name the environment variable holding %s (letters, digits and _): the value given is not a variable name, and is not shown in case it is the secret itself; put the secret in an environment variable and give its name", flag, what)
}

// CheckZooKeeperConnect refuses a connect string that is not
// host[:port],...[/chroot] (zkdial.Parse says what it checks).
func CheckZooKeeperConnect(connect string) error {
	_, err := zkdial.Parse(connect)
	return err
}

// TLSEnabled reports whether any TLS setting asks for TLS.
func (t TLSOptions) TLSEnabled() bool {
	return t.Enabled || t.CAFile != "" || t.CertFile != "" || t.InsecureSkipVerify || t.ServerName != ""
}
