package main

import (
	"testing"
	"time"
)

func TestParseConfigReadsTheCrashLoopGuard(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"AUTH_MODE":                           "none",
		"ENRICH_PLUGIN_CRASH_LOOP_THRESHOLD":  "3",
		"ENRICH_PLUGIN_CRASH_LOOP_WINDOW_MS":  "10000",
		"ENRICH_PLUGIN_CRASH_LOOP_BACKOFF_MS": "2000",
	}
	cfg, err := ParseConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	got := cfg.Plugin
	if got.CrashLoopThreshold != 3 || got.CrashLoopWindow != 10*time.Second || got.CrashLoopBackoff != 2*time.Second {
		t.Fatalf("crash-loop guard = %d / %s / %s", got.CrashLoopThreshold, got.CrashLoopWindow, got.CrashLoopBackoff)
	}

	env["ENRICH_PLUGIN_CRASH_LOOP_THRESHOLD"] = "0"
	if _, err := ParseConfig(func(k string) string { return env[k] }); err == nil {
		t.Fatal("a threshold of 0 was accepted")
	}
}
