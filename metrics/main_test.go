package metrics

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if a goroutine outlives them: the
// exporter's loop, its gRPC client and the fake MetricService must all end.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
