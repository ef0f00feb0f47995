package plans

import (
	"bytes"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
)

// Decoding a 200,000-partition snapshot with yaml.v3 takes several seconds
// and gigabytes, nearly all of it in the partition lines. Files in the form
// kshift writes (one flow-style line per partition or move, directly under a
// `partitions:` key at four spaces) take a fast path: those lines are parsed
// by hand, each run of them is replaced by a one-item placeholder list, and
// the rest of the file (the skeleton, a few percent of it) is decoded by
// yaml.v3 strictly, as before. In a snapshot's skeleton, the topic items
// kshift writes (a name, perhaps configs, the placeholder) are parsed by
// hand too, each run of them replaced by one placeholder topic. Any line the fast parser does not recognise
// exactly, any block scalar, any error from the skeleton, or a placeholder
// that does not come back where it was put, sends the whole file down the
// plain yaml.v3 path, which then reports errors with the file's own line
// numbers. Tests check that both paths give equal values.

// fastDecoder is implemented by the formats with a fast path.
type fastDecoder interface {
	// decodeFast decodes data if it is in kshift's own form and reports
	// whether it did, with the runs of lines it parsed by hand; when it did
	// not, v is unchanged.
	decodeFast(data []byte) ([]fastRun, bool)
}

// fastRun is one run of list lines the fast path parsed by hand.
type fastRun struct {
	// item is the index of the step (or topic) whose list the run became.
	item int
	// text is the run's lines as they are in the file.
	text []byte
	// exact reports whether text is byte for byte what kshift writes for
	// the list parsed from it, every line ending in '\n'.
	exact bool
}

const runKey = "    partitions:"

// run is one run of list lines cut out of a file.
type run struct {
	text  []byte // the lines as in the file, each with its '\n' but perhaps the file's last
	lines int
}

// splitRuns cuts the runs of lines that start with "      - {" directly
// under a "    partitions:" line out of data, replacing each with
// placeholder(k). It gives up (ok false) on a block scalar indicator or a
// run line outside such a key.
func splitRuns(data []byte, placeholder func(k int) string) (skeleton []byte, runs []run, ok bool) {
	const item = "      - {"
	skel := make([]byte, 0, len(data)/8)
	// next is where the line at pos ends, and where the line after it starts.
	next := func(pos int) (end, after int) {
		i := bytes.IndexByte(data[pos:], '\n')
		if i < 0 {
			return len(data), len(data)
		}
		return pos + i, pos + i + 1
	}
	var prevBare bool // the previous line was exactly runKey
	for pos := 0; pos < len(data); {
		end, after := next(pos)
		line := data[pos:end]
		if bytes.HasPrefix(line, []byte(item)) {
			if !prevBare {
				return nil, nil, false
			}
			// Cut the run: this line and the next ones of the same form.
			start, n := pos, 1
			for pos = after; pos < len(data) && bytes.HasPrefix(data[pos:], []byte(item)); n++ {
				_, pos = next(pos)
			}
			// Replace the bare key written just before with the placeholder.
			skel = skel[:len(skel)-len(runKey)-1]
			skel = append(skel, runKey...)
			skel = append(skel, ' ')
			skel = append(skel, placeholder(len(runs))...)
			skel = append(skel, '\n')
			runs = append(runs, run{text: data[start:pos], lines: n})
			prevBare = false
			continue
		}
		if bytes.ContainsAny(line, "|>") {
			return nil, nil, false
		}
		prevBare = string(line) == runKey
		skel = append(skel, line...)
		skel = append(skel, '\n')
		pos = after
	}
	return skel, runs, true
}

// lineParser reads one flow-style line in kshift's exact form. A 200,000-
// partition plan has 600,000 move lines: the parser allocates nothing per
// number, keeps one copy of each topic name (intern) and carves replica
// lists out of shared blocks (ids), so decoding costs a few allocations per
// thousand lines.
type lineParser struct {
	b  []byte
	ok bool
	// inexact is set by a line that parses but that kshift would write
	// otherwise (a `size: 0` it leaves out).
	inexact bool
	// intern maps a topic name to its one string.
	intern map[string]string
	// block is where the next replica lists are carved from.
	block []int32
}

func (p *lineParser) reset(line []byte) {
	p.b, p.ok = line, true
}

func (p *lineParser) lit(s string) {
	if p.ok && len(p.b) >= len(s) && string(p.b[:len(s)]) == s {
		p.b = p.b[len(s):]
		return
	}
	p.ok = false
}

// int reads a decimal integer the way kshift writes it: no sign but '-', no
// leading zeros, no underscores, so that yaml.v3 would read the same number;
// one out of the range of bits is refused.
func (p *lineParser) int(bits int) int64 {
	// Most numbers are positive and short: up to 9 digits fit in 32 bits.
	if b := p.b; p.ok && len(b) > 0 && b[0] >= '1' && b[0] <= '9' {
		v, n := int64(b[0]-'0'), 1
		for ; n < len(b) && n < 9 && b[n] >= '0' && b[n] <= '9'; n++ {
			v = v*10 + int64(b[n]-'0')
		}
		if n == len(b) || b[n] < '0' || b[n] > '9' {
			p.b = b[n:]
			return v
		}
	}
	return p.intAnyLength(bits)
}

// intAnyLength is int for every number.
func (p *lineParser) intAnyLength(bits int) int64 {
	if !p.ok {
		return 0
	}
	n := 0
	neg := n < len(p.b) && p.b[n] == '-'
	if neg {
		n++
	}
	start := n
	var v uint64
	limit := uint64(1) << (bits - 1) // the magnitude of the smallest value
	for n < len(p.b) && p.b[n] >= '0' && p.b[n] <= '9' {
		if v > limit/10 {
			p.ok = false // more digits than the range has
			return 0
		}
		v = v*10 + uint64(p.b[n]-'0')
		if v > limit {
			p.ok = false
			return 0
		}
		n++
	}
	digits := n - start
	if digits == 0 || (digits > 1 && p.b[start] == '0') || (neg && v == 0) || (!neg && v == limit) {
		p.ok = false
		return 0
	}
	p.b = p.b[n:]
	if neg {
		return -int64(v)
	}
	return int64(v)
}

// ids reads a flow list of broker ids into a slice of its own capacity
// carved from a shared block.
func (p *lineParser) ids() []int32 {
	if ids, ok := p.shortIDs(); ok {
		return ids
	}
	return p.anyIDs()
}

// shortIDs is ids for the lists nearly every line has, which it reads in
// one loop: 1 to 16 ids, each of 1 to 9 digits with no sign or leading zero.
// On any other list it reports false and reads nothing, and anyIDs, which
// reads these lists the same way, reads it.
func (p *lineParser) shortIDs() ([]int32, bool) {
	b := p.b
	if !p.ok || len(b) == 0 || b[0] != '[' {
		return nil, false
	}
	var buf [16]int32
	n := 0
	for i := 1; ; {
		if n == len(buf) || i >= len(b) || b[i] < '1' || b[i] > '9' {
			return nil, false
		}
		v, start := int32(b[i]-'0'), i
		for i++; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
			if i-start == 9 {
				return nil, false
			}
			v = v*10 + int32(b[i]-'0')
		}
		buf[n] = v
		n++
		switch {
		case i < len(b) && b[i] == ']':
			if len(p.block) < n {
				p.block = make([]int32, 4096)
			}
			ids := p.block[:n:n]
			p.block = p.block[n:]
			copy(ids, buf[:n])
			p.b = b[i+1:]
			return ids, true
		case i+1 < len(b) && b[i] == ',' && b[i+1] == ' ':
			i += 2
		default:
			return nil, false
		}
	}
}

// anyIDs is ids for every list.
func (p *lineParser) anyIDs() []int32 {
	p.lit("[")
	if !p.ok {
		return nil
	}
	if len(p.b) > 0 && p.b[0] == ']' {
		p.b = p.b[1:]
		return []int32{}
	}
	var buf [16]int32
	n := 0
	var long []int32 // a list longer than buf, on the heap
	for p.ok {
		v := int32(p.int(32))
		switch {
		case long != nil:
			long = append(long, v)
		case n < len(buf):
			buf[n] = v
			n++
		default:
			long = append(append(make([]int32, 0, 2*len(buf)), buf[:]...), v)
		}
		if len(p.b) > 0 && p.b[0] == ']' {
			p.b = p.b[1:]
			if long != nil {
				return long
			}
			if len(p.block) < n {
				p.block = make([]int32, 4096)
			}
			ids := p.block[:n:n]
			p.block = p.block[n:]
			copy(ids, buf[:n])
			return ids
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
	w, ok := p.intern[string(p.b[:i])]
	if !ok {
		w = string(p.b[:i])
		if !isPlain(w) {
			p.ok = false
			return ""
		}
		if p.intern == nil {
			p.intern = map[string]string{}
		}
		p.intern[w] = w
	}
	p.b = p.b[i:]
	return w
}

func (p *lineParser) end() bool {
	p.lit("}")
	return p.ok && len(p.b) == 0
}

func (p *lineParser) partitionLine(line []byte) (Partition, bool) {
	p.reset(line)
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

func (p *lineParser) moveLine(line []byte) (Move, bool) {
	p.reset(line)
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
		if m.Size == 0 {
			p.inexact = true
		}
	}
	return m, p.end()
}

// parseRuns parses every run with parse, the runs shared out between the
// processors (each worker with a parser of its own), and reports whether
// every line parsed, and for each run whether it is exact (fastRun.exact).
func parseRuns[T any](runs []run, parse func(*lineParser, []byte) (T, bool)) (parsed [][]T, exact []bool, ok bool) {
	parsed, exact = make([][]T, len(runs)), make([]bool, len(runs))
	workers := min(runtime.GOMAXPROCS(0), len(runs))
	var next atomic.Int64
	var failed atomic.Bool
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var p lineParser
			for !failed.Load() {
				k := int(next.Add(1) - 1)
				if k >= len(runs) {
					return
				}
				r := &runs[k]
				items := make([]T, r.lines)
				text := r.text
				p.inexact = false
				for i := range items {
					line := text
					if j := bytes.IndexByte(text, '\n'); j >= 0 {
						line, text = text[:j], text[j+1:]
					} else {
						text = nil
					}
					var ok bool
					if items[i], ok = parse(&p, line); !ok {
						failed.Store(true)
						return
					}
				}
				parsed[k] = items
				exact[k] = !p.inexact && bytes.HasSuffix(r.text, []byte{'\n'})
			}
		}()
	}
	wg.Wait()
	return parsed, exact, !failed.Load()
}

// Placeholders are one-item lists whose id (or partition) is -1-k: a value
// kshift never writes, so finding it again where it was put is proof enough.
func snapshotPlaceholder(k int) string {
	return "[{id: " + strconv.Itoa(-1-k) + "}]"
}

func planPlaceholder(k int) string {
	return "[{topic: placeholder, partition: " + strconv.Itoa(-1-k) + "}]"
}

func (s *Snapshot) decodeFast(data []byte) ([]fastRun, bool) {
	skel, runs, ok := splitRuns(data, snapshotPlaceholder)
	if !ok || len(runs) == 0 {
		return nil, false
	}
	parsed, exact, ok := parseRuns(runs, (*lineParser).partitionLine)
	if !ok {
		return nil, false
	}
	skel, heads := cutTopicHeads(skel, len(runs))
	var v Snapshot
	if decodeStrict(skel, &v) != nil {
		return nil, false
	}
	fast := make([]fastRun, 0, len(runs))
	topics := make([]Topic, 0, len(v.Topics))
	// place puts the run k of partition lines back in t, the topic at
	// index len(topics).
	place := func(t *Topic, k int) bool {
		if k >= len(parsed) || parsed[k] == nil {
			return false
		}
		t.Partitions, parsed[k] = parsed[k], nil
		fast = append(fast, fastRun{item: len(topics), text: runs[k].text, exact: exact[k]})
		return true
	}
	for i := range v.Topics {
		t := v.Topics[i]
		ps := t.Partitions
		if len(ps) != 1 || ps[0].ID >= 0 {
			topics = append(topics, t)
			continue
		}
		k := int(-1 - ps[0].ID)
		if k < len(runs) {
			if !place(&t, k) {
				return nil, false
			}
			topics = append(topics, t)
			continue
		}
		// A run of topic heads cut out whole.
		j := k - len(runs)
		if t.Name != "placeholder" || j >= len(heads) || heads[j] == nil {
			return nil, false
		}
		for _, h := range heads[j] {
			if h.run >= 0 && !place(&h.topic, h.run) {
				return nil, false
			}
			topics = append(topics, h.topic)
		}
		heads[j] = nil
	}
	if len(fast) != len(runs) {
		return nil, false
	}
	for _, h := range heads {
		if h != nil {
			return nil, false
		}
	}
	v.Topics = topics
	*s = v
	return fast, true
}

// topicHead is a snapshot topic whose lines before its partitions were
// parsed by hand, with the run of partition lines it lists (-1: none).
type topicHead struct {
	topic Topic
	run   int
}

// cutTopicHeads cuts out of a snapshot's skeleton (splitRuns) the runs of
// topic items in kshift's exact form, parses them and puts one placeholder
// topic in their place, whose partition id is -1-k for the run k after
// the partitionRuns runs of partition lines: yaml.v3 took longer over the
// skeleton of a 20,000-topic snapshot (four short lines a topic) than over
// the rest of planning's input. A topic item in any other form is left to
// yaml.v3 as it is.
func cutTopicHeads(skel []byte, partitionRuns int) ([]byte, [][]topicHead) {
	var heads [][]topicHead
	out := make([]byte, 0, len(skel)/4)
	var cur []topicHead // the run being cut
	end := func() {
		if cur == nil {
			return
		}
		out = append(out, "  - name: placeholder\n    partitions: "...)
		out = append(out, snapshotPlaceholder(partitionRuns+len(heads))...)
		out = append(out, '\n')
		heads = append(heads, cur)
		cur = nil
	}
	inTopics := false
	for pos := 0; pos < len(skel); {
		line, after := skelLine(skel, pos)
		if inTopics && bytes.HasPrefix(line, []byte("  - ")) {
			if h, next, ok := parseTopicHead(skel, pos); ok {
				cur = append(cur, h)
				pos = next
				continue
			}
		}
		end()
		if len(line) > 0 && line[0] != ' ' {
			inTopics = string(line) == "topics:"
		}
		out = append(out, skel[pos:after]...)
		pos = after
	}
	end()
	return out, heads
}

// skelLine returns the line at pos, without its '\n', and where the next
// one starts.
func skelLine(b []byte, pos int) (line []byte, after int) {
	i := bytes.IndexByte(b[pos:], '\n')
	if i < 0 {
		return b[pos:], len(b)
	}
	return b[pos : pos+i], pos + i + 1
}

// parseTopicHead parses the topic item at pos of a skeleton if it is
// exactly as kshift writes one, lines ending in '\n' and its placeholder
// for partition lines put by splitRuns (an item of the list under topics):
//
//	topics:
//	  - name: NAME
//	    configs:
//	      KEY: VALUE
//	    partitions: [{id: -1-k}]   (or [])
//
// NAME and every KEY plain words (isPlain), each VALUE a plain word or
// digits in double quotes, no KEY twice, configs left out when there are
// none, and the item ended there. It returns the topic as yaml.v3 decodes
// it and where the next line starts.
func parseTopicHead(b []byte, pos int) (topicHead, int, bool) {
	h := topicHead{run: -1}
	next := func() ([]byte, bool) {
		if pos >= len(b) {
			return nil, false
		}
		line, after := skelLine(b, pos)
		if after == len(b) && (len(b) == 0 || b[len(b)-1] != '\n') {
			return nil, false
		}
		pos = after
		return line, true
	}
	line, ok := next()
	name, found := bytes.CutPrefix(line, []byte("  - name: "))
	if !ok || !found || !isPlain(string(name)) {
		return h, 0, false
	}
	h.topic.Name = string(name)
	if line, ok = next(); !ok {
		return h, 0, false
	}
	if string(line) == "    configs:" {
		h.topic.Configs = map[string]string{}
		for {
			if line, ok = next(); !ok {
				return h, 0, false
			}
			entry, found := bytes.CutPrefix(line, []byte("      "))
			if !found {
				break
			}
			key, value, found := bytes.Cut(entry, []byte(": "))
			if !found || !isPlain(string(key)) {
				return h, 0, false
			}
			if _, twice := h.topic.Configs[string(key)]; twice {
				return h, 0, false
			}
			v, ok := plainOrQuotedDigits(value)
			if !ok {
				return h, 0, false
			}
			h.topic.Configs[string(key)] = v
		}
		if len(h.topic.Configs) == 0 {
			return h, 0, false
		}
	}
	ps, found := bytes.CutPrefix(line, []byte("    partitions: "))
	if !found {
		return h, 0, false
	}
	if string(ps) == "[]" {
		h.topic.Partitions = []Partition{}
	} else {
		id, found := bytes.CutPrefix(ps, []byte("[{id: -"))
		id, found2 := bytes.CutSuffix(id, []byte("}]"))
		k, err := strconv.Atoi(string(id))
		if !found || !found2 || err != nil || k < 1 || string(ps) != snapshotPlaceholder(k-1) {
			return h, 0, false
		}
		h.run = k - 1
	}
	// The item ends here: the next line is another item or a top-level key.
	if pos < len(b) && b[pos] == ' ' && !bytes.HasPrefix(b[pos:], []byte("  - ")) {
		return h, 0, false
	}
	return h, pos, true
}

// plainOrQuotedDigits reads a config value as yaml.v3 does if kshift
// writes it so: a plain word (isPlain), or digits (perhaps none) in double
// quotes, as yaml.v3 writes a string it would otherwise read as a number.
func plainOrQuotedDigits(v []byte) (string, bool) {
	if isPlain(string(v)) {
		return string(v), true
	}
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return "", false
	}
	for _, c := range v[1 : len(v)-1] {
		if c < '0' || c > '9' {
			return "", false
		}
	}
	return string(v[1 : len(v)-1]), true
}

func (p *Plan) decodeFast(data []byte) ([]fastRun, bool) {
	skel, runs, ok := splitRuns(data, planPlaceholder)
	if !ok || len(runs) == 0 {
		return nil, false
	}
	parsed, exact, ok := parseRuns(runs, (*lineParser).moveLine)
	if !ok {
		return nil, false
	}
	var v Plan
	if decodeStrict(skel, &v) != nil {
		return nil, false
	}
	fast := make([]fastRun, 0, len(runs))
	for i := range v.Steps {
		ms := v.Steps[i].Partitions
		if len(ms) != 1 || ms[0].Partition >= 0 || ms[0].Topic != "placeholder" {
			continue
		}
		k := int(-1 - ms[0].Partition)
		if k >= len(parsed) || parsed[k] == nil {
			return nil, false
		}
		v.Steps[i].Partitions, parsed[k] = parsed[k], nil
		fast = append(fast, fastRun{item: i, text: runs[k].text, exact: exact[k]})
	}
	if len(fast) != len(runs) {
		return nil, false
	}
	*p = v
	return fast, true
}
