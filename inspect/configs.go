package inspect

// Broker config keys that matter for a move, recorded in Broker.Configs.
const (
	KeyIBP                  = "inter.broker.protocol.version"
	KeyLogMessageFormat     = "log.message.format.version"
	KeyMessageMaxBytes      = "message.max.bytes"
	KeyReplicaFetchMaxBytes = "replica.fetch.max.bytes"
	KeyNumReplicaFetchers   = "num.replica.fetchers"
	KeyListeners            = "listeners"
	KeyAdvertisedListeners  = "advertised.listeners"
	KeyListenerProtocolMap  = "listener.security.protocol.map"
	KeyInterBrokerListener  = "inter.broker.listener.name"
	KeyAutoLeaderRebalance  = "auto.leader.rebalance.enable"
	KeyUncleanElection      = "unclean.leader.election.enable"
	KeyMinInsyncReplicas    = "min.insync.replicas"
	KeyBrokerRack           = "broker.rack"
	KeyZooKeeperConnect     = "zookeeper.connect"
	KeyLeaderRate           = "leader.replication.throttled.rate"
	KeyFollowerRate         = "follower.replication.throttled.rate"
)

// Topic config keys recorded in Topic.Configs.
const (
	KeyLeaderThrottledReplicas   = "leader.replication.throttled.replicas"
	KeyFollowerThrottledReplicas = "follower.replication.throttled.replicas"
	KeyMaxMessageBytes           = "max.message.bytes"
	KeyMessageFormat             = "message.format.version"
)

// UnknownValue is recorded for a config that is set but that the broker does
// not reveal: throttle rates on Kafka before 3.x when no ZooKeeper connection
// was given to read them from /config/brokers/N.
const UnknownValue = "unknown"

// brokerConfigKeys are asked of every broker (DescribeConfigs ConfigNames).
var brokerConfigKeys = []string{
	KeyIBP, KeyLogMessageFormat, KeyMessageMaxBytes, KeyReplicaFetchMaxBytes, KeyNumReplicaFetchers,
	KeyListeners, KeyAdvertisedListeners, KeyListenerProtocolMap, KeyInterBrokerListener,
	KeyAutoLeaderRebalance, KeyUncleanElection, KeyMinInsyncReplicas, KeyZooKeeperConnect,
	KeyLeaderRate, KeyFollowerRate,
}

// rateKeys are the broker throttle rates.
var rateKeys = []string{KeyLeaderRate, KeyFollowerRate}

// topicConfigKeys are asked of every topic.
var topicConfigKeys = []string{
	KeyMinInsyncReplicas, KeyLeaderThrottledReplicas, KeyFollowerThrottledReplicas, KeyUncleanElection, KeyMaxMessageBytes, KeyMessageFormat,
}

// alwaysRecordedTopicKeys are recorded with their effective value even when
// it is Kafka's default, because the planner needs them.
var alwaysRecordedTopicKeys = map[string]bool{KeyMinInsyncReplicas: true}

// ComparedBrokerKeys are the broker configs whose differences between source
// and target brokers the config gate flags.
var ComparedBrokerKeys = []string{
	KeyIBP, KeyLogMessageFormat, KeyMessageMaxBytes, KeyReplicaFetchMaxBytes, KeyNumReplicaFetchers,
}
