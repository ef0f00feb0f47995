package planner

import (
	"fmt"
	"strings"
)

// WarningKind says what a warning is about, so that the summary can group
// warnings and tests can look for one kind.
type WarningKind string

const (
	// WarnRFAtMinISR: a topic's target RF equals its min.insync.replicas, so
	// losing one replica (a broker restart) makes producers with acks=all
	// fail; at RF 1 a broker down takes the partition offline altogether.
	WarnRFAtMinISR WarningKind = "rf-equals-min-insync"
	// WarnFewerRacksThanRF: the target racks a partition may use are fewer
	// than its RF, so some replicas share a rack.
	WarnFewerRacksThanRF WarningKind = "fewer-racks-than-rf"
	// WarnOverCapacity: a target broker ends with more bytes than its known disk capacity.
	WarnOverCapacity WarningKind = "over-capacity"
	// WarnOverFill: a target broker ends above the fill limit of its disk
	// (85% unless the plan was made with another).
	WarnOverFill WarningKind = "over-fill-limit"
	// WarnRackConcentration: a rack's brokers end with far more bytes each
	// than the mean of all targets (uneven racks under rack spread).
	WarnRackConcentration WarningKind = "rack-concentration"
	// WarnPartitionOverStepLimit: a partition copies more than bytes_per_step
	// (it gets a step of its own) or takes longer than max_step_duration (its
	// step lasts as long as it does).
	WarnPartitionOverStepLimit WarningKind = "partition-over-step-limit"
	// WarnUnknownTopic: a canary or excluded topic is not in the snapshot (a
	// typo, or a topic deleted since); it is ignored.
	WarnUnknownTopic WarningKind = "unknown-topic"
	// WarnUnusedTarget: a target broker receives no replica (its rack is not
	// in the rack_map, or there is too little to place).
	WarnUnusedTarget WarningKind = "unused-target"
	// WarnAlreadyOnTargets: partitions already wholly on target brokers are
	// left as they are, even where their RF differs from the target RF.
	WarnAlreadyOnTargets WarningKind = "already-on-targets"
	// WarnUnderReplicated: partitions whose ISR is smaller than their replica
	// list (or that are offline) in the snapshot; the executor refuses a step
	// holding them until they are back in sync.
	WarnUnderReplicated WarningKind = "under-replicated"
	// WarnLeaderNotPreferred: partitions led by a replica other than their
	// first; the estimates use the actual leader as the sender.
	WarnLeaderNotPreferred WarningKind = "leader-not-preferred"
	// WarnBrokerMapCollision: broker_map sends two replicas of a partition to
	// the same target; the second goes to the least loaded other target.
	WarnBrokerMapCollision WarningKind = "broker-map-collision"
	// WarnRackSpread: partitions whose final replicas share a rack although
	// the target racks would allow a spread (a broker_map that says so).
	WarnRackSpread WarningKind = "rack-spread"
	// WarnBalance: the final balance misses the promised bounds (sizes or
	// racks do not allow better); the summary shows the spread reached.
	WarnBalance WarningKind = "balance"
)

// AllWarningKinds lists every warning kind.
var AllWarningKinds = []WarningKind{
	WarnRFAtMinISR, WarnFewerRacksThanRF, WarnOverCapacity, WarnOverFill, WarnRackConcentration, WarnPartitionOverStepLimit,
	WarnUnknownTopic, WarnUnusedTarget, WarnAlreadyOnTargets, WarnUnderReplicated,
	WarnLeaderNotPreferred, WarnBrokerMapCollision, WarnRackSpread, WarnBalance,
}

// Warning is something an operator must know about a plan that does not stop
// it from being written. Subject names what it is about (a topic, a broker,
// a partition).
type Warning struct {
	Kind    WarningKind `yaml:"kind" json:"kind"`
	Subject string      `yaml:"subject" json:"subject"`
	Message string      `yaml:"message" json:"message"`
}

func (w Warning) String() string { return fmt.Sprintf("%s: %s: %s", w.Kind, w.Subject, w.Message) }

// examples lists at most n names, comma-separated, followed by how many
// more there are.
func examples(names []string, n int) string {
	if len(names) <= n {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:n], ", "), len(names)-n)
}
