package main

import (
	"strings"
	"testing"
	"time"
)

func TestParseConfig(t *testing.T) {
	t.Parallel()
	repo := []string{"-repo", "/repo", "-service-bin", "/bin/svc"}
	t.Run("DefaultsRunEveryModeAtFullSize", func(t *testing.T) {
		t.Parallel()
		cfg, err := ParseConfig(repo)
		if err != nil {
			t.Fatal(err)
		}
		if len(cfg.Modes) != len(allModes) || cfg.Jobs != JobsDefault || cfg.ThroughputJobs != ThroughputJobsDefault {
			t.Errorf("modes %v, jobs %d, throughput jobs %d", cfg.Modes, cfg.Jobs, cfg.ThroughputJobs)
		}
		if cfg.DataPath != "/repo/cmd/hh-enrich-data/testdata/candidates.jsonl" || cfg.PythonBin != "/repo/.venv/bin/python" {
			t.Errorf("paths from -repo: data %s, python %s", cfg.DataPath, cfg.PythonBin)
		}
	})
	t.Run("QuickShrinksOnlyWhatWasNotGiven", func(t *testing.T) {
		t.Parallel()
		cfg, err := ParseConfig(append([]string{"-quick", "-jobs", "7"}, repo...))
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Jobs != 7 || cfg.Concurrency != 5 || cfg.ThroughputJobs != 600 || cfg.Timeout != 3*time.Minute {
			t.Errorf("jobs %d (want 7), concurrency %d (want 5), throughput jobs %d (want 600), timeout %s (want 3m)",
				cfg.Jobs, cfg.Concurrency, cfg.ThroughputJobs, cfg.Timeout)
		}
	})
	t.Run("ServiceEnvIsRepeatable", func(t *testing.T) {
		t.Parallel()
		cfg, err := ParseConfig(append([]string{"-service-env", "A=1", "-service-env", "B=x=y"}, repo...))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(cfg.ServiceEnv, " ") != "A=1 B=x=y" {
			t.Errorf("service env %v", cfg.ServiceEnv)
		}
	})
	t.Run("ReportsEveryBadValueAtOnce", func(t *testing.T) {
		t.Parallel()
		_, err := ParseConfig(append([]string{"-modes", "limit,warp", "-jobs", "0", "-tenants", "-1"}, repo...))
		if err == nil {
			t.Fatal("no error")
		}
		for _, want := range []string{`unknown mode "warp"`, "-jobs=0", "-tenants=-1"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q lacks %q", err, want)
			}
		}
	})
	t.Run("RejectsABadServiceEnv", func(t *testing.T) {
		t.Parallel()
		if _, err := ParseConfig(append([]string{"-service-env", "NOEQUALS"}, repo...)); err == nil {
			t.Error("no error for -service-env without =")
		}
	})
}
