package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/kshift/kshift/internal/kafkaapi"
	"github.com/kshift/kshift/internal/kafkaconn"
	"github.com/urfave/cli/v2"
)

// Flag names shared by every command that talks to a cluster.
const (
	flagProfile        = "profile"
	flagBootstrap      = "bootstrap"
	flagClientID       = "client-id"
	flagDialTimeout    = "dial-timeout"
	flagRequestTimeout = "request-timeout"
	flagTLS            = "tls"
	flagTLSCA          = "tls-ca"
	flagTLSCert        = "tls-cert"
	flagTLSKey         = "tls-key"
	flagTLSServerName  = "tls-server-name"
	flagTLSInsecure    = "tls-insecure-skip-verify"
	flagSASLMechanism  = "sasl-mechanism"
	flagSASLUser       = "sasl-user"
	flagSASLPassEnv    = "sasl-password-env"
	flagZooKeeper      = "zookeeper"
	flagZKDigestEnv    = "zookeeper-digest-env"
)

const connCategory = "Connection"

// clusterFlags are the connection flags of snapshot, check, apply, status and
// every other command that reads or changes a live cluster. Flags override
// the profile; secrets come from environment variables only.
func clusterFlags() []cli.Flag {
	return []cli.Flag{
		&cli.PathFlag{Name: flagProfile, EnvVars: []string{"KSHIFT_PROFILE"}, Category: connCategory,
			Usage: "cluster profile file (YAML, version: 1) with the connection settings; flags override it"},
		&cli.StringSliceFlag{Name: flagBootstrap, Aliases: []string{"b"}, EnvVars: []string{"KSHIFT_BOOTSTRAP"}, Category: connCategory,
			Usage: "bootstrap servers host:port, comma-separated or repeated"},
		&cli.StringFlag{Name: flagClientID, Category: connCategory, Usage: "Kafka client id (default kshift)"},
		// Not Value: a flag left unset must not override the profile.
		&cli.DurationFlag{Name: flagDialTimeout, Category: connCategory,
			Usage: "give up connecting after this long", DefaultText: "the profile's dial_timeout, else " + kafkaconn.DefaultDialTimeout.String()},
		&cli.DurationFlag{Name: flagRequestTimeout, Category: connCategory,
			Usage: "give up one request, retries included, after this long", DefaultText: "the profile's request_timeout, else " + kafkaconn.DefaultRequestTimeout.String()},
		&cli.BoolFlag{Name: flagTLS, Category: connCategory, Usage: "connect with TLS (implied by the other --tls-* flags)"},
		&cli.PathFlag{Name: flagTLSCA, Category: connCategory, Usage: "PEM file of the CAs that signed the broker certificates (default: system CAs)"},
		&cli.PathFlag{Name: flagTLSCert, Category: connCategory, Usage: "PEM client certificate for mutual TLS"},
		&cli.PathFlag{Name: flagTLSKey, Category: connCategory, Usage: "PEM unencrypted key of --tls-cert"},
		&cli.StringFlag{Name: flagTLSServerName, Category: connCategory, Usage: "expected server name in the broker certificates"},
		&cli.BoolFlag{Name: flagTLSInsecure, Category: connCategory, Usage: "accept any broker certificate (test clusters only)"},
		&cli.StringFlag{Name: flagSASLMechanism, Category: connCategory, Usage: "SASL mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"},
		&cli.StringFlag{Name: flagSASLUser, EnvVars: []string{"KSHIFT_SASL_USER"}, Category: connCategory, Usage: "SASL user"},
		&cli.StringFlag{Name: flagSASLPassEnv, Category: connCategory,
			Usage: "environment variable holding the SASL password (default " + kafkaconn.EnvSASLPassword + ")"},
		&cli.StringFlag{Name: flagZooKeeper, EnvVars: []string{"KSHIFT_ZOOKEEPER"}, Category: connCategory,
			Usage: "the cluster's zookeeper.connect, host:port,...[/chroot]; needed to read throttle rates from Kafka 2.4"},
		&cli.StringFlag{Name: flagZKDigestEnv, Category: connCategory,
			Usage: "environment variable holding ZooKeeper digest credentials user:password (default " + kafkaconn.EnvZKDigest + ")"},
	}
}

// connectionOptions merges the profile, the flags and the environment.
func connectionOptions(c *cli.Context) (kafkaconn.Options, error) {
	var o kafkaconn.Options
	if p := c.Path(flagProfile); p != "" {
		var err error
		if o, err = kafkaconn.LoadProfile(p); err != nil {
			return o, badInput(err)
		}
	}
	if c.IsSet(flagBootstrap) {
		o.Bootstrap = nil
		for _, b := range c.StringSlice(flagBootstrap) {
			o.Bootstrap = append(o.Bootstrap, strings.TrimSpace(b))
		}
	}
	setString(c, flagClientID, &o.ClientID)
	if c.IsSet(flagDialTimeout) {
		o.DialTimeout = c.Duration(flagDialTimeout)
	}
	if c.IsSet(flagRequestTimeout) {
		o.RequestTimeout = c.Duration(flagRequestTimeout)
	}
	if c.IsSet(flagTLS) {
		o.TLS.Enabled = c.Bool(flagTLS)
	}
	setString(c, flagTLSCA, &o.TLS.CAFile)
	setString(c, flagTLSCert, &o.TLS.CertFile)
	setString(c, flagTLSKey, &o.TLS.KeyFile)
	setString(c, flagTLSServerName, &o.TLS.ServerName)
	if c.IsSet(flagTLSInsecure) {
		o.TLS.InsecureSkipVerify = c.Bool(flagTLSInsecure)
	}
	if c.IsSet(flagSASLMechanism) {
		o.SASL.Mechanism = kafkaconn.SASLMechanism(strings.ToUpper(c.String(flagSASLMechanism)))
	}
	setString(c, flagSASLUser, &o.SASL.User)
	setString(c, flagSASLPassEnv, &o.SASL.PasswordEnv)
	setString(c, flagZooKeeper, &o.ZooKeeper.Connect)
	setString(c, flagZKDigestEnv, &o.ZooKeeper.DigestEnv)
	o = o.WithDefaults()
	o.ResolveSecrets(os.Getenv)
	if err := o.Validate(); err != nil {
		return o, badInput(err)
	}
	for _, w := range o.Warnings() {
		fmt.Fprintln(c.App.ErrWriter, "warning: "+w)
	}
	return o, nil
}

func setString(c *cli.Context, name string, dst *string) {
	if c.IsSet(name) {
		*dst = c.String(name)
	}
}

// connectionFlags renders the connection flags this command was given (on
// the command line or through the environment), each with a leading space,
// for the commands kshift prints for the operator to run against the same
// cluster. No secret is among them: kshift reads secrets from environment
// variables that flags only name, and refuses credentials in --bootstrap
// and --zookeeper.
func connectionFlags(c *cli.Context) string {
	var b strings.Builder
	for _, f := range clusterFlags() {
		name := f.Names()[0]
		if !c.IsSet(name) {
			continue
		}
		switch f.(type) {
		case *cli.BoolFlag:
			if c.Bool(name) {
				fmt.Fprintf(&b, " --%s", name)
			} else {
				fmt.Fprintf(&b, " --%s=false", name)
			}
		case *cli.StringSliceFlag:
			fmt.Fprintf(&b, " --%s %s", name, shellWord(strings.Join(c.StringSlice(name), ",")))
		case *cli.DurationFlag:
			fmt.Fprintf(&b, " --%s %s", name, c.Duration(name))
		default:
			fmt.Fprintf(&b, " --%s %s", name, shellWord(c.String(name)))
		}
	}
	return b.String()
}

// shellWord quotes s for a POSIX shell when it holds anything but
// letters, digits and -_.,:/@%+=.
func shellWord(s string) string {
	plain := s != ""
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.,:/@%+=", r)) {
			plain = false
			break
		}
	}
	if plain {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// connect opens the clients of the cluster the connection flags name. The
// caller closes them.
func connect(c *cli.Context) (*kafkaconn.Clients, error) {
	o, err := connectionOptions(c)
	if err != nil {
		return nil, err
	}
	clients, err := kafkaconn.Connect(c.Context, o)
	if errors.Is(err, kafkaconn.ErrBadOptions) {
		return nil, badInput(err)
	}
	return clients, err
}

// connectZooKeeper opens a session with the cluster's ZooKeeper when
// --zookeeper (or the profile) names one, else returns nil. The caller closes it.
func connectZooKeeper(c *cli.Context, clients *kafkaconn.Clients) (*kafkaconn.ZooKeeper, error) {
	o := clients.Options
	if o.ZooKeeper.Connect == "" {
		return nil, nil
	}
	return kafkaconn.ConnectZooKeeper(c.Context, o.ZooKeeper, o.DialTimeout)
}

// kafkaAPI is kshift's one layer of Kafka requests over the connection,
// each request bounded by the connection's request timeout.
func kafkaAPI(clients *kafkaconn.Clients) *kafkaapi.Client {
	return kafkaapi.New(clients.Kafka, kafkaapi.Options{Timeout: clients.Options.RequestTimeout})
}
