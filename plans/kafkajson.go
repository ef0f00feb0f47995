package plans

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
)

// KafkaReassignment is Kafka's own reassignment file, the one
// kafka-reassign-partitions.sh --execute reads and tools like topicmappr write:
//
//	{"version":1,"partitions":[{"topic":"orders","partition":0,"replicas":[7,8,9]}]}
//
// kshift exports any plan step in this form so an operator can always fall
// back on Kafka's tool, and imports it to check and phase someone else's plan.
type KafkaReassignment struct {
	Version    int              `json:"version"`
	Partitions []KafkaPartition `json:"partitions"`
}

// KafkaPartition is one partition's target replica list.
type KafkaPartition struct {
	Topic     string  `json:"topic"`
	Partition int32   `json:"partition"`
	Replicas  []int32 `json:"replicas"`
	// LogDirs is written by kafka-reassign-partitions; kshift accepts only
	// "any" entries (it does not place replicas on log dirs).
	LogDirs []string `json:"log_dirs,omitempty"`
}

// Name is the partition's usual "topic-N" name.
func (p *KafkaPartition) Name() string { return fmt.Sprintf("%s-%d", p.Topic, p.Partition) }

// KafkaReassignmentFor returns the reassignment that sets every partition of
// the step to its `to` list, in the step's order.
func KafkaReassignmentFor(s *Step) *KafkaReassignment {
	r := &KafkaReassignment{Version: 1, Partitions: make([]KafkaPartition, 0, len(s.Partitions))}
	for _, m := range s.Partitions {
		r.Partitions = append(r.Partitions, KafkaPartition{Topic: m.Topic, Partition: m.Partition, Replicas: slices.Clone(m.To)})
	}
	return r
}

// MarshalKafkaJSON writes r with one partition per line: valid input for
// kafka-reassign-partitions.sh, and readable in a diff.
func MarshalKafkaJSON(r *KafkaReassignment) ([]byte, error) {
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "{\"version\":%d,\"partitions\":[", r.Version)
	for i := range r.Partitions {
		line, err := json.Marshal(&r.Partitions[i])
		if err != nil {
			return nil, fmt.Errorf("encode partition %s: %w", r.Partitions[i].Name(), err)
		}
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.WriteString("\n")
		buf.Write(line)
	}
	buf.WriteString("\n]}\n")
	return buf.Bytes(), nil
}

// DecodeKafkaJSON strictly decodes and validates a reassignment JSON: unknown
// fields, trailing data, a version other than 1, duplicate partitions and
// malformed replica lists are errors with their location. name is used in
// error messages only.
func DecodeKafkaJSON(data []byte, name string) (*KafkaReassignment, error) {
	var r KafkaReassignment
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return nil, &InputError{File: name, Err: jsonError(data, err)}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, &InputError{File: name, Err: fmt.Errorf("%s: data after the JSON object: a reassignment file holds exactly one", jsonLocation(data, dec.InputOffset()))}
	}
	if err := r.Validate(); err != nil {
		return nil, &InputError{File: name, Err: err}
	}
	return &r, nil
}

// LoadKafkaJSONFile reads and decodes a reassignment JSON file, returning it
// with the SHA-256 of its bytes.
func LoadKafkaJSONFile(path string) (*KafkaReassignment, string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", &InputError{File: path, Err: fmt.Errorf("cannot read: %w", errors.Unwrap(err))}
	}
	r, err := DecodeKafkaJSON(data, path)
	if err != nil {
		return nil, "", err
	}
	return r, SHA256Hex(data), nil
}

// Validate reports every problem of the reassignment with its location.
func (r *KafkaReassignment) Validate() error {
	var p problems
	if r.Version != 1 {
		p.add("version", "%d is not supported: Kafka's reassignment format is version 1", r.Version)
	}
	if len(r.Partitions) == 0 {
		p.add("partitions", "is empty: nothing to reassign")
	}
	seen := make(map[string]int, len(r.Partitions))
	for i := range r.Partitions {
		kp := &r.Partitions[i]
		loc := fmt.Sprintf("partitions[%d] (%s)", i, kp.Name())
		if kp.Topic == "" {
			p.add(loc, "topic is empty")
		}
		if kp.Partition < 0 {
			p.add(loc, "partition is negative")
		}
		if first, ok := seen[kp.Name()]; ok {
			p.add(loc, "partition is listed twice (first at partitions[%d])", first)
		} else {
			seen[kp.Name()] = i
		}
		if len(kp.Replicas) == 0 {
			p.add(loc, "replicas is empty")
		}
		if d := duplicateIDs(kp.Replicas); len(d) > 0 {
			p.add(loc, "replicas %v list broker %v twice", kp.Replicas, d)
		}
		for _, id := range kp.Replicas {
			if id < 0 {
				p.add(loc, "replicas %v has a negative broker id", kp.Replicas)
				break
			}
		}
		if len(kp.LogDirs) > 0 {
			if len(kp.LogDirs) != len(kp.Replicas) {
				p.add(loc, "log_dirs has %d entries for %d replicas", len(kp.LogDirs), len(kp.Replicas))
			}
			for _, d := range kp.LogDirs {
				if d != "any" {
					p.add(loc, "log_dirs entry %q: kshift does not place replicas on log dirs, use \"any\" or leave log_dirs out", d)
					break
				}
			}
		}
	}
	return p.err()
}

// jsonError turns a decoding error into one that says where in the file it is.
func jsonError(data []byte, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return errors.New("file is empty")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("malformed JSON: the file ends in the middle of a value")
	case errors.As(err, &syn):
		// Offset counts the offending byte; point at it.
		return fmt.Errorf("%s: malformed JSON: %w", jsonLocation(data, syn.Offset-1), err)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "the top level"
		}
		return fmt.Errorf("%s: %s must be %s, not a JSON %s", jsonLocation(data, typ.Offset), field, typ.Type, typ.Value)
	default:
		// Unknown fields: encoding/json names the field but not the offset.
		return fmt.Errorf("malformed JSON: %w", err)
	}
}

// jsonLocation returns "line L, column C" for a byte offset into data.
func jsonLocation(data []byte, offset int64) string {
	offset = min(max(offset, 0), int64(len(data)))
	before := data[:offset]
	line := bytes.Count(before, []byte("\n")) + 1
	col := len(before) - bytes.LastIndexByte(before, '\n')
	return fmt.Sprintf("line %d, column %d", line, col)
}
