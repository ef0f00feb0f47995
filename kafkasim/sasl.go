package kafkasim

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/xdg-go/scram"
)

// SASL mechanisms the double can require.
const (
	SASLPlain       = "PLAIN"
	SASLScramSHA256 = "SCRAM-SHA-256"
	SASLScramSHA512 = "SCRAM-SHA-512"
)

var allSASLMechanisms = []string{SASLPlain, SASLScramSHA256, SASLScramSHA512}

// saslServer checks credentials for one mechanism.
type saslServer struct {
	mechanism string
	plain     map[string]string
	scram     *scram.Server
}

// scramConversation is the part of a SCRAM exchange a session keeps between
// SaslAuthenticate requests.
type scramConversation = *scram.ServerConversation

func newSASLServer(mechanism string, users []SASLUser) (*saslServer, error) {
	if mechanism == "" {
		return nil, nil
	}
	if !slices.Contains(allSASLMechanisms, mechanism) {
		return nil, fmt.Errorf("unknown SASL mechanism %q: use one of %v", mechanism, allSASLMechanisms)
	}
	if len(users) == 0 {
		return nil, fmt.Errorf("SASL mechanism %s configured without users: add Config.SASLUsers", mechanism)
	}
	s := &saslServer{mechanism: mechanism, plain: make(map[string]string)}
	for _, u := range users {
		s.plain[u.User] = u.Password
	}
	if mechanism == SASLPlain {
		return s, nil
	}
	hash := scram.SHA256
	if mechanism == SASLScramSHA512 {
		hash = scram.SHA512
	}
	creds := make(map[string]scram.StoredCredentials)
	for _, u := range users {
		client, err := hash.NewClient(u.User, u.Password, "")
		if err != nil {
			return nil, fmt.Errorf("prepare SCRAM credentials of user %q: %w", u.User, err)
		}
		salt := make([]byte, 16)
		if _, err := rand.Read(salt); err != nil {
			return nil, fmt.Errorf("salt SCRAM credentials: %w", err)
		}
		sc, err := client.GetStoredCredentialsWithError(scram.KeyFactors{Salt: base64.StdEncoding.EncodeToString(salt), Iters: 4096})
		if err != nil {
			return nil, fmt.Errorf("derive SCRAM credentials of user %q: %w", u.User, err)
		}
		creds[u.User] = sc
	}
	srv, err := hash.NewServer(func(user string) (scram.StoredCredentials, error) {
		c, ok := creds[user]
		if !ok {
			return scram.StoredCredentials{}, errors.New("unknown user")
		}
		return c, nil
	})
	if err != nil {
		return nil, fmt.Errorf("start SCRAM server: %w", err)
	}
	s.scram = srv
	return s, nil
}

func (c *Cluster) saslHandshake(s *session, r *kmsg.SASLHandshakeRequest) kmsg.Response {
	resp := r.ResponseKind().(*kmsg.SASLHandshakeResponse)
	if c.sasl == nil {
		resp.ErrorCode = errIllegalSASLState
		return resp
	}
	resp.SupportedMechanisms = []string{c.sasl.mechanism}
	if r.Mechanism != c.sasl.mechanism {
		resp.ErrorCode = errUnsupportedSASL
		return resp
	}
	s.mechanism = r.Mechanism
	if c.sasl.scram != nil {
		s.scram = c.sasl.scram.NewConversation()
	}
	return resp
}

// saslAuthenticate runs one SASL step. A failed authentication is answered
// with 58 and then the connection closes, as Kafka does.
func (c *Cluster) saslAuthenticate(s *session, r *kmsg.SASLAuthenticateRequest) (kmsg.Response, error) {
	resp := r.ResponseKind().(*kmsg.SASLAuthenticateResponse)
	if c.sasl == nil || s.mechanism == "" || s.authenticated {
		resp.ErrorCode = errIllegalSASLState
		resp.ErrorMessage = strp("Unexpected SASL authenticate request")
		s.closeAfter = true
		return resp, nil
	}
	fail := func(msg string) (kmsg.Response, error) {
		resp.ErrorCode = errSASLAuthFailed
		resp.ErrorMessage = strp(msg)
		s.closeAfter = true
		return resp, nil
	}
	if s.mechanism == SASLPlain {
		parts := bytes.Split(r.SASLAuthBytes, []byte{0})
		if len(parts) != 3 {
			return fail("Authentication failed: Invalid username or password")
		}
		if pw, ok := c.sasl.plain[string(parts[1])]; !ok || pw != string(parts[2]) {
			return fail("Authentication failed: Invalid username or password")
		}
		s.authenticated = true
		return resp, nil
	}
	out, err := s.scram.Step(string(r.SASLAuthBytes))
	if err != nil {
		return fail("Authentication failed during authentication due to invalid credentials with SASL mechanism " + s.mechanism)
	}
	resp.SASLAuthBytes = []byte(out)
	if s.scram.Done() {
		if !s.scram.Valid() {
			return fail("Authentication failed during authentication due to invalid credentials with SASL mechanism " + s.mechanism)
		}
		s.authenticated = true
	}
	return resp, nil
}
