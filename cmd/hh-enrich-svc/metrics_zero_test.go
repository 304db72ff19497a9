package main

import "testing"

// TestCountersWithKnownLabelsStartAtZero scrapes a fresh service: series whose
// label values are known in advance exist at 0 before anything happens, so
// rate() works from the first scrape and an alert on absence means absence.
func TestCountersWithKnownLabelsStartAtZero(t *testing.T) {
	t.Parallel()
	s := startService(t)
	families := s.scrape()
	for family, labels := range map[string][]map[string]string{
		"hh_enrich_plugin_restarts_total": {
			{"reason": "crashed"}, {"reason": "hung"}, {"reason": "unhealthy"}, {"reason": "breaker_open"},
			{"reason": "max_jobs"}, {"reason": "max_rss"}, {"reason": "max_age"}, {"reason": "operator"},
		},
		"hh_enrich_store_job_events_total": {
			{"event": "submitted"}, {"event": "completed"}, {"event": "failed"}, {"event": "retried"}, {"event": "expired"},
		},
	} {
		for _, want := range labels {
			if v, ok := value(families, family, want); !ok || v != 0 {
				t.Errorf("%s%v = %v (present %t), want a series at 0", family, want, v, ok)
			}
		}
	}
}
