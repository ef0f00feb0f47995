package plans

import (
	"errors"
	"fmt"
	"slices"
)

// problems collects every validation failure of a file with its location, so a
// person fixes them all in one round instead of one per run.
type problems struct {
	errs []error
}

// add records a problem at loc ("step 4, partition orders-3"); loc may be empty.
func (p *problems) add(loc, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if loc != "" {
		msg = loc + ": " + msg
	}
	p.errs = append(p.errs, errors.New(msg))
}

// err joins the problems, or returns nil when there are none.
func (p *problems) err() error { return errors.Join(p.errs...) }

// Problems splits an error returned by a Validate or Load function into its
// individual problems, for printing one per line.
func Problems(err error) []error {
	if err == nil {
		return nil
	}
	// One problem per line of a file stays an InputError naming the file.
	if ie, ok := err.(*InputError); ok {
		var out []error
		for _, e := range Problems(ie.Err) {
			out = append(out, &InputError{File: ie.File, Err: e})
		}
		return out
	}
	var joined interface{ Unwrap() []error }
	if errors.As(err, &joined) {
		var out []error
		for _, e := range joined.Unwrap() {
			out = append(out, Problems(e)...)
		}
		return out
	}
	return []error{err}
}

// hasDuplicateID reports whether ids lists an id twice, without allocating
// for the short lists replica lists are.
func hasDuplicateID(ids []int32) bool {
	if len(ids) > 16 {
		return len(duplicateIDs(ids)) > 0
	}
	for i := range ids {
		if slices.Contains(ids[i+1:], ids[i]) {
			return true
		}
	}
	return false
}

func duplicateIDs(ids []int32) []int32 {
	seen := make(map[int32]bool, len(ids))
	var dups []int32
	for _, id := range ids {
		if seen[id] {
			dups = append(dups, id)
		}
		seen[id] = true
	}
	return dups
}
