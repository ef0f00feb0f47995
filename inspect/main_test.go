package inspect

import (
	"os"
	"testing"

	"github.com/kshift/kshift/internal/kafkatest"
)

// TestMain stops the real Kafka cluster the package's real-broker tests
// share (kafkatest.Shared), if one of them started it.
func TestMain(m *testing.M) { os.Exit(kafkatest.Main(m)) }

// realCluster is the real Kafka 2.4 cluster this package's tests share.
var realCluster = kafkatest.Options{Brokers: 2}
