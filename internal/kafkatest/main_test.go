package kafkatest

import (
	"os"
	"testing"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

// sharedOptions is the one cluster this package's tests share.
var sharedOptions = Options{Brokers: 3}
