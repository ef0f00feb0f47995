package plans

import (
	"slices"
	"strings"
)

// Phase says what a plan step does. Every step belongs to exactly one phase.
type Phase string

const (
	// PhaseZKJoin adds the target ZooKeeper nodes to the source ensemble as observers.
	PhaseZKJoin Phase = "zk-join"
	// PhaseRaiseRF adds target replicas after the source replicas (source order first,
	// so the preferred leader does not move). Data is copied into the targets.
	PhaseRaiseRF Phase = "raise-rf"
	// PhaseMoveLeader reorders each replica list so a target replica is first, then
	// runs a preferred-leader election. No data moves.
	PhaseMoveLeader Phase = "move-leader"
	// PhaseLowerRF drops the source replicas. No data is copied; sources delete theirs.
	PhaseLowerRF Phase = "lower-rf"
	// PhaseRetireSources ends the Kafka side of a migration: it checks that
	// the source brokers hold nothing, moves the controller off them, tells
	// the operator which brokers to stop and in what order, and is done once
	// they have all left the cluster. It copies and reassigns nothing.
	PhaseRetireSources Phase = "retire-sources"
	// PhaseZKHandover promotes the target ZooKeeper nodes to voters and retires the
	// source voters of a dedicated ensemble.
	PhaseZKHandover Phase = "zk-handover"
	// PhaseZKFork restarts the target ZooKeeper nodes as an ensemble of their own when
	// the source ensemble is shared with other Kafka clusters.
	PhaseZKFork Phase = "zk-fork"
	// PhaseZKPrune deletes the other Kafka clusters' chroots from a forked ensemble.
	PhaseZKPrune Phase = "zk-prune"
)

// AllPhases lists every phase in the order a migration runs them.
var AllPhases = []Phase{PhaseZKJoin, PhaseRaiseRF, PhaseMoveLeader, PhaseLowerRF, PhaseRetireSources, PhaseZKHandover, PhaseZKFork, PhaseZKPrune}

// IsReassignment reports whether steps of this phase change partition replica lists.
func (p Phase) IsReassignment() bool {
	return p == PhaseRaiseRF || p == PhaseMoveLeader || p == PhaseLowerRF
}

// ZooKeeperUndoable reports whether a step of this phase has an undo:
// zk-join and zk-handover restore the membership they found; zk-fork and
// zk-prune change which ensemble the cluster uses or delete data.
func (p Phase) ZooKeeperUndoable() bool { return p == PhaseZKJoin || p == PhaseZKHandover }

// IsZooKeeper reports whether steps of this phase change the ZooKeeper ensemble.
func (p Phase) IsZooKeeper() bool {
	return p == PhaseZKJoin || p == PhaseZKHandover || p == PhaseZKFork || p == PhaseZKPrune
}

// Strategy says how the planner orders the phases.
type Strategy string

const (
	// StrategyPhased runs every raise-rf step, then every move-leader step, then every
	// lower-rf step: the classic shared-cluster order and the default.
	StrategyPhased Strategy = "phased"
	// StrategyRolling runs raise-rf, move-leader and lower-rf for one batch of
	// partitions before starting the next batch, so extra replicas exist only briefly.
	StrategyRolling Strategy = "rolling"
	// StrategyDrain empties one source broker at a time.
	StrategyDrain Strategy = "drain"
)

// AllStrategies lists every strategy the planner knows.
var AllStrategies = []Strategy{StrategyPhased, StrategyRolling, StrategyDrain}

// InternalTopicsOrder says where the planner puts Kafka's internal topics
// (__consumer_offsets, __transaction_state) in each phase.
type InternalTopicsOrder string

const (
	// InternalTopicsFirst moves internal topics right after the canaries.
	InternalTopicsFirst InternalTopicsOrder = "first"
	// InternalTopicsLast moves internal topics after every other topic.
	InternalTopicsLast InternalTopicsOrder = "last"
	// InternalTopicsWithOthers orders internal topics by size like any other topic.
	InternalTopicsWithOthers InternalTopicsOrder = "with-others"
)

// AllInternalTopicsOrders lists every accepted internal_topics value.
var AllInternalTopicsOrders = []InternalTopicsOrder{InternalTopicsFirst, InternalTopicsLast, InternalTopicsWithOthers}

// InternalTopics are Kafka's own topics, which a mapping may schedule separately.
var InternalTopics = []string{"__consumer_offsets", "__transaction_state"}

// IsInternalTopic reports whether name is one of Kafka's internal topics.
func IsInternalTopic(name string) bool { return slices.Contains(InternalTopics, name) }

// KshiftTopicPrefix starts the name of every topic kshift itself creates in a
// cluster (the executor's operator lock). They are not the cluster's data:
// snapshots leave them out and nothing migrates them.
const KshiftTopicPrefix = "__kshift_"

// IsKshiftTopic reports whether name is one of kshift's own topics.
func IsKshiftTopic(name string) bool { return strings.HasPrefix(name, KshiftTopicPrefix) }

// PlanKind tells a forward migration plan from its generated rollback plan.
type PlanKind string

const (
	// KindMigration is a forward plan written by `kshift plan`.
	KindMigration PlanKind = "migration"
	// KindRollback is the inverse of a migration plan: each step undoes one forward step.
	KindRollback PlanKind = "rollback"
)

// AllPlanKinds lists every plan kind.
var AllPlanKinds = []PlanKind{KindMigration, KindRollback}
