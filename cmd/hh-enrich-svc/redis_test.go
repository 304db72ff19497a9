package main

import (
	"net"
	"strings"
	"testing"

	"github.com/headhunter/hh-enrich-svc/store/redistest"
)

// TestRedisTLS connects as the service does to a real redis-server that speaks
// only TLS with a certificate from a private CA made here.
func TestRedisTLS(t *testing.T) {
	t.Parallel()
	files := redistest.NewTLSFiles(t)
	addr := redistest.StartTLS(t, files)
	host, port, _ := net.SplitHostPort(addr)
	hostPort := map[string]string{"REDIS_HOST": host, "REDIS_PORT": port, "REDIS_TLS": "true"}
	with := func(base map[string]string, extra ...string) map[string]string {
		vars := map[string]string{}
		for k, v := range base {
			vars[k] = v
		}
		for i := 0; i < len(extra); i += 2 {
			vars[extra[i]] = extra[i+1]
		}
		return vars
	}
	for _, tc := range []struct {
		name    string
		vars    map[string]string
		failure string // empty: PING answers
	}{
		{"HostPortWithThePrivateCA", with(hostPort, "REDIS_TLS_CA", files.CA), ""},
		{"RedissURLWithThePrivateCA", map[string]string{"REDIS_URL": "rediss://" + addr, "REDIS_TLS_CA": files.CA}, ""},
		// The server is no cluster: that it says so proves the TLS handshake
		// with the cluster client's settings succeeded.
		{"ClusterSeedsTakeTheCAToo", with(hostPort, "REDIS_TLS_CA", files.CA, "REDIS_MODE", "cluster"), "cluster support disabled"},
		{"WithoutTheCATheCertificateIsRefused", hostPort, "certificate signed by unknown authority"},
		{"RejectUnauthorizedFalseSkipsTheCheck", with(hostPort, "REDIS_TLS_REJECT_UNAUTHORIZED", "false"), ""},
		{"WithoutTLSNothingAnswers", map[string]string{"REDIS_HOST": host, "REDIS_PORT": port}, "EOF"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := ParseConfig(redisEnv(tc.vars))
			if err != nil {
				t.Fatal(err)
			}
			m := &Main{Config: cfg}
			client, _, err := m.newRedisClient()
			if err != nil {
				t.Fatal(err)
			}
			defer client.Close()
			err = client.Ping(t.Context()).Err()
			switch {
			case tc.failure == "" && err != nil:
				t.Errorf("PING: %v, want PONG", err)
			case tc.failure != "" && (err == nil || !strings.Contains(err.Error(), tc.failure)):
				t.Errorf("PING: %v, want an error with %q", err, tc.failure)
			}
		})
	}
	t.Run("AFileWithoutACertificateIsAConfigurationError", func(t *testing.T) {
		t.Parallel()
		cfg, err := ParseConfig(redisEnv(with(hostPort, "REDIS_TLS_CA", files.Key)))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := (&Main{Config: cfg}).newRedisClient(); err == nil || !strings.Contains(err.Error(), "REDIS_TLS_CA") {
			t.Errorf("newRedisClient with a key as the CA: %v, want a REDIS_TLS_CA error", err)
		}
	})
}

func TestClusterSeeds(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		vars map[string]string
		want []string
	}{
		{"FromREDIS_CLUSTER_NODES", map[string]string{"REDIS_MODE": "cluster", "REDIS_CLUSTER_NODES": "a:1, b:2,", "REDIS_HOST": "c"}, []string{"a:1", "b:2"}},
		{"FromREDIS_URL", map[string]string{"REDIS_MODE": "cluster", "REDIS_URL": "redis://a:1?addr=b:2"}, []string{"a:1", "b:2"}},
		{"FromREDIS_HOST", map[string]string{"REDIS_MODE": "cluster", "REDIS_HOST": "discovery.example", "REDIS_PORT": "6379"}, []string{"discovery.example:6379"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := ParseConfig(redisEnv(tc.vars))
			if err != nil {
				t.Fatal(err)
			}
			opts, err := clusterOptions(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(opts.Addrs, ",") != strings.Join(tc.want, ",") {
				t.Errorf("seeds %v, want %v", opts.Addrs, tc.want)
			}
		})
	}
	t.Run("ClusterWithoutSeedsIsAnError", func(t *testing.T) {
		t.Parallel()
		cfg, err := ParseConfig(redisEnv(map[string]string{"REDIS_MODE": "cluster"}))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := clusterOptions(cfg); err == nil {
			t.Error("clusterOptions with no seeds: nil error, want one")
		}
	})
	t.Run("NodesWithoutClusterModeIsAnError", func(t *testing.T) {
		t.Parallel()
		if _, err := ParseConfig(redisEnv(map[string]string{"REDIS_CLUSTER_NODES": "a:1"})); err == nil {
			t.Error("ParseConfig: nil error, want one")
		}
	})
}

// redisEnv is vars plus AUTH_MODE=none, which needs no issuers.
func redisEnv(vars map[string]string) func(string) string {
	all := map[string]string{"AUTH_MODE": "none"}
	for k, v := range vars {
		all[k] = v
	}
	return env(all)
}
