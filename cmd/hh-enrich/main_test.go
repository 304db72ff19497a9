package main

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no test leaves a goroutine behind: the batch pipeline's
// reader, workers and writer must all end with the run.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
