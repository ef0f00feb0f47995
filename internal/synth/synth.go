// Package synth generates realistic synthetic clusters in mid-migration shape
// (source brokers holding every replica, target brokers joined and empty) with
// a matching mapping, for tests, benchmarks and trying kshift without a
// cluster. The output is a pure function of Options: the same seed always
// gives the same snapshot and mapping.
//
// It must not talk to the network or read files; it only builds values.
package synth

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/kshift/kshift/plans"
)

// Options describe the cluster to generate. Zero fields take the defaults
// noted on each.
type Options struct {
	// SourceBrokers is the number of source brokers, ids 1..N (default 6).
	SourceBrokers int
	// TargetBrokers is the number of target brokers, ids 1001.. (default 6).
	TargetBrokers int
	// Racks is the number of source racks r1..rN (default 3).
	Racks int
	// TargetRacks is the number of target racks z1..zN (default Racks).
	TargetRacks int
	// Topics is the number of topics, the two internal topics included (default 30).
	Topics int
	// Partitions is the total number of partitions (default 10 per topic).
	Partitions int
	// TotalBytes is the sum of all partition sizes (default 512 MiB per partition).
	TotalBytes plans.ByteSize
	// Seed makes the output reproducible.
	Seed uint64
}

// TargetIDBase is added to 1, 2, ... to number the target brokers.
const TargetIDBase = 1000

func (o *Options) defaults() {
	if o.SourceBrokers <= 0 {
		o.SourceBrokers = 6
	}
	if o.TargetBrokers <= 0 {
		o.TargetBrokers = 6
	}
	if o.Racks <= 0 {
		o.Racks = 3
	}
	if o.TargetRacks <= 0 {
		o.TargetRacks = o.Racks
	}
	if o.Topics <= 0 {
		o.Topics = 30
	}
	if o.Partitions <= 0 {
		o.Partitions = 10 * o.Topics
	}
	if o.Partitions < o.Topics {
		o.Partitions = o.Topics
	}
	if o.TotalBytes <= 0 {
		o.TotalBytes = plans.ByteSize(o.Partitions) * (512 << 20)
	}
}

// Generate builds a snapshot of a cluster whose source brokers hold every
// replica (RF 3 mostly, some RF 2, rack-aware) and whose target brokers are
// registered and empty, with skewed topic sizes and partition counts, the
// internal topics, some topics with min.insync.replicas=2, a few leaders that
// are not the preferred replica, and a mapping that maps source racks onto
// target racks with the default limits and throttle.
func Generate(opts Options) (*plans.Snapshot, *plans.Mapping) {
	opts.defaults()
	rng := rand.New(rand.NewPCG(opts.Seed, 0x6b7368696674))

	snap := &plans.Snapshot{
		Version:    plans.FormatVersion,
		ClusterID:  fmt.Sprintf("synth-%d", opts.Seed),
		Controller: 1,
	}
	sources := make([]int32, opts.SourceBrokers)
	for i := range sources {
		id := int32(i + 1)
		sources[i] = id
		snap.Brokers = append(snap.Brokers, broker(id, fmt.Sprintf("r%d", i%opts.Racks+1)))
	}
	targets := make([]int32, opts.TargetBrokers)
	for i := range targets {
		id := int32(TargetIDBase + i + 1)
		targets[i] = id
		snap.Brokers = append(snap.Brokers, broker(id, fmt.Sprintf("z%d", i%opts.TargetRacks+1)))
	}

	// Rack-alternating order (r1, r2, r3, r1, ...), as Kafka's own
	// rack-aware assignment uses: consecutive brokers sit in distinct racks.
	alt := rackAlternating(snap.Brokers[:opts.SourceBrokers])

	counts, internal := partitionCounts(rng, opts)
	weights := make([]float64, len(counts))
	var sum float64
	for i := range weights {
		// Log-normal topic sizes: a few huge topics, many tiny ones.
		weights[i] = math.Exp(rng.NormFloat64() * 2.2)
		sum += weights[i]
	}
	snap.Topics = make([]plans.Topic, len(counts))
	for t := range counts {
		topic := &snap.Topics[t]
		rf := 3
		switch {
		case t < internal:
			topic.Name = plans.InternalTopics[t]
		default:
			topic.Name = fmt.Sprintf("topic-%05d", t-internal)
			if rng.IntN(10) == 0 {
				rf = 2
			}
		}
		if rf > opts.SourceBrokers {
			rf = opts.SourceBrokers
		}
		if rf == 3 && (t == 1 || rng.IntN(5) == 0) {
			topic.Configs = map[string]string{plans.MinInsyncReplicasKey: "2"}
		}
		topicBytes := float64(opts.TotalBytes) * weights[t] / sum
		perPartition := topicBytes / float64(counts[t])
		start := rng.IntN(len(alt))
		topic.Partitions = make([]plans.Partition, counts[t])
		for p := range topic.Partitions {
			replicas := make([]int32, rf)
			for r := range replicas {
				replicas[r] = alt[(start+p+r)%len(alt)]
			}
			leader := replicas[0]
			if rf > 1 && rng.IntN(50) == 0 {
				leader = replicas[1]
			}
			size := perPartition * (0.8 + 0.4*rng.Float64())
			topic.Partitions[p] = plans.Partition{
				ID:       int32(p),
				Replicas: replicas,
				Leader:   leader,
				ISR:      replicas,
				Size:     plans.ByteSize(size),
			}
		}
	}

	rackMap := make(map[string]string, opts.Racks)
	for i := 0; i < opts.Racks; i++ {
		rackMap[fmt.Sprintf("r%d", i+1)] = fmt.Sprintf("z%d", i%opts.TargetRacks+1)
	}
	mapping := &plans.Mapping{
		Version:        plans.FormatVersion,
		SourceBrokers:  sources,
		TargetBrokers:  targets,
		RackMap:        rackMap,
		Limits:         plans.DefaultLimits,
		Throttle:       plans.DefaultThrottle,
		InternalTopics: plans.InternalTopicsFirst,
		Strategy:       plans.StrategyPhased,
	}
	if opts.TargetRacks < 3 && opts.Racks >= 3 {
		// Fewer target zones than source racks: the usual reason to lower RF.
		mapping.ReplicationFactor.Default = opts.TargetRacks
		if mapping.ReplicationFactor.Default < 2 {
			mapping.ReplicationFactor.Default = 2
		}
	}
	return snap, mapping
}

func broker(id int32, rack string) plans.Broker {
	return plans.Broker{
		ID:           id,
		Rack:         rack,
		Host:         fmt.Sprintf("kafka-%d.example.internal", id),
		Port:         9092,
		KafkaVersion: "2.4.1",
	}
}

func rackAlternating(brokers []plans.Broker) []int32 {
	byRack := map[string][]int32{}
	var racks []string
	for _, b := range brokers {
		if _, ok := byRack[b.Rack]; !ok {
			racks = append(racks, b.Rack)
		}
		byRack[b.Rack] = append(byRack[b.Rack], b.ID)
	}
	sort.Strings(racks)
	out := make([]int32, 0, len(brokers))
	for i := 0; len(out) < len(brokers); i++ {
		for _, r := range racks {
			if i < len(byRack[r]) {
				out = append(out, byRack[r][i])
			}
		}
	}
	return out
}

// partitionCounts returns the number of partitions of each topic (internal
// topics first) and how many internal topics there are. Counts sum to
// opts.Partitions; the spread is skewed (most topics small, a few wide).
func partitionCounts(rng *rand.Rand, opts Options) ([]int, int) {
	counts := make([]int, opts.Topics)
	internal := 0
	left := opts.Partitions
	// Kafka creates both internal topics with 50 partitions; small synthetic
	// clusters get scaled-down versions so the total still holds.
	internalParts := 50
	if opts.Partitions < 10*50 {
		internalParts = max(1, opts.Partitions/20)
	}
	for internal < len(plans.InternalTopics) && opts.Topics-internal > 1 && left-internalParts >= opts.Topics-internal-1 {
		counts[internal] = internalParts
		left -= internalParts
		internal++
	}
	rest := counts[internal:]
	for i := range rest {
		rest[i] = 1
	}
	left -= len(rest)
	if left <= 0 || len(rest) == 0 {
		return counts, internal
	}
	weights := make([]float64, len(rest))
	var sum float64
	for i := range weights {
		weights[i] = math.Exp(rng.NormFloat64() * 1.3)
		sum += weights[i]
	}
	given := 0
	for i := range rest {
		n := int(float64(left) * weights[i] / sum)
		rest[i] += n
		given += n
	}
	// Hand out the rounding remainder one by one, deterministically.
	for i := 0; given < left; i = (i + 1) % len(rest) {
		rest[i]++
		given++
	}
	return counts, internal
}
