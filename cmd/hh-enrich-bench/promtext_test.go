package main

import "testing"

const exposition = `# HELP hh_enrich_jobs_completed_total Jobs completed, by tenant.
# TYPE hh_enrich_jobs_completed_total counter
hh_enrich_jobs_completed_total{tenant="tenant-alpha"} 120
hh_enrich_jobs_completed_total{tenant="other"} 3.5e+01
hh_enrich_jobs_completed_total_extra{tenant="x"} 1000
hh_enrich_jobs_failed_total{code="python_timeout",retried="true",tenant="tenant-alpha"} 7
hh_enrich_jobs_failed_total{code="invalid_candidate",retried="false",tenant="tenant-alpha"} 2
hh_enrich_jobs_failed_total{code="python_crashed",retried="false",tenant="other"} 1
hh_enrich_up 1
`

func TestSumSeries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		metric string
		labels []string
		want   float64
	}{
		{"SumsEveryTenantIgnoringLongerNames", metricCompleted, nil, 155},
		{"FiltersOnLabels", metricFailed, []string{`retried="false"`}, 3},
		{"ReadsUnlabelledSamples", "hh_enrich_up", nil, 1},
		{"AbsentMetricIsZero", "hh_enrich_nothing_total", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := SumSeries(exposition, tt.metric, tt.labels...); got != tt.want {
				t.Errorf("SumSeries(%s, %v) = %v, want %v", tt.metric, tt.labels, got, tt.want)
			}
		})
	}
	t.Run("JobsEndedCountsCompletedAndFinalFailures", func(t *testing.T) {
		t.Parallel()
		if got := jobsEnded(exposition); got != 158 {
			t.Errorf("jobsEnded = %v, want 155 completed + 3 final failures", got)
		}
	})
}
