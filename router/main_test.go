package router

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a goroutine outlives the tests: the
// Authenticator's key fetchers must stop with Stop.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
