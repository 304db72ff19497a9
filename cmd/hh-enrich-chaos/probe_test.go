package main

import (
	"testing"
	"time"
)

func TestHealthProbeFirstAfter(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := &healthProbe{changes: []healthChange{{t0, 200}, {t0.Add(2 * time.Second), 503}, {t0.Add(5 * time.Second), 200}}}
	tests := []struct {
		name string
		from time.Time
		want int
		at   time.Duration
		ok   bool
	}{
		{"TheFirstChangeToTheStatusAfterT", t0.Add(time.Second), 503, 2 * time.Second, true},
		{"BackToHealthyAfterTheOutage", t0.Add(3 * time.Second), 200, 5 * time.Second, true},
		{"AlreadyInTheStatusAtTCountsAsT", t0.Add(3 * time.Second), 503, 3 * time.Second, true},
		{"NeverAfterT", t0.Add(6 * time.Second), 503, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := p.firstAfter(tt.from, tt.want)
			if ok != tt.ok || (ok && !got.Equal(t0.Add(tt.at))) {
				t.Errorf("got %v %v, want %v %v", got.Sub(t0), ok, tt.at, tt.ok)
			}
		})
	}
}
