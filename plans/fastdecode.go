package plans

import (
	"bytes"
	"strconv"
)

// Decoding a 200,000-partition snapshot with yaml.v3 takes several seconds
// and gigabytes, nearly all of it in the partition lines. Files in the form
// kshift writes (one flow-style line per partition or move, directly under a
// `partitions:` key at four spaces) take a fast path: those lines are parsed
// by hand, each run of them is replaced by a one-item placeholder list, and
// the rest of the file (the skeleton, a few percent of it) is decoded by
// yaml.v3 strictly, as before. Any line the fast parser does not recognise
// exactly, any block scalar, any error from the skeleton, or a placeholder
// that does not come back where it was put, sends the whole file down the
// plain yaml.v3 path, which then reports errors with the file's own line
// numbers. Tests check that both paths give equal values.

// fastDecoder is implemented by the formats with a fast path.
type fastDecoder interface {
	// decodeFast decodes data if it is in kshift's own form and reports
	// whether it did; when it did not, v is unchanged.
	decodeFast(data []byte) bool
}

const runKey = "    partitions:"

// splitRuns cuts the runs of lines that start with "      - {" directly
// under a "    partitions:" line out of data, replacing each with
// placeholder(k). It gives up (ok false) on a block scalar indicator or a
// run line outside such a key.
func splitRuns(data []byte, placeholder func(k int) string) (skeleton []byte, runs [][][]byte, ok bool) {
	const item = "      - {"
	skel := make([]byte, 0, len(data)/8)
	rest := data
	var prevBare bool // the previous line was exactly runKey
	for len(rest) > 0 {
		i := bytes.IndexByte(rest, '\n')
		var line []byte
		if i < 0 {
			line, rest = rest, nil
		} else {
			line, rest = rest[:i], rest[i+1:]
		}
		if bytes.HasPrefix(line, []byte(item)) {
			if !prevBare {
				return nil, nil, false
			}
			// Cut the run: this line and the next ones of the same form.
			run := [][]byte{line}
			for len(rest) > 0 && bytes.HasPrefix(rest, []byte(item)) {
				j := bytes.IndexByte(rest, '\n')
				if j < 0 {
					run, rest = append(run, rest), nil
				} else {
					run, rest = append(run, rest[:j]), rest[j+1:]
				}
			}
			// Replace the bare key written just before with the placeholder.
			skel = skel[:len(skel)-len(runKey)-1]
			skel = append(skel, runKey...)
			skel = append(skel, ' ')
			skel = append(skel, placeholder(len(runs))...)
			skel = append(skel, '\n')
			runs = append(runs, run)
			prevBare = false
			continue
		}
		if bytes.ContainsAny(line, "|>") {
			return nil, nil, false
		}
		prevBare = string(line) == runKey
		skel = append(skel, line...)
		skel = append(skel, '\n')
	}
	return skel, runs, true
}

// lineParser reads one flow-style line in kshift's exact form.
type lineParser struct {
	b  []byte
	ok bool
}

func (p *lineParser) lit(s string) {
	if p.ok && bytes.HasPrefix(p.b, []byte(s)) {
		p.b = p.b[len(s):]
		return
	}
	p.ok = false
}

// int reads a decimal integer the way kshift writes it: no sign but '-', no
// leading zeros, no underscores, so that yaml.v3 would read the same number.
func (p *lineParser) int(bits int) int64 {
	if !p.ok {
		return 0
	}
	n := 0
	if n < len(p.b) && p.b[n] == '-' {
		n++
	}
	start := n
	for n < len(p.b) && p.b[n] >= '0' && p.b[n] <= '9' {
		n++
	}
	digits := p.b[start:n]
	if len(digits) == 0 || (len(digits) > 1 && digits[0] == '0') || (start == 1 && string(digits) == "0") {
		p.ok = false
		return 0
	}
	v, err := strconv.ParseInt(string(p.b[:n]), 10, bits)
	if err != nil {
		p.ok = false
		return 0
	}
	p.b = p.b[n:]
	return v
}

func (p *lineParser) ids() []int32 {
	p.lit("[")
	if !p.ok {
		return nil
	}
	if len(p.b) > 0 && p.b[0] == ']' {
		p.b = p.b[1:]
		return []int32{}
	}
	var out []int32
	for p.ok {
		out = append(out, int32(p.int(32)))
		if len(p.b) > 0 && p.b[0] == ']' {
			p.b = p.b[1:]
			return out
		}
		p.lit(", ")
	}
	return nil
}

// plainWord reads a plain scalar up to the next ", " (a topic name).
func (p *lineParser) plainWord() string {
	if !p.ok {
		return ""
	}
	i := bytes.IndexByte(p.b, ',')
	if i < 0 {
		p.ok = false
		return ""
	}
	w := string(p.b[:i])
	if !isPlain(w) {
		p.ok = false
		return ""
	}
	p.b = p.b[i:]
	return w
}

func (p *lineParser) end() bool {
	p.lit("}")
	return p.ok && len(p.b) == 0
}

func parsePartitionLine(line []byte) (Partition, bool) {
	p := lineParser{b: line, ok: true}
	var part Partition
	p.lit("      - {id: ")
	part.ID = int32(p.int(32))
	p.lit(", replicas: ")
	part.Replicas = p.ids()
	p.lit(", leader: ")
	part.Leader = int32(p.int(32))
	p.lit(", isr: ")
	part.ISR = p.ids()
	p.lit(", size: ")
	part.Size = ByteSize(p.int(64))
	return part, p.end()
}

func parseMoveLine(line []byte) (Move, bool) {
	p := lineParser{b: line, ok: true}
	var m Move
	p.lit("      - {topic: ")
	m.Topic = p.plainWord()
	p.lit(", partition: ")
	m.Partition = int32(p.int(32))
	p.lit(", from: ")
	m.From = p.ids()
	p.lit(", to: ")
	m.To = p.ids()
	if p.ok && bytes.HasPrefix(p.b, []byte(", size: ")) {
		p.lit(", size: ")
		m.Size = ByteSize(p.int(64))
	}
	return m, p.end()
}

// Placeholders are one-item lists whose id (or partition) is -1-k: a value
// kshift never writes, so finding it again where it was put is proof enough.
func snapshotPlaceholder(k int) string {
	return "[{id: " + strconv.Itoa(-1-k) + "}]"
}

func planPlaceholder(k int) string {
	return "[{topic: placeholder, partition: " + strconv.Itoa(-1-k) + "}]"
}

func (s *Snapshot) decodeFast(data []byte) bool {
	skel, runs, ok := splitRuns(data, snapshotPlaceholder)
	if !ok || len(runs) == 0 {
		return false
	}
	parsed := make([][]Partition, len(runs))
	for k, run := range runs {
		parts := make([]Partition, len(run))
		for i, line := range run {
			if parts[i], ok = parsePartitionLine(line); !ok {
				return false
			}
		}
		parsed[k] = parts
	}
	var v Snapshot
	if decodeStrict(skel, &v) != nil {
		return false
	}
	found := 0
	for i := range v.Topics {
		ps := v.Topics[i].Partitions
		if len(ps) != 1 || ps[0].ID >= 0 {
			continue
		}
		k := int(-1 - ps[0].ID)
		if k >= len(parsed) || parsed[k] == nil {
			return false
		}
		v.Topics[i].Partitions, parsed[k] = parsed[k], nil
		found++
	}
	if found != len(runs) {
		return false
	}
	*s = v
	return true
}

func (p *Plan) decodeFast(data []byte) bool {
	skel, runs, ok := splitRuns(data, planPlaceholder)
	if !ok || len(runs) == 0 {
		return false
	}
	parsed := make([][]Move, len(runs))
	for k, run := range runs {
		moves := make([]Move, len(run))
		for i, line := range run {
			if moves[i], ok = parseMoveLine(line); !ok {
				return false
			}
		}
		parsed[k] = moves
	}
	var v Plan
	if decodeStrict(skel, &v) != nil {
		return false
	}
	found := 0
	for i := range v.Steps {
		ms := v.Steps[i].Partitions
		if len(ms) != 1 || ms[0].Partition >= 0 || ms[0].Topic != "placeholder" {
			continue
		}
		k := int(-1 - ms[0].Partition)
		if k >= len(parsed) || parsed[k] == nil {
			return false
		}
		v.Steps[i].Partitions, parsed[k] = parsed[k], nil
		found++
	}
	if found != len(runs) {
		return false
	}
	*p = v
	return true
}
