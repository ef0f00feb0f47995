package plans

import (
	"bufio"
	"bytes"
	"io"
	"slices"
	"strconv"
	"strings"
)

// The direct writers below produce exactly what yaml.v3 writes for a Plan or
// a Snapshot (two-space indent, one flow-style line per partition). Small
// parts (headers, a step's estimate, topic configs, ZooKeeper sections) still
// go through yaml.v3; only the partition lines are written by hand.

func marshalPlan(p *Plan) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(len(p.Steps)*200 + partitionLines(p)*110 + 1024)
	if err := WritePlan(&buf, p); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// WritePlan writes p as Marshal does, streaming: a 200,000-partition plan is
// 73 MB of YAML that need never be held whole in memory.
func WritePlan(w io.Writer, p *Plan) error {
	return writePlan(w, p, len(p.Steps), func(i int) *Step { return &p.Steps[i] }, func() *Plan { return p }, nil)
}

// writePlan writes the plan whose header is head (its steps are ignored)
// and whose n steps step returns one at a time, in order: a step need only
// live until the next call. Should yaml.v3 write the header in a form the
// direct writer does not expect, yaml.v3 writes the plan whole returns.
//
// Where own[i] is set, it writes it for the move lines of step i instead of
// encoding them. Given for each step exactly the lines it writes for its
// moves, it writes what it writes without own (planAsWritten).
func writePlan(w io.Writer, head *Plan, n int, step func(int) *Step, whole func() *Plan, own [][]byte) error {
	top := *head
	top.Steps = nil
	out, err := marshalYAMLv3(&top)
	if err != nil {
		return err
	}
	const empty = "steps: []\n"
	if n == 0 {
		_, err := w.Write(out)
		return err
	}
	if !bytes.HasSuffix(out, []byte(empty)) {
		out, err := marshalYAMLv3(whole())
		if err != nil {
			return err
		}
		_, err = w.Write(out)
		return err
	}
	bw := bufio.NewWriterSize(w, 256<<10)
	buf := &bytes.Buffer{}
	buf.Write(out[:len(out)-len(empty)])
	buf.WriteString("steps:\n")
	sc := newScalarCache()
	var ids idTexts
	var num []byte
	for i := range n {
		s := step(i)
		if len(s.Partitions) > 0 && s.ZooKeeper != nil {
			// Never written by kshift (Validate refuses it); keep the exact
			// field order by letting yaml.v3 write this step whole.
			one, err := marshalYAMLv3([]Step{*s})
			if err != nil {
				return err
			}
			writeIndented(buf, one, "  ")
		} else {
			if !appendStepHead(buf, s) {
				head := *s
				head.Partitions = nil
				one, err := marshalYAMLv3(&head)
				if err != nil {
					return err
				}
				writeSequenceItem(buf, one, "  ")
			}
			if len(s.Partitions) > 0 {
				buf.WriteString("    partitions:\n")
			}
			if i < len(own) && own[i] != nil {
				if _, err := bw.Write(buf.Bytes()); err != nil {
					return err
				}
				buf.Reset()
				if _, err := bw.Write(own[i]); err != nil {
					return err
				}
				continue
			}
			for j := range s.Partitions {
				num = appendMoveLine(num[:0], &s.Partitions[j], sc, &ids)
				buf.Write(num)
			}
		}
		if _, err := bw.Write(buf.Bytes()); err != nil {
			return err
		}
		buf.Reset()
	}
	if sc.err != nil {
		return sc.err
	}
	return bw.Flush()
}

// appendMoveLine appends the line a plan's step lists m on.
func appendMoveLine(b []byte, m *Move, sc *scalarCache, ids *idTexts) []byte {
	b = append(b, "      - {topic: "...)
	b = append(b, sc.flow(m.Topic)...)
	b = append(b, ", partition: "...)
	b = ids.append(b, m.Partition)
	b = append(b, ", from: "...)
	b = ids.appendFlow(b, m.From)
	b = append(b, ", to: "...)
	b = ids.appendFlow(b, m.To)
	if m.Size != 0 {
		b = append(b, ", size: "...)
		b = strconv.AppendInt(b, int64(m.Size), 10)
	}
	return append(b, "}\n"...)
}

// appendStepHead writes the fields of a reassignment step before its
// partitions as yaml.v3 does, and reports false (writing nothing) for a step
// it leaves to yaml.v3: a ZooKeeper or retire-sources step, or a phase or
// duration yaml.v3 might quote. A field added to Step must be written here
// or make the step fall back (TestStepHeadKnowsEveryField).
func appendStepHead(buf *bytes.Buffer, s *Step) bool {
	e := &s.Estimate
	dur, fixed := e.Duration.String(), e.FixedCost.String()
	if s.ZooKeeper != nil || s.Retire != nil || !isPlain(string(s.Phase)) || !plainDuration(dur) || !plainDuration(fixed) {
		return false
	}
	var b [32]byte
	field := func(indent, name string, v int64) {
		buf.WriteString(indent)
		buf.WriteString(name)
		buf.Write(strconv.AppendInt(b[:0], v, 10))
		buf.WriteByte('\n')
	}
	field("  - ", "number: ", int64(s.Number))
	buf.WriteString("    phase: ")
	buf.WriteString(string(s.Phase))
	buf.WriteByte('\n')
	if s.Undoes != 0 {
		field("    ", "undoes: ", int64(s.Undoes))
	}
	if s.Throttle != 0 {
		field("    ", "throttle: ", int64(s.Throttle))
	}
	buf.WriteString("    estimate:\n")
	field("      ", "bytes_to_copy: ", int64(e.BytesToCopy))
	if e.BusiestBroker != 0 {
		field("      ", "busiest_broker: ", int64(e.BusiestBroker))
	}
	if e.BusiestBrokerBytes != 0 {
		field("      ", "busiest_broker_bytes: ", int64(e.BusiestBrokerBytes))
	}
	buf.WriteString("      duration: ")
	buf.WriteString(dur)
	buf.WriteByte('\n')
	if e.FixedCost != 0 {
		buf.WriteString("      fixed_cost: ")
		buf.WriteString(fixed)
		buf.WriteByte('\n')
	}
	return true
}

// plainDuration reports whether yaml.v3 writes a Go duration string
// unquoted: digits and unit letters, starting with a digit and ending with a
// letter, so that it cannot read as a number.
func plainDuration(d string) bool {
	if d == "" || d[0] < '0' || d[0] > '9' {
		return false
	}
	last := d[len(d)-1]
	if last < 'a' || last > 'z' {
		return false
	}
	for i := 0; i < len(d); i++ {
		if c := d[i]; !(c >= '0' && c <= '9' || c == '.' || c == 'h' || c == 'm' || c == 's' || c == 'u' || c == 'n') {
			return false
		}
	}
	return true
}

// idTexts writes ids in decimal, the small ones (broker and partition ids)
// from a table filled as they are first met: a large plan writes a few
// hundred broker ids millions of times. Its zero value is ready.
type idTexts struct {
	text []string // by id; "" until met
}

// maxIDText is the first id idTexts does not keep in its table.
const maxIDText = 1 << 16

func (t *idTexts) append(b []byte, id int32) []byte {
	if id < 0 || id >= maxIDText {
		return strconv.AppendInt(b, int64(id), 10)
	}
	if int(id) >= len(t.text) {
		t.text = append(t.text, make([]string, int(id)+1-len(t.text))...)
	}
	s := t.text[id]
	if s == "" {
		s = strconv.Itoa(int(id))
		t.text[id] = s
	}
	return append(b, s...)
}

// appendFlow writes ids as a flow sequence: [1, 2, 3].
func (t *idTexts) appendFlow(b []byte, ids []int32) []byte {
	b = append(b, '[')
	for i, id := range ids {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = t.append(b, id)
	}
	return append(b, ']')
}

func partitionLines(p *Plan) int {
	n := 0
	for i := range p.Steps {
		n += len(p.Steps[i].Partitions)
	}
	return n
}

func marshalSnapshot(s *Snapshot) ([]byte, error) {
	buf := bytes.NewBuffer(make([]byte, 0, len(s.Topics)*60+s.PartitionCount()*90+1024))
	if err := writeSnapshot(buf, s, nil); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// writeSnapshot writes s to w as Marshal does. Into a bytes.Buffer it
// writes directly; to any other writer, in pieces of about 256 KiB.
//
// Where own[i] is set, it writes it for the partition lines of topic i
// instead of encoding them. Given for each topic exactly the lines it
// writes for its partitions, it writes what it writes without own
// (snapshotAsWritten).
func writeSnapshot(w io.Writer, s *Snapshot, own [][]byte) error {
	head := *s
	head.Topics = nil
	head.ZooKeeper = nil
	out, err := marshalYAMLv3(&head)
	if err != nil {
		return err
	}
	const empty = "topics: []\n"
	if !bytes.HasSuffix(out, []byte(empty)) {
		out, err := marshalYAMLv3(s)
		if err != nil {
			return err
		}
		_, err = w.Write(out)
		return err
	}
	buf, direct := w.(*bytes.Buffer)
	if !direct {
		buf = bytes.NewBuffer(make([]byte, 0, 256<<10+4096))
	}
	// flush hands w what buf holds if it holds least bytes or more; never
	// when writing directly.
	flush := func(least int) error {
		if direct || buf.Len() < least {
			return nil
		}
		_, err := w.Write(buf.Bytes())
		buf.Reset()
		return err
	}
	if len(s.Topics) == 0 {
		buf.Write(out)
	} else {
		buf.Write(out[:len(out)-len(empty)])
		buf.WriteString("topics:\n")
	}
	configs := map[string][]byte{}
	for i := range s.Topics {
		t := &s.Topics[i]
		if isPlain(t.Name) {
			buf.WriteString("  - name: ")
			buf.WriteString(t.Name)
			buf.WriteByte('\n')
			if len(t.Configs) > 0 {
				block, err := configsBlock(configs, t.Configs)
				if err != nil {
					return err
				}
				buf.Write(block)
			}
		} else {
			head := *t
			head.Partitions = nil
			one, err := marshalYAMLv3(&head)
			if err != nil {
				return err
			}
			one = bytes.TrimSuffix(one, []byte("partitions: []\n"))
			writeSequenceItem(buf, one, "  ")
		}
		if len(t.Partitions) == 0 {
			buf.WriteString("    partitions: []\n")
			continue
		}
		buf.WriteString("    partitions:\n")
		if i < len(own) && own[i] != nil {
			if err := flush(0); err != nil {
				return err
			}
			if direct {
				buf.Write(own[i])
			} else if _, err := w.Write(own[i]); err != nil {
				return err
			}
			continue
		}
		for j := range t.Partitions {
			p := &t.Partitions[j]
			buf.WriteString("      - {id: ")
			buf.WriteString(strconv.FormatInt(int64(p.ID), 10))
			buf.WriteString(", replicas: ")
			writeFlowIDs(buf, p.Replicas)
			buf.WriteString(", leader: ")
			buf.WriteString(strconv.FormatInt(int64(p.Leader), 10))
			buf.WriteString(", isr: ")
			writeFlowIDs(buf, p.ISR)
			buf.WriteString(", size: ")
			buf.WriteString(strconv.FormatInt(int64(p.Size), 10))
			buf.WriteString("}\n")
		}
		if err := flush(256 << 10); err != nil {
			return err
		}
	}
	if s.ZooKeeper != nil {
		zk, err := marshalYAMLv3(struct {
			ZooKeeper *Ensemble `yaml:"zookeeper"`
		}{s.ZooKeeper})
		if err != nil {
			return err
		}
		buf.Write(zk)
	}
	return flush(0)
}

// configsBlock returns a topic's configs as yaml.v3 writes them in the
// topic's item of a snapshot, encoding them only once for each set of
// configs in done: most topics of a large cluster share theirs, and
// yaml.v3 took most of the time writing a snapshot's topic lines.
func configsBlock(done map[string][]byte, c map[string]string) ([]byte, error) {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var id []byte // each key and value with its length before it: no two sets share one
	for _, k := range keys {
		id = strconv.AppendInt(id, int64(len(k)), 10)
		id = append(append(append(id, ':'), k...), ' ')
		id = strconv.AppendInt(id, int64(len(c[k])), 10)
		id = append(append(append(id, ':'), c[k]...), ' ')
	}
	if block, ok := done[string(id)]; ok {
		return block, nil
	}
	one, err := marshalYAMLv3(struct {
		Configs map[string]string `yaml:"configs"`
	}{c})
	if err != nil {
		return nil, err
	}
	var block bytes.Buffer
	writeIndented(&block, one, "    ")
	done[string(id)] = block.Bytes()
	return block.Bytes(), nil
}

func writeFlowIDs(buf *bytes.Buffer, ids []int32) {
	buf.WriteByte('[')
	for i, id := range ids {
		if i > 0 {
			buf.WriteString(", ")
		}
		// Appended in place: FormatInt allocates for ids of 100 and more.
		buf.Write(strconv.AppendInt(buf.AvailableBuffer(), int64(id), 10))
	}
	buf.WriteByte(']')
}

// writeSequenceItem writes a YAML mapping document as one item of a block
// sequence indented by indent: "- " before the first line, two spaces
// before the others.
func writeSequenceItem(buf *bytes.Buffer, doc []byte, indent string) {
	for i, line := range strings.SplitAfter(string(doc), "\n") {
		if line == "" {
			continue
		}
		buf.WriteString(indent)
		if i == 0 {
			buf.WriteString("- ")
		} else {
			buf.WriteString("  ")
		}
		buf.WriteString(line)
	}
}

// writeIndented writes a YAML sequence document indented by indent.
func writeIndented(buf *bytes.Buffer, doc []byte, indent string) {
	for _, line := range strings.SplitAfter(string(doc), "\n") {
		if line != "" {
			buf.WriteString(indent)
			buf.WriteString(line)
		}
	}
}

// scalarCache writes strings as yaml.v3 would in a flow mapping, asking
// yaml.v3 itself for any string that is not obviously plain, once per
// distinct string.
type scalarCache struct {
	flowed map[string]string
	err    error
}

func newScalarCache() *scalarCache {
	return &scalarCache{flowed: map[string]string{}}
}

// isPlain reports whether yaml.v3 writes s unquoted in block and flow context
// alike: a letter or underscore, then letters, digits, '_', '.', '-', and not
// a word YAML reads as a boolean or null.
func isPlain(s string) bool {
	if s == "" || !(s[0] == '_' || s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z') {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c == '.' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	if len(s) > 5 {
		return true // longer than any word below: no need to lower-case it
	}
	switch strings.ToLower(s) {
	case "y", "yes", "n", "no", "true", "false", "on", "off", "null":
		return false
	}
	return true
}

// flow returns s as the value of a flow mapping entry.
func (c *scalarCache) flow(s string) string {
	if isPlain(s) {
		return s
	}
	if v, ok := c.flowed[s]; ok {
		return v
	}
	out, err := marshalYAMLv3(flowWrap{s})
	if err != nil && c.err == nil {
		c.err = err
	}
	v := strings.TrimSuffix(strings.TrimPrefix(string(out), "{v: "), "}\n")
	c.flowed[s] = v
	return v
}

// flowWrap is a one-field mapping yaml.v3 writes in flow style.
type flowWrap struct {
	V string `yaml:"v"`
}

// MarshalYAML writes the mapping in flow style, as partition lines are.
func (f flowWrap) MarshalYAML() (any, error) {
	type plain flowWrap
	return flowNode(plain(f))
}
