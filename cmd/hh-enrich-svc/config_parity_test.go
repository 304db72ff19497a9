package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestEachVariableOfTheOriginalIsRefusedByNameWithWhatToDo sets each retired
// variable alone and expects ParseConfig to name it and say what to use instead.
func TestEachVariableOfTheOriginalIsRefusedByNameWithWhatToDo(t *testing.T) {
	t.Parallel()
	instead := map[string]string{ // one word of the advice each must carry
		"ENRICH_QUEUE_KEY": "hh-enrich migrate", "ENRICH_RESULT_PREFIX": "hh-enrich migrate",
		"ENRICH_DEDUPE_PREFIX": "not consulted", "ENRICH_POLL_INTERVAL_MS": "notifications",
		"ENRICH_PYTHON_SCRIPT": "ENRICH_PLUGIN_SCRIPT", "ENRICH_MODEL_VERSION": "TOGETHER_MODEL_STAGE1",
		"ENRICH_PROMPT_VERSION": "enricher reports", "ENRICH_MAX_CONCURRENCY": "ENRICH_CONCURRENCY",
		"ENRICH_TESTING": "TOGETHER_API_KEY", "GATEWAY_PROJECT_ID": "ISSUER_CONFIGS",
		"TRACE_PROJECT_ID": "`trace`", "PROPAGATE_TRACE_CONTEXT": "never forwarded",
		"LOG_GATEWAY_METADATA": "access log",
	}
	if len(instead) != len(retiredVariables) {
		t.Fatalf("%d retired variables, %d checked here", len(retiredVariables), len(instead))
	}
	for _, r := range retiredVariables {
		_, err := ParseConfig(env(map[string]string{"AUTH_MODE": "none", r.name: "true"}))
		if err == nil || !strings.Contains(err.Error(), r.name+" is a variable of the original service") ||
			!strings.Contains(err.Error(), instead[r.name]) {
			t.Errorf("%s=true: %v", r.name, err)
		}
	}
}

func TestValuesOfTheOriginalThatMeanWhatThisServiceDoesAreAccepted(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"ENRICH_TESTING", "PROPAGATE_TRACE_CONTEXT", "LOG_GATEWAY_METADATA"} {
		for _, v := range []string{"false", "0", "off", " No "} {
			if _, err := ParseConfig(env(map[string]string{"AUTH_MODE": "none", name: v})); err != nil {
				t.Errorf("%s=%q: %v", name, v, err)
			}
		}
	}
	_, err := ParseConfig(env(map[string]string{"AUTH_MODE": "none", "ENRICH_QUEUE_KEY": "q", "TRACE_PROJECT_ID": "p"}))
	if err == nil || !strings.Contains(err.Error(), "ENRICH_QUEUE_KEY") || !strings.Contains(err.Error(), "TRACE_PROJECT_ID") {
		t.Errorf("two retired variables: want both named in one error, got %v", err)
	}
}

func TestProductionStartRefusesAMissingRedisOrFirestore(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		env  map[string]string
		want []string // substrings of the error; none: the start is allowed
	}{
		{"NeitherConfigured", map[string]string{}, []string{"no Redis configured", "no Firestore project"}},
		{"NoRedis", map[string]string{"GOOGLE_CLOUD_PROJECT": "p"}, []string{"no Redis configured"}},
		{"NoFirestore", map[string]string{"REDIS_HOST": "redis"}, []string{"no Firestore project", "ENRICH_FIRESTORE_ENABLED=false"}},
		{"Both", map[string]string{"REDIS_URL": "redis://r:6379", "FIREBASE_PROJECT_ID": "p"}, nil},
		{"FirestoreOptedOut", map[string]string{"REDIS_HOST": "redis", "ENRICH_FIRESTORE_ENABLED": "false"}, nil},
		{"LocalProfile", map[string]string{"ENRICH_PROFILE": "local"}, nil},
		{"ExplicitProduction", map[string]string{"ENRICH_PROFILE": "production", "REDIS_HOST": "r"}, []string{"no Firestore project"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.env["AUTH_MODE"] = "none"
			cfg, err := ParseConfig(env(tc.env))
			if err != nil {
				t.Fatal(err)
			}
			err = cfg.checkProfile()
			if len(tc.want) == 0 && err != nil {
				t.Fatalf("refused: %v", err)
			}
			for _, w := range tc.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("want %q in the refusal, got %v", w, err)
				}
			}
		})
	}
}

func TestFirestoreSwitchIsCheckedAndHonoured(t *testing.T) {
	t.Parallel()
	cfg, err := ParseConfig(env(map[string]string{"AUTH_MODE": "none", "GOOGLE_CLOUD_PROJECT": "p", "ENRICH_FIRESTORE_ENABLED": "false"}))
	if err != nil || cfg.Downstream.FirestoreEnabled || cfg.Downstream.ProjectID != "p" {
		t.Fatalf("opt-out with a project: %+v, %v", cfg.Downstream, err)
	}
	if _, err := ParseConfig(env(map[string]string{"AUTH_MODE": "none", "ENRICH_FIRESTORE_ENABLED": "true"})); err == nil ||
		!strings.Contains(err.Error(), "ENRICH_FIRESTORE_ENABLED=true needs a project") {
		t.Fatalf("enabled without a project: %v", err)
	}
	if _, err := ParseConfig(env(map[string]string{"AUTH_MODE": "none", "ENRICH_PROFILE": "staging"})); err == nil ||
		!strings.Contains(err.Error(), "ENRICH_PROFILE") {
		t.Fatalf("an unknown profile: %v", err)
	}
}

// TestTheBinaryRefusesToStartAndSaysWhy runs the built service as a deployment
// would start it: it must exit 1 before serving, naming what is wrong.
func TestTheBinaryRefusesToStartAndSaysWhy(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		env  []string
		want []string
	}{
		{"ProductionWithNothing", nil, []string{"no Redis configured", "no Firestore project", "no enricher chosen"}},
		{"AnOriginalVariable", []string{"ENRICH_PROFILE=local", "ENRICH_MAX_CONCURRENCY=4"}, []string{"ENRICH_MAX_CONCURRENCY", "use ENRICH_CONCURRENCY"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(binaryPath)
			cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "PORT=0", "AUTH_MODE=none"}, tc.env...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 1 {
				t.Fatalf("exit: %v, want status 1\n%s", err, stderr.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr.String())
				}
			}
		})
	}
}

// TestTheSwitchingSectionListsEveryRetiredVariable keeps the README's advice and
// the refusals in step.
func TestTheSwitchingSectionListsEveryRetiredVariable(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(raw), "\n## Switching from the original service\n")
	if !ok {
		t.Fatal(`README.md has no "## Switching from the original service" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	for _, r := range retiredVariables {
		if !strings.Contains(section, "`"+r.name+"`") {
			t.Errorf("the switching section does not mention `%s`", r.name)
		}
	}
}
