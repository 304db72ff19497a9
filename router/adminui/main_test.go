package adminui

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a goroutine outlives the tests: the sampler and
// the console's restarts must end with Stop.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
