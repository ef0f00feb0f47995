package kafkaconn

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestParseProfile(t *testing.T) {
	good := `version: 1
bootstrap: [k1:9093, k2:9093]
dial_timeout: 5s
tls:
  ca_file: /etc/kafka/ca.pem
sasl:
  mechanism: SCRAM-SHA-512
  user: kshift
  password_env: PROD_KAFKA_PW
zookeeper:
  connect: z1:2181,z2:2181/kafka/prod
`
	o, err := ParseProfile([]byte(good), "good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(o.Bootstrap, ","); got != "k1:9093,k2:9093" {
		t.Errorf("bootstrap = %s", got)
	}
	if o.DialTimeout != 5*time.Second || o.SASL.Mechanism != SASLScramSHA512 || o.SASL.PasswordEnv != "PROD_KAFKA_PW" {
		t.Errorf("profile decoded as %+v", o)
	}
	if got := o.ZooKeeper.Servers(); strings.Join(got, ",") != "z1:2181,z2:2181" || o.ZooKeeper.Chroot() != "/kafka/prod" {
		t.Errorf("zookeeper servers %v chroot %q", got, o.ZooKeeper.Chroot())
	}

	for _, tc := range []struct{ name, body, want string }{
		{"password in file", "version: 1\nbootstrap: [k:9092]\nsasl:\n  password: hunter2\n", "password_env"},
		{"zk digest in file", "version: 1\nzookeeper:\n  digest: u:p\n", "digest_env"},
		{"unknown field", "version: 1\nbootstrapp: [k:9092]\n", "bootstrapp"},
		{"no version", "bootstrap: [k:9092]\n", "version 0 is not supported"},
		{"empty", "", "empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseProfile([]byte(tc.body), "p.yaml")
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "p.yaml") {
				t.Errorf("got %v, want an error naming p.yaml and mentioning %q", err, tc.want)
			}
		})
	}
}

func TestSecretsFromEnvironmentAndNeverSerialised(t *testing.T) {
	env := map[string]string{"KSHIFT_SASL_PASSWORD": "pw-from-env", "MY_ZK": "super:zk-secret"}
	o := Options{Bootstrap: []string{"k:9092"}, SASL: SASLOptions{Mechanism: SASLPlain, User: "u"},
		ZooKeeper: ZooKeeperOptions{Connect: "z:2181/c", DigestEnv: "MY_ZK"}}.WithDefaults()
	o.ResolveSecrets(func(k string) string { return env[k] })
	if o.SASL.Password != "pw-from-env" || o.ZooKeeper.Digest != "super:zk-secret" {
		t.Fatalf("secrets not resolved: %q %q", o.SASL.Password, o.ZooKeeper.Digest)
	}
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	y, err := yaml.Marshal(Profile{Version: 1, Options: o})
	if err != nil {
		t.Fatal(err)
	}
	j, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{string(y), string(j)} {
		if strings.Contains(out, "pw-from-env") || strings.Contains(out, "zk-secret") {
			t.Errorf("serialised options contain a secret:\n%s", out)
		}
	}
}

func TestValidateOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    Options
		want []string
	}{
		{"no bootstrap", Options{}, []string{"no bootstrap servers"}},
		{"sasl without password", Options{Bootstrap: []string{"k:1"}, SASL: SASLOptions{Mechanism: SASLScramSHA256, User: "u", PasswordEnv: EnvSASLPassword}},
			[]string{"needs a password: set the environment variable KSHIFT_SASL_PASSWORD"}},
		{"bad mechanism", Options{Bootstrap: []string{"k:1"}, SASL: SASLOptions{Mechanism: "GSSAPI"}}, []string{`"GSSAPI" is not one of`}},
		{"cert without key", Options{Bootstrap: []string{"k:1"}, TLS: TLSOptions{CertFile: "c.pem"}}, []string{"give both --tls-cert and --tls-key"}},
		{"zk digest malformed", Options{Bootstrap: []string{"k:1"}, ZooKeeper: ZooKeeperOptions{Connect: "z:1", Digest: "nocolon", DigestEnv: "E"}}, []string{"must be user:password"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.o.Validate()
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestZooKeeperChroot(t *testing.T) {
	for _, tc := range []struct{ connect, chroot, path string }{
		{"z1:2181,z2:2181", "/", "/brokers/ids"},
		{"z1:2181/kafka", "/kafka", "/kafka/brokers/ids"},
		{"z1:2181/kafka/", "/kafka", "/kafka/brokers/ids"},
	} {
		o := ZooKeeperOptions{Connect: tc.connect}
		z := ZooKeeper{Chroot: o.Chroot()}
		if z.Chroot != tc.chroot || z.Path("/brokers/ids") != tc.path {
			t.Errorf("%s: chroot %q path %q, want %q %q", tc.connect, z.Chroot, z.Path("/brokers/ids"), tc.chroot, tc.path)
		}
	}
}

// FuzzParseProfile: any input either decodes to options that validate or
// fail with an error naming the file; never a panic.
func FuzzParseProfile(f *testing.F) {
	f.Add([]byte("version: 1\nbootstrap: [k:9092]\nsasl:\n  mechanism: PLAIN\n  user: u\n"))
	f.Add([]byte("version: 1\nzookeeper:\n  connect: z:2181/c\n  session_timeout: 5s\n"))
	f.Add([]byte("version: 2\n"))
	f.Add([]byte("- a\n- b\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		o, err := ParseProfile(data, "fuzz.yaml")
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.yaml") {
				t.Errorf("error does not name the file: %v", err)
			}
			return
		}
		o = o.WithDefaults()
		_ = o.Validate()
		_ = o.ZooKeeper.Servers()
		_ = o.ZooKeeper.Chroot()
	})
}

func TestCheckZooKeeperConnect(t *testing.T) {
	for _, ok := range []string{"z1:2181,z2:2181/kafka/prod", "z1", "z1:2181/", "[::1]:2181/kafka", " z1:2181 , z2:2182"} {
		if err := CheckZooKeeperConnect(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for bad, want := range map[string]string{
		"z1:2181:2182":        "more than one port",
		"z1:0":                "not a number from 1 to 65535",
		",/kafka":             "names no server",
		"z1:2181/kafka/ /x":   "empty or blank part",
		"u:pw-secret@z1:2181": "holds credentials",
	} {
		err := CheckZooKeeperConnect(bad)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", bad, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "pw-secret") {
			t.Errorf("%q: the error echoes the password: %v", bad, err)
		}
	}
}
