package router

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/headhunter/hh-enrich-svc/store"
)

// retried is on every job with an error or a retry behind it (README: a failed
// job has status, error, errorCode and retried), and on no fresh one.
func TestTheJobViewSaysRetriedWheneverThereIsSomethingToSay(t *testing.T) {
	at := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		job  store.Job
		want any // the decoded "retried", nil when absent
	}{
		{"fresh", store.Job{Status: store.StatusQueued}, nil},
		{"completed at once", store.Job{Status: store.StatusCompleted}, nil},
		{"failed for good at once", store.Job{Status: store.StatusFailed, ErrorCode: "invalid_candidate", ErrorMessage: "nothing to enrich"}, false},
		{"waiting for its retry", store.Job{Status: store.StatusQueued, ErrorCode: "python_timeout", Retried: true}, true},
		{"completed on a retry", store.Job{Status: store.StatusCompleted, Retried: true}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.job.CreatedAt, tc.job.UpdatedAt = at, at
			raw, err := json.Marshal(newJobView(&tc.job))
			if err != nil {
				t.Fatal(err)
			}
			var view map[string]any
			if err := json.Unmarshal(raw, &view); err != nil {
				t.Fatal(err)
			}
			if got, ok := view["retried"]; got != tc.want || ok != (tc.want != nil) {
				t.Errorf("retried = %v (present %v), want %v in %s", got, ok, tc.want, raw)
			}
		})
	}
}
