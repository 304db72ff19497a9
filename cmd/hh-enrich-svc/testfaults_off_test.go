//go:build !testfaults

package main

import (
	"slices"
	"testing"
)

func TestAProductionBuildNeverPassesTestFaultsToItsPlugins(t *testing.T) {
	t.Parallel()
	env := pluginEnv([]string{"PATH=/bin", "ENRICH_TEST_FAULTS=1"}, 1)
	if slices.Contains(env, "ENRICH_TEST_FAULTS=1") || !slices.Contains(env, "PATH=/bin") {
		t.Fatalf("plugin env = %v, want PATH without ENRICH_TEST_FAULTS", env)
	}
}
