package main

import (
	"slices"
	"strings"
	"testing"
)

// The plugins get what Python and the enrichers read, nothing else of the host's:
// Google credentials and Firestore settings are the Go service's alone.
func TestPluginEnvKeepsOnlyWhatThePluginsRead(t *testing.T) {
	host := []string{
		"PATH=/usr/bin", "HOME=/home/svc", "LOG_LEVEL=debug", "TOGETHER_API_KEY=k", "TOGETHER_AI_MODEL=m",
		"GOOGLE_APPLICATION_CREDENTIALS=/secrets/sa.json", "GOOGLE_CLOUD_PROJECT=p", "FIRESTORE_EMULATOR_HOST=127.0.0.1:8080",
		"ENRICH_ADMIN_TOKEN=secret", "REDIS_URL=redis://x",
	}
	got := pluginEnv(host, 2)
	for _, want := range []string{"PATH=/usr/bin", "HOME=/home/svc", "LOG_LEVEL=debug", "TOGETHER_API_KEY=k",
		"TOGETHER_AI_MODEL=m", "PYTHONUNBUFFERED=1", "ENRICH_PLUGIN_THREADS=4"} {
		if !slices.Contains(got, want) {
			t.Errorf("plugin env %v lacks %s", got, want)
		}
	}
	for _, kv := range got {
		for _, secret := range []string{"GOOGLE_", "FIRESTORE_", "ENRICH_ADMIN", "REDIS_"} {
			if strings.HasPrefix(kv, secret) {
				t.Errorf("plugin env holds %s", kv)
			}
		}
	}
}
