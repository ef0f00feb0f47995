package plans

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// FormatVersion is the `version:` every kshift file carries. A file with
// another version is refused rather than half-understood.
const FormatVersion = 1

// ErrBadInput marks errors caused by the files a person handed to kshift
// (missing, malformed, invalid), as opposed to failures talking to a cluster.
var ErrBadInput = errors.New("bad input")

// InputError is a problem with one input file. It unwraps to ErrBadInput and
// to the underlying problems.
type InputError struct {
	File string
	Err  error
}

// Error names the file on every line, one line per problem, so that each
// line of a long report still says which file it is about.
func (e *InputError) Error() string {
	ps := Problems(e.Err)
	if len(ps) <= 1 {
		return e.File + ": " + e.Err.Error()
	}
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = e.File + ": " + p.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns both ErrBadInput and the cause.
func (e *InputError) Unwrap() []error { return []error{ErrBadInput, e.Err} }

// validator is implemented by every file format.
type validator interface {
	Validate() error
}

// versioned is implemented by every file format.
type versioned interface {
	formatVersion() int
}

// Decode strictly decodes one YAML document of a kshift file into v, checks
// its version and validates it. name is used in error messages only.
func Decode[T any, P interface {
	*T
	validator
	versioned
}](data []byte, name string) (*T, error) {
	v, _, err := decodeUnvalidated[T, P](data, name)
	if err != nil {
		return nil, err
	}
	if err := P(v).Validate(); err != nil {
		return nil, &InputError{File: name, Err: err}
	}
	return v, nil
}

// decodeUnvalidated is Decode without Validate. It also returns the runs of
// lines the fast path parsed by hand, none when the file took the plain
// yaml.v3 path.
func decodeUnvalidated[T any, P interface {
	*T
	validator
	versioned
}](data []byte, name string) (*T, []fastRun, error) {
	v := P(new(T))
	var runs []fastRun
	took := false
	if fast, ok := any(v).(fastDecoder); ok {
		runs, took = fast.decodeFast(data)
	}
	if !took {
		if err := decodeStrict(data, v); err != nil {
			return nil, nil, &InputError{File: name, Err: err}
		}
	}
	if got := v.formatVersion(); got != FormatVersion {
		return nil, nil, &InputError{File: name, Err: fmt.Errorf("version %d is not supported: this kshift reads version %d (missing `version: %d`?)", got, FormatVersion, FormatVersion)}
	}
	return (*T)(v), runs, nil
}

// decodeStrict decodes YAML, refusing unknown fields, trailing documents and
// empty input.
func decodeStrict(data []byte, v any) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("file is empty")
		}
		// Unknown fields and wrong types come as one error holding a line
		// each; split them so every problem is reported on its own line.
		var te *yaml.TypeError
		if errors.As(err, &te) {
			errs := make([]error, len(te.Errors))
			for i, e := range te.Errors {
				errs[i] = errors.New(strings.TrimSpace(e))
			}
			return errors.Join(errs...)
		}
		return fmt.Errorf("malformed YAML: %w", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return errors.New("more than one YAML document: a kshift file holds exactly one")
	}
	return nil
}

// LoadFile reads and decodes a kshift file, returning it with its content
// hash, which plans record for the files they were made from. The hash is
// the SHA-256 of the file as kshift writes it (a snapshot sorted by
// Normalize), so a snapshot listing its brokers and topics in another order,
// or a mapping with other comments and layout, hashes the same and plans to
// the same bytes. For a file kshift wrote, it is the SHA-256 of its bytes.
func LoadFile[T any, P interface {
	*T
	validator
	versioned
}](path string) (*T, string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", &InputError{File: path, Err: fmt.Errorf("cannot read: %w", errors.Unwrap(err))}
	}
	v, runs, err := decodeUnvalidated[T, P](data, path)
	if err != nil {
		return nil, "", err
	}
	// Hash while validating, on another processor; both only read v. A
	// snapshot is normalized first, unless it is as kshift writes it
	// (then already normalized).
	n, normalizes := any(v).(interface{ Normalize() })
	type hashed struct {
		sum       string
		err       error
		normalize bool // hash it once validated and normalized
	}
	done := make(chan hashed, 1)
	go func() {
		switch {
		case asWritten(v, data, runs):
			done <- hashed{sum: SHA256Hex(data)}
		case normalizes:
			done <- hashed{normalize: true}
		default:
			sum, err := canonicalHash(v, path)
			done <- hashed{sum: sum, err: err}
		}
	}()
	verr := P(v).Validate()
	h := <-done
	if verr != nil {
		return nil, "", &InputError{File: path, Err: verr}
	}
	if h.normalize {
		n.Normalize()
		h.sum, h.err = canonicalHash(v, path)
	}
	return v, h.sum, h.err
}

// asWritten reports whether data, which decoded to v with the fast path
// runs given, is byte for byte v as kshift writes it, so that its hash is
// the SHA-256 of data (planAsWritten, snapshotAsWritten).
func asWritten(v any, data []byte, runs []fastRun) bool {
	switch x := v.(type) {
	case *Plan:
		return planAsWritten(x, data, runs)
	case *Snapshot:
		return snapshotAsWritten(x, data, runs)
	}
	return false
}

// planAsWritten reports whether data, which decoded to p with the fast path
// runs given, is byte for byte the plan as kshift writes it, so that its
// hash is the SHA-256 of data. It writes p again as WritePlan does but,
// instead of encoding the move lines (most of a plan), takes the file's own
// lines for each step whose run the parser found exact (fastRun.exact: it
// accepts only what kshift writes for the moves it reads from them), and
// compares what it writes with data as it goes. Anything else in a form
// kshift does not write (indentation, comments, key order, flow or block
// style, quoting) differs from what it writes, and LoadFile encodes the
// plan whole instead.
func planAsWritten(p *Plan, data []byte, runs []fastRun) bool {
	own, ok := exactRuns(runs, len(p.Steps))
	if !ok {
		return false
	}
	cw := compareWriter{rest: data}
	step := func(i int) *Step { return &p.Steps[i] }
	return writePlan(&cw, p, len(p.Steps), step, func() *Plan { return p }, own) == nil && len(cw.rest) == 0
}

// snapshotAsWritten reports whether data, which decoded to s with the fast
// path runs given, is byte for byte s as kshift writes it after Normalize,
// as planAsWritten does for a plan. Normalize must leave s as it is: its
// brokers, topics and each topic's partitions strictly in the order it
// sorts them, so that no two share a key (Normalize's sort is not stable).
// A snapshot in any other order or form hashes as LoadFile normalizes and
// encodes it.
func snapshotAsWritten(s *Snapshot, data []byte, runs []fastRun) bool {
	if !normalized(s) {
		return false
	}
	own, ok := exactRuns(runs, len(s.Topics))
	if !ok {
		return false
	}
	cw := compareWriter{rest: data}
	return writeSnapshot(&cw, s, own) == nil && len(cw.rest) == 0
}

// exactRuns returns the file's own text of each of n items (steps of a
// plan, topics of a snapshot) from the fast path's runs, nil for an item
// without one; false when there are no runs or one the parser did not find
// exactly as kshift writes it.
func exactRuns(runs []fastRun, n int) ([][]byte, bool) {
	if len(runs) == 0 {
		return nil, false
	}
	own := make([][]byte, n)
	for _, r := range runs {
		if !r.exact {
			return nil, false
		}
		own[r.item] = r.text
	}
	return own, true
}

// normalized reports whether s lists its brokers by id, its topics by name
// and each topic's partitions by id, each strictly ascending: then
// Normalize leaves it as it is.
func normalized(s *Snapshot) bool {
	if !brokersInOrder(s.Brokers) || !topicsInOrder(s.Topics) {
		return false
	}
	for i := range s.Topics {
		if !partitionsInOrder(s.Topics[i].Partitions) {
			return false
		}
	}
	return true
}

// compareWriter checks that what is written to it is rest, and fails at
// the first difference.
type compareWriter struct {
	rest []byte
}

var errDiffers = errors.New("differs from the file")

func (c *compareWriter) Write(b []byte) (int, error) {
	if !bytes.HasPrefix(c.rest, b) {
		return 0, errDiffers
	}
	c.rest = c.rest[len(b):]
	return len(b), nil
}

// canonicalHash is the SHA-256 of v as kshift writes it.
func canonicalHash(v any, path string) (string, error) {
	canonical, err := Marshal(v)
	if err != nil {
		return "", &InputError{File: path, Err: fmt.Errorf("cannot encode it again to hash it: %w", err)}
	}
	return SHA256Hex(canonical), nil
}

// ReadFile reads, strictly decodes and validates a kshift file, as LoadFile
// does, for a command that has no use for its hash.
func ReadFile[T any, P interface {
	*T
	validator
	versioned
}](path string) (*T, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &InputError{File: path, Err: fmt.Errorf("cannot read: %w", errors.Unwrap(err))}
	}
	return Decode[T, P](data, path)
}

// SHA256Hex returns the hex SHA-256 of data.
func SHA256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// Marshal writes v as YAML with two-space indentation. Output is stable: the
// same value always gives the same bytes.
//
// Plans and snapshots hold hundreds of thousands of partition lines, which
// yaml.v3's encoder writes at about 4 µs and 15 KB of garbage each; they take
// a direct writer (fastmarshal.go) whose output is byte for byte what yaml.v3
// writes (tests compare the two).
func Marshal(v any) ([]byte, error) {
	switch x := v.(type) {
	case *Plan:
		return marshalPlan(x)
	case *Snapshot:
		return marshalSnapshot(x)
	}
	return marshalYAMLv3(v)
}

// marshalYAMLv3 writes v with yaml.v3's encoder.
func marshalYAMLv3(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// flowNode encodes v as a single-line YAML flow mapping, used for list items
// that a reviewer reads one per line (partitions, moves).
func flowNode(v any) (*yaml.Node, error) {
	var n yaml.Node
	if err := n.Encode(v); err != nil {
		return nil, err
	}
	n.Style = yaml.FlowStyle
	return &n, nil
}
