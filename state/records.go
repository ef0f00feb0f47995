package state

import (
	"fmt"
	"time"

	"github.com/kshift/kshift/plans"
)

// PriorValue is a config value as it was before kshift touched it.
type PriorValue struct {
	// Present is false when the key was not set at all.
	Present bool `json:"present"`
	// Known is false when the key was set but its value could not be read.
	Known bool   `json:"known"`
	Value string `json:"value"`
}

// TopicThrottle is what kshift did to one topic's throttled-replica lists.
type TopicThrottle struct {
	PriorLeader   PriorValue `json:"prior_leader"`
	PriorFollower PriorValue `json:"prior_follower"`
	// Leader and Follower are the "partition:broker" entries kshift added
	// (entries that were already listed are not kshift's).
	Leader   []string `json:"leader,omitempty"`
	Follower []string `json:"follower,omitempty"`
}

// BrokerThrottle is what kshift did to one broker's throttle rates.
type BrokerThrottle struct {
	PriorLeaderRate   PriorValue `json:"prior_leader_rate"`
	PriorFollowerRate PriorValue `json:"prior_follower_rate"`
}

// ThrottleRecord is everything kshift changed in throttle configs for a run,
// with the values from before, so that it can be undone exactly, by whoever
// runs the cleanup on whatever host. It stays in the store until the run
// that cleans it up deletes it.
type ThrottleRecord struct {
	// ID names the record; it is the record's znode name, so it must be a
	// valid one (see ValidRecordID).
	ID      string                    `json:"id"`
	Rate    plans.Rate                `json:"rate"`
	Topics  map[string]*TopicThrottle `json:"topics"`
	Brokers map[int32]*BrokerThrottle `json:"brokers"`
	// Plan and Step say which step set the throttles, for `kshift status`;
	// PlanSHA256 is the plan's hash, which is the same on every host (its
	// path is not).
	Plan       string `json:"plan,omitempty"`
	PlanSHA256 string `json:"plan_sha256,omitempty"`
	Step       int    `json:"step,omitempty"`
}

// NewThrottleRecord returns an empty record.
func NewThrottleRecord(id string, rate plans.Rate) *ThrottleRecord {
	return &ThrottleRecord{ID: id, Rate: rate, Topics: map[string]*TopicThrottle{}, Brokers: map[int32]*BrokerThrottle{}}
}

// Empty reports whether the record holds nothing kshift still owns.
func (r *ThrottleRecord) Empty() bool {
	for _, t := range r.Topics {
		if len(t.Leader) > 0 || len(t.Follower) > 0 {
			return false
		}
	}
	return len(r.Brokers) == 0
}

// ValidRecordID checks that id can name a throttle record: a ZooKeeper
// node name of at most 200 characters without "/", not "." or "..".
func ValidRecordID(id string) error {
	switch {
	case id == "" || id == "." || id == "..":
		return fmt.Errorf("throttle record id %q is not a valid name", id)
	case len(id) > 200:
		return fmt.Errorf("throttle record id %q is longer than 200 characters", id)
	}
	for _, c := range id {
		if c == '/' || c < 0x20 || c == 0x7f {
			return fmt.Errorf("throttle record id %q holds a %q: use letters, digits, '-', '_' and '.'", id, c)
		}
	}
	return nil
}

// Holder says who takes the operator lock; the caller fills it in.
type Holder struct {
	Host    string    `json:"host" yaml:"host"`
	PID     int       `json:"pid" yaml:"pid"`
	User    string    `json:"user" yaml:"user"`
	Command string    `json:"command" yaml:"command"`
	Plan    string    `json:"plan" yaml:"plan"`
	Step    int       `json:"step" yaml:"step"`
	Since   time.Time `json:"since" yaml:"since"`
}

func (h Holder) String() string {
	return fmt.Sprintf("%s on host %s (pid %d, user %s), plan %s step %d, since %s", h.Command, h.Host, h.PID, h.User, h.Plan, h.Step, h.Since.Format(time.RFC3339))
}

// LockInfo is the operator lock as the store shows it: its holder and the
// lease that frees it when the holder dies.
type LockInfo struct {
	Holder `yaml:",inline"`
	// Session is the ZooKeeper session that holds the lock (0 in the memory
	// store): the lock lives exactly as long as that session.
	Session int64 `json:"session" yaml:"session"`
	// Lease is the session timeout the holder asked for: a holder that dies
	// or is cut off loses the lock that long after its last contact with
	// ZooKeeper. The server clamps it to [2, 20] times its tickTime. Zero
	// means no lease (the in-process memory store).
	Lease time.Duration `json:"lease" yaml:"lease"`
	// Epoch counts the acquisitions of the lock; this one is the Epoch-th.
	Epoch int64 `json:"epoch" yaml:"epoch"`
	// Problem is set when the lock exists but its holder record cannot be
	// read; the Holder fields are then empty.
	Problem string `json:"problem,omitempty" yaml:"problem,omitempty"`
}

func (l LockInfo) String() string {
	if l.Problem != "" {
		return fmt.Sprintf("an unknown holder (%s)", l.Problem)
	}
	s := l.Holder.String()
	if l.Lease > 0 {
		s += fmt.Sprintf(", ZooKeeper session 0x%x with a lease of %s", l.Session, l.Lease)
	}
	return s
}

// RateOverride is the throttle rate an operator set during a step (`kshift
// throttle set`): it stands until the step ends, across interruptions and
// resumes, on every host.
type RateOverride struct {
	Rate    plans.Rate `json:"rate" yaml:"rate"`
	User    string     `json:"user" yaml:"user"`
	Host    string     `json:"host" yaml:"host"`
	Time    time.Time  `json:"time" yaml:"time"`
	Command string     `json:"command" yaml:"command"`
}

// AuditEvent says what an audit record is about.
type AuditEvent string

const (
	// AuditStart opens a command's run on a step.
	AuditStart AuditEvent = "start"
	// AuditCall is one mutating call and its result.
	AuditCall AuditEvent = "call"
	// AuditThrottles records the throttle record: prior values and what kshift
	// added (written before the configs are changed).
	AuditThrottles AuditEvent = "throttles"
	// AuditThrottlesCleared closes a throttle record: everything it added is gone.
	AuditThrottlesCleared AuditEvent = "throttles-cleared"
	// AuditEnd closes a run with its outcome.
	AuditEnd AuditEvent = "end"
)

// AllAuditEvents lists every audit event.
var AllAuditEvents = []AuditEvent{AuditStart, AuditCall, AuditThrottles, AuditThrottlesCleared, AuditEnd}

// AuditRecord is one record of the audit trail.
type AuditRecord struct {
	// Run names the run the record belongs to. The store sets it when it
	// reads records back (it is not stored in the record); the local copy
	// of the audit trail keeps it, which tells that copy's records from
	// those of an older kshift that kept no trail in the cluster.
	Run        string    `json:"run,omitempty"`
	Time       time.Time `json:"time"`
	User       string    `json:"user"`
	Host       string    `json:"host"`
	PID        int       `json:"pid"`
	ClusterID  string    `json:"cluster_id"`
	Plan       string    `json:"plan,omitempty"`
	PlanSHA256 string    `json:"plan_sha256,omitempty"`
	Command    string    `json:"command"`
	Step       int       `json:"step,omitempty"`
	// Undoes is the forward step whose undo the record is about: kshift
	// rollback and a cancel of its undo number the undo as that step
	// (step = undoes), a step of rollback.yaml applied keeps its own number.
	// Without it, the record is about step Step itself.
	Undoes    int             `json:"undoes,omitempty"`
	Event     AuditEvent      `json:"event"`
	Call      string          `json:"call,omitempty"`
	Request   any             `json:"request,omitempty"`
	Result    string          `json:"result,omitempty"`
	Error     string          `json:"error,omitempty"`
	Throttles *ThrottleRecord `json:"throttles,omitempty"`
}

// AuditFilter selects audit records; the zero filter selects every record.
type AuditFilter struct {
	// Since keeps the records of this time or later.
	Since time.Time
	// Plan keeps the records of this plan (its file name).
	Plan string
}

func (f AuditFilter) keep(r *AuditRecord) bool {
	return !r.Time.Before(f.Since) && (f.Plan == "" || r.Plan == f.Plan)
}
