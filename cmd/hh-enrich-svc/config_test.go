package main

import (
	"strings"
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

func TestAShortAdminTokenRefusesToStartOutsideTheLocalProfile(t *testing.T) {
	t.Parallel()
	short := "local-admin-token"
	for _, tc := range []struct {
		name  string
		env   map[string]string
		start bool
	}{
		{"DeployedWithAShortToken", map[string]string{"REDIS_HOST": "10.0.0.3", "ENRICH_ADMIN_TOKEN": short}, false},
		{"DeployedWithA32ByteToken", map[string]string{"REDIS_URL": "redis://r:6379", "ENRICH_ADMIN_TOKEN": strings.Repeat("k", 32)}, true},
		{"LocalProfile", map[string]string{"ENRICH_PROFILE": "local", "ENRICH_ADMIN_TOKEN": short}, true},
		{"LocalProfileOnARealRedis", map[string]string{"ENRICH_PROFILE": "local", "REDIS_HOST": "127.0.0.1", "ENRICH_ADMIN_TOKEN": short}, true},
		{"NoTokenAtAll", map[string]string{"REDIS_HOST": "10.0.0.3"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.env["AUTH_MODE"] = "none"
			_, err := ParseConfig(func(k string) string { return tc.env[k] })
			if (err == nil) != tc.start || (err != nil && !strings.Contains(err.Error(), "ENRICH_ADMIN_TOKEN is 17 bytes")) {
				t.Fatalf("start = %v (%v), want %v", err == nil, err, tc.start)
			}
		})
	}
}
