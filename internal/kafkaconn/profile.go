package kafkaconn

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"gopkg.in/yaml.v3"
)

// ProfileVersion is the only profile format version this kshift reads.
const ProfileVersion = 1

// Profile is a cluster profile file: the connection options of one cluster,
// so that a team can share how to reach it. It never holds secrets, only the
// names of the environment variables that do.
type Profile struct {
	Version int `yaml:"version"`
	Options `yaml:",inline"`
}

// LoadProfile reads a profile file strictly: unknown fields (including any
// attempt to write a password into it) and other versions are errors.
func LoadProfile(path string) (Options, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Options{}, fmt.Errorf("cluster profile %s: cannot read: %w", path, err)
	}
	return ParseProfile(data, path)
}

// ParseProfile decodes profile bytes; name is used in error messages only.
func ParseProfile(data []byte, name string) (Options, error) {
	var p Profile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&p); err != nil {
		if errors.Is(err, io.EOF) {
			return Options{}, fmt.Errorf("cluster profile %s: file is empty", name)
		}
		return Options{}, fmt.Errorf("cluster profile %s: malformed YAML (secrets go in environment variables, named by password_env / digest_env): %w", name, err)
	}
	if p.Version != ProfileVersion {
		return Options{}, fmt.Errorf("cluster profile %s: version %d is not supported: this kshift reads version %d (missing `version: %d`?)", name, p.Version, ProfileVersion, ProfileVersion)
	}
	return p.Options, nil
}
