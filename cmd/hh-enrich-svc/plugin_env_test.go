package main

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestProxyAndCAVariablesReachThePluginProcesses starts the service with a
// corporate proxy's variables and reads the running plugins' environments from
// /proc: each must arrive unchanged, and the service's own secrets must not.
func TestProxyAndCAVariablesReachThePluginProcesses(t *testing.T) {
	t.Parallel()
	want := map[string]string{
		"HTTPS_PROXY": "http://proxy.corp.example:3128", "https_proxy": "http://proxy.corp.example:3129",
		"HTTP_PROXY": "http://proxy.corp.example:8080", "http_proxy": "http://proxy.corp.example:8081",
		"NO_PROXY": "127.0.0.1,localhost,.internal", "no_proxy": "127.0.0.1,localhost",
		"SSL_CERT_FILE": "/etc/ssl/certs/ca-certificates.crt", "SSL_CERT_DIR": "/etc/ssl/certs",
		"REQUESTS_CA_BUNDLE": "/etc/ssl/certs/ca-certificates.crt",
	}
	extra := []string{"ENRICH_ADMIN_TOKEN=not-for-plugins"}
	for k, v := range want {
		extra = append(extra, k+"="+v)
	}
	s := startService(t, extra...)
	pids := s.pluginPIDs()
	if len(pids) == 0 {
		t.Fatal("no plugin process running")
	}
	for _, pid := range pids {
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, kv := range strings.Split(string(raw), "\x00") {
			if k, v, ok := strings.Cut(kv, "="); ok {
				got[k] = v
			}
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("plugin %d: %s=%q, want %q", pid, k, got[k], v)
			}
		}
		for _, secret := range []string{"ENRICH_ADMIN_TOKEN", "REDIS_URL"} {
			if _, ok := got[secret]; ok {
				t.Errorf("plugin %d has %s", pid, secret)
			}
		}
	}
}
