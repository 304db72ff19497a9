package main

import (
	"strings"
	"testing"
	"time"
)

func TestParseConfig(t *testing.T) {
	t.Parallel()
	repo := []string{"-repo", "/r", "-service-bin", "/b/svc"}
	t.Run("FullRunByDefault", func(t *testing.T) {
		t.Parallel()
		cfg, err := ParseConfig(repo)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Sizes.StormJobs != 10_000 || cfg.Sizes.FuzzExecs != 100_000 || cfg.Timeout != TimeoutDefault {
			t.Errorf("sizes %+v, timeout %s", cfg.Sizes, cfg.Timeout)
		}
		if len(cfg.Scenarios) != len(allScenarios) || cfg.DataPath != "/r/cmd/hh-enrich-data/testdata/candidates.jsonl" {
			t.Errorf("scenarios %v, data %s", cfg.Scenarios, cfg.DataPath)
		}
	})
	t.Run("QuickShrinksAndFlagsStillWin", func(t *testing.T) {
		t.Parallel()
		cfg, err := ParseConfig(append(repo, "-quick", "-storm-jobs", "50", "-fuzz-execs", "1000"))
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Sizes.StormJobs != 50 || cfg.Sizes.FuzzExecs != 1000 || cfg.Sizes.Instances != 2 || cfg.Timeout != QuickTimeoutDefault {
			t.Errorf("sizes %+v, timeout %s", cfg.Sizes, cfg.Timeout)
		}
		if cfg.Sizes.Deadline != 90*time.Second || cfg.OutPath != QuickOutPathDefault {
			t.Errorf("deadline %s, out %s: the quick run must not replace the full run's results", cfg.Sizes.Deadline, cfg.OutPath)
		}
	})
	t.Run("NamesEveryBadValue", func(t *testing.T) {
		t.Parallel()
		_, err := ParseConfig(append(repo, "-scenarios", "kill-storm,nope", "-pool-size", "0"))
		if err == nil || !strings.Contains(err.Error(), `unknown scenario "nope"`) || !strings.Contains(err.Error(), "-pool-size=0") {
			t.Errorf("error %v", err)
		}
	})
}
