package store

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/headhunter/hh-enrich-svc/store/redistest"
)

// healthLines returns the metric=health.redis lines logged so far.
func healthLines(logs *logBuffer) []string {
	var found []string
	for _, line := range logs.lines() {
		if strings.Contains(line, "metric=health.redis") {
			found = append(found, line)
		}
	}
	return found
}

// healthValues returns the healthy= value of each metric=health.redis line.
func healthValues(logs *logBuffer) []string {
	var values []string
	for _, line := range healthLines(logs) {
		_, after, _ := strings.Cut(line, "healthy=")
		value, _, _ := strings.Cut(after, " ")
		values = append(values, value)
	}
	return values
}

// awaitHealth waits for the next change of health, failing t after 10 s.
func awaitHealth(t *testing.T, changes <-chan bool, want bool) {
	t.Helper()
	select {
	case got := <-changes:
		if got != want {
			t.Fatalf("health changed to %v, want %v", got, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("health did not change to %v within 10s", want)
	}
}

func TestHealthWatcher(t *testing.T) {
	t.Parallel()
	t.Run("StopBeforeStartAndTwiceIsSafe", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t, redisBackend, Config{})
		h := NewHealthWatcher(s, HealthConfig{})
		h.Stop()
		if err := h.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		if err := h.Start(t.Context()); err == nil {
			t.Error("second Start = nil error, want one")
		}
		h.Stop()
		h.Stop()
	})
	t.Run("StartRejectsANegativeInterval", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t, redisBackend, Config{})
		h := NewHealthWatcher(s, HealthConfig{Interval: -time.Second})
		if err := h.Start(t.Context()); err == nil {
			h.Stop()
			t.Error("Start = nil error, want one")
		}
	})
	t.Run("LogsOneLinePerChangeOfHealth", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t, redisBackend, Config{})
		broken, err := NewRedisStore(closedClient(t), s.cfg)
		if err != nil {
			t.Fatal(err)
		}
		var logs logBuffer
		var changes []bool
		h := NewHealthWatcher(s, HealthConfig{Logger: logs.logger(), OnChange: func(ok bool) { changes = append(changes, ok) }})
		var seen []bool
		for _, st := range []*RedisStore{s, s, broken, broken, broken, s, s} {
			h.store = st
			_ = h.runOnce(t.Context())
			seen = append(seen, h.Healthy())
		}
		if diff := cmp.Diff([]bool{true, true, false, false, false, true, true}, seen); diff != "" {
			t.Errorf("Healthy after each ping (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]bool{true, false, true}, changes); diff != "" {
			t.Errorf("OnChange calls (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"true", "false", "true"}, healthValues(&logs)); diff != "" {
			t.Errorf("metric=health.redis lines (-want +got):\n%s\nlog:\n%s", diff, strings.Join(logs.lines(), "\n"))
		}
	})
}

// TestRedisOutage stops the redis-server process under a running store and
// starts it again on the same port with its data (AOF, as production needs).
func TestRedisOutage(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t, redistest.ServerConfig{AppendOnly: true})
	client := redis.NewClient(srv.Options())
	t.Cleanup(func() { _ = client.Close() })
	s, err := NewRedisStore(client, Config{Prefix: testPrefix(t), LeaseDuration: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var logs logBuffer
	changes := make(chan bool, 10)
	h := NewHealthWatcher(s, HealthConfig{Interval: 20 * time.Millisecond, Logger: logs.logger(),
		OnChange: func(ok bool) { changes <- ok }})
	if err := h.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer h.Stop()
	n := s.NewNotifier()
	if err := n.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer n.Stop()
	awaitHealth(t, changes, true)

	orphaned := submitNew(t, s, request("cand-1"))
	waiting := submitNew(t, s, request("cand-2"))
	if l := mustLease(t, s); l.Job.ID != orphaned.ID { // its worker is lost in the outage
		t.Fatalf("leased %s, want %s", l.Job.ID, orphaned.ID)
	}

	srv.Stop()
	awaitHealth(t, changes, false)
	if err := s.Ping(t.Context()); err == nil {
		t.Error("Ping answered during the outage")
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	awaitHealth(t, changes, true)

	// Nothing was lost: the orphaned lease expires and is reaped, both jobs
	// run on a live worker, and sync waiters are notified again.
	eventually(t, "the notifier to subscribe again", func() bool {
		return client.PubSubNumSub(t.Context(), s.keys.events()).Val()[s.keys.events()] == 1
	})
	done, stop := n.Watch(orphaned.ID)
	defer stop()
	r := NewReaper(s, ReaperConfig{Interval: 50 * time.Millisecond})
	if err := r.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	completeAll(t, s, 2, 10*time.Second)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Error("the waiter of a job completed after the outage was not woken")
	}
	for _, id := range []string{orphaned.ID, waiting.ID} {
		if got := mustGet(t, s, id); got.Status != StatusCompleted {
			t.Errorf("job %s is %s after the outage, want completed", id, got.Status)
		}
	}
	if diff := cmp.Diff([]string{"true", "false", "true"}, healthValues(&logs)); diff != "" {
		t.Errorf("metric=health.redis lines (-want +got):\n%s", diff)
	}
}
