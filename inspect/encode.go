package inspect

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"

	"github.com/kshift/kshift/plans"
)

// WriteSnapshot writes s exactly as plans.Marshal would, topic by topic, so
// that memory stays bounded by the largest topic: yaml.v3 builds a node tree
// of the whole document first, which for 200,000 partitions takes gigabytes.
// Normalize s first for deterministic output.
func WriteSnapshot(w io.Writer, s *plans.Snapshot) error {
	head := *s
	head.Topics = nil
	head.ZooKeeper = nil
	out, err := plans.Marshal(&head)
	if err != nil {
		return fmt.Errorf("encode snapshot: %w", err)
	}
	const emptyTopics = "topics: []\n"
	if len(s.Topics) == 0 || !bytes.HasSuffix(out, []byte(emptyTopics)) {
		// Nothing to stream (or a layout this writer does not know): let
		// plans.Marshal write the whole document.
		if len(s.Topics) > 0 {
			if out, err = plans.Marshal(s); err != nil {
				return fmt.Errorf("encode snapshot: %w", err)
			}
			_, err = w.Write(out)
			return err
		}
		return writeTail(w, out, s)
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	bw.Write(out[:len(out)-len(emptyTopics)])
	bw.WriteString("topics:\n")
	fast := fastPartitionsMatch(s)
	var line []byte
	for i := range s.Topics {
		t := s.Topics[i]
		parts := t.Partitions
		if fast {
			t.Partitions = nil
		}
		one, err := plans.Marshal([]plans.Topic{t})
		if err != nil {
			return fmt.Errorf("encode topic %s: %w", t.Name, err)
		}
		const emptyParts = "partitions: []\n"
		writeIndented(bw, one, fast && len(parts) > 0 && bytes.HasSuffix(one, []byte(emptyParts)), emptyParts)
		if fast && len(parts) > 0 {
			for _, p := range parts {
				line = appendPartitionLine(line[:0], p)
				bw.Write(line)
			}
		}
	}
	if err := writeTail(bw, nil, s); err != nil {
		return err
	}
	return bw.Flush()
}

// writeIndented writes a top-level YAML sequence two spaces deeper, as it
// nests under `topics:`; with open, its trailing "partitions: []" becomes
// "partitions:" for the partition lines that follow.
func writeIndented(bw *bufio.Writer, doc []byte, open bool, emptyParts string) {
	for len(doc) > 0 {
		line := doc
		if j := bytes.IndexByte(doc, '\n'); j >= 0 {
			line, doc = doc[:j+1], doc[j+1:]
		} else {
			doc = nil
		}
		bw.WriteString("  ")
		if open && len(doc) == 0 && bytes.HasSuffix(line, []byte(emptyParts)) {
			bw.Write(line[:len(line)-len(emptyParts)])
			bw.WriteString("partitions:\n")
			continue
		}
		bw.Write(line)
	}
}

// partitionIndent is where a partition line starts: topics (2) + topic
// fields (2) + partitions sequence (2).
const partitionIndent = "      - "

// appendPartitionLine appends a partition's line as plans.Partition's
// MarshalYAML writes it, without yaml.v3's encode-and-reparse per partition
// (the slow part of writing 200,000 partitions).
func appendPartitionLine(b []byte, p plans.Partition) []byte {
	b = append(b, partitionIndent...)
	b = append(b, "{id: "...)
	b = strconv.AppendInt(b, int64(p.ID), 10)
	b = append(b, ", replicas: "...)
	b = appendIDs(b, p.Replicas)
	b = append(b, ", leader: "...)
	b = strconv.AppendInt(b, int64(p.Leader), 10)
	b = append(b, ", isr: "...)
	b = appendIDs(b, p.ISR)
	b = append(b, ", size: "...)
	b = strconv.AppendInt(b, int64(p.Size), 10)
	return append(b, "}\n"...)
}

func appendIDs(b []byte, ids []int32) []byte {
	b = append(b, '[')
	for i, id := range ids {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = strconv.AppendInt(b, int64(id), 10)
	}
	return append(b, ']')
}

// fastPartitionsMatch checks the fast partition line against plans.Marshal
// on the snapshot's first partitions, so a change to the snapshot format
// falls back to the slow, always-right path instead of writing a wrong file.
func fastPartitionsMatch(s *plans.Snapshot) bool {
	checked := 0
	for _, t := range s.Topics {
		for _, p := range t.Partitions {
			want, err := plans.Marshal(struct {
				A []struct {
					B []plans.Partition `yaml:"b"`
				} `yaml:"a"`
			}{A: []struct {
				B []plans.Partition `yaml:"b"`
			}{{B: []plans.Partition{p}}}})
			if err != nil {
				return false
			}
			// "a:\n  - b:\n      - {...}\n": the partition line is the last.
			lines := bytes.Split(bytes.TrimSuffix(want, []byte("\n")), []byte("\n"))
			got := appendPartitionLine(nil, p)
			if !bytes.Equal(append(lines[len(lines)-1], '\n'), got) {
				return false
			}
			if checked++; checked == 3 {
				return true
			}
		}
	}
	return true
}

// writeTail writes head (when given) and then the fields after topics.
func writeTail(w io.Writer, head []byte, s *plans.Snapshot) error {
	if head != nil {
		if _, err := w.Write(head); err != nil {
			return err
		}
	}
	if s.ZooKeeper == nil {
		return nil
	}
	tail, err := plans.Marshal(struct {
		ZooKeeper *plans.Ensemble `yaml:"zookeeper"`
	}{s.ZooKeeper})
	if err != nil {
		return fmt.Errorf("encode snapshot: %w", err)
	}
	_, err = w.Write(tail)
	return err
}
