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

// A value the service would misread (LOG_LEVEL=verbose ran at info) or refuse only
// later (REDIS_PORT=abc at the first dial, PORT=99999 at listen) is refused at
// start, by name, with every other bad value.
func TestParseConfigRefusesWhatItWouldMisreadLater(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"AUTH_MODE":  "none",
		"LOG_LEVEL":  "verbose",
		"REDIS_PORT": "abc",
		"PORT":       "99999",
		"REDIS_URL":  "garbage-with-secret",
	}
	_, err := ParseConfig(func(k string) string { return env[k] })
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{`LOG_LEVEL="verbose"`, `REDIS_PORT="abc"`, `PORT="99999"`, "REDIS_URL: want redis://"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the refusal does not say %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "secret") {
		t.Errorf("the refusal echoes REDIS_URL, which may hold a password:\n%v", err)
	}
	for _, good := range []map[string]string{
		{"AUTH_MODE": "none", "LOG_LEVEL": "TRACE", "PORT": "0", "REDIS_URL": "rediss://u:p@h:6380/2"},
		{"AUTH_MODE": "none", "LOG_LEVEL": "off", "REDIS_URL": "unix:///run/redis.sock", "REDIS_PORT": "6380"},
	} {
		if _, err := ParseConfig(func(k string) string { return good[k] }); err != nil {
			t.Errorf("%v refused: %v", good, err)
		}
	}
}
