package main

import (
	"errors"
	"fmt"
	"strings"
)

// retiredVariable is a variable of the original service that this one does not
// honour with the same meaning. Setting it refuses the start, by name, with what
// to do instead: a deployment carried over unchanged must not run differently
// without a word. keeps lists the values that mean what this service does anyway
// (lower case), which are accepted.
type retiredVariable struct {
	name    string
	instead string
	keeps   []string
}

// falsy are the original's spellings of "off" (REFERENCE §8's boolean parsing).
var falsy = []string{"false", "0", "no", "n", "off"}

// retiredVariables are listed, with the same advice, in the README's "Switching
// from the original service" (a test keeps the two in step).
var retiredVariables = []retiredVariable{
	{name: "ENRICH_QUEUE_KEY", instead: "the Redis key layout changed and is not configurable (every key starts with {hh:enrich}:); drain the old queue or move it with `hh-enrich migrate`"},
	{name: "ENRICH_RESULT_PREFIX", instead: "job records live under {hh:enrich}:job:<id> and are not configurable; drain the old queue or move it with `hh-enrich migrate`"},
	{name: "ENRICH_DEDUPE_PREFIX", instead: "dedupe keys live under {hh:enrich}: and are not configurable; old dedupe keys are simply not consulted"},
	{name: "ENRICH_POLL_INTERVAL_MS", instead: "workers are woken by Redis notifications and never poll; remove it"},
	{name: "ENRICH_PYTHON_SCRIPT", instead: "there is no per-job script: set ENRICH_PLUGIN_SCRIPT (the plugin server) and ENRICH_PYTHON_BIN"},
	{name: "ENRICH_MODEL_VERSION", instead: "jobs record the model the enricher reports; choose it with TOGETHER_MODEL_STAGE1 or TOGETHER_AI_MODEL"},
	{name: "ENRICH_PROMPT_VERSION", instead: "jobs record the prompt version the enricher reports (it changes with the prompt's code); remove it"},
	{name: "ENRICH_MAX_CONCURRENCY", instead: "use ENRICH_CONCURRENCY (the original ignored this name too), and ENRICH_POOL_SIZE / ENRICH_PLUGIN_CONCURRENCY for the plugins"},
	{name: "ENRICH_TESTING", keeps: falsy, instead: "leave TOGETHER_API_KEY unset for the local rules enricher, or point TOGETHER_AI_BASE_URL at a fake"},
	{name: "GATEWAY_PROJECT_ID", instead: "name the gateway's issuers and audiences with ISSUER_CONFIGS (or ALLOWED_TOKEN_ISSUERS) and GATEWAY_AUDIENCE"},
	{name: "TRACE_PROJECT_ID", instead: "log lines carry the request's trace header as `trace`, with no project prefix; remove it"},
	{name: "PROPAGATE_TRACE_CONTEXT", keeps: falsy, instead: "the trace header is echoed on responses and logged, never forwarded downstream; set it to false or remove it"},
	{name: "LOG_GATEWAY_METADATA", keeps: falsy, instead: "access log lines carry tenant, route, status and trace, not the gateway's token metadata; set it to false or remove it"},
}

// refuseRetired records an error for every retired variable that is set to a
// value this service would not honour.
func (e *envReader) refuseRetired() {
	for _, r := range retiredVariables {
		v := strings.ToLower(strings.TrimSpace(e.getenv(r.name)))
		if v == "" || contains(r.keeps, v) {
			continue
		}
		e.errs = append(e.errs, fmt.Errorf("%s is a variable of the original service that is not honoured here: %s", r.name, r.instead))
	}
}

func contains(list []string, v string) bool {
	for _, item := range list {
		if item == v {
			return true
		}
	}
	return false
}

// Profiles (ENRICH_PROFILE): production, the default, needs its real
// dependencies; local (make run, the tests, the bench) may run on an embedded
// Redis and without Firestore.
const (
	ProfileProduction = "production"
	ProfileLocal      = "local"
)

// checkProfile refuses a production start that would quietly run on an
// in-memory Redis (jobs lost on restart, not shared between instances) or
// without Firestore (the payload taken as the whole candidate), unless
// Firestore is switched off on purpose (ENRICH_FIRESTORE_ENABLED=false).
func (c Config) checkProfile() error {
	if c.Profile == ProfileLocal {
		return nil
	}
	var errs []error
	if c.embeddedRedis() {
		errs = append(errs, errors.New("no Redis configured: set REDIS_URL or REDIS_HOST (a production start refuses the embedded in-memory Redis), or ENRICH_PROFILE=local for a demo"))
	}
	if c.Downstream.ProjectID == "" && c.Downstream.FirestoreEnabled {
		errs = append(errs, errors.New("no Firestore project: set FIREBASE_PROJECT_ID, GOOGLE_CLOUD_PROJECT or GCLOUD_PROJECT, "+
			"or ENRICH_FIRESTORE_ENABLED=false to take each job's payload as its whole candidate, or ENRICH_PROFILE=local"))
	}
	return errors.Join(errs...)
}
