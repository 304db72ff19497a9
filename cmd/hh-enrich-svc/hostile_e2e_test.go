package main

import (
	"errors"
	"fmt"
	"net/http"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestServiceUnderHostileWork drives the real binary (a test build, so a candidate's
// _fault reaches its plugins) with work that attacks the pool itself.
func TestServiceUnderHostileWork(t *testing.T) {
	t.Parallel()

	t.Run("APoisonCandidateEndsAsOneDeadLetterAndTheRestComplete", func(t *testing.T) {
		t.Parallel()
		s := startService(t, "ENRICH_TEST_FAULTS=1")
		ids := s.submitMany("tenant-alpha", 300)
		s.waitForTerminal("tenant-alpha", ids[0])
		poison := candidates(t, 1)[0]
		poison["_fault"] = "crash"
		poisonID := s.submit("tenant-alpha", map[string]any{"candidateId": "poison", "payload": poison})
		job := s.waitForTerminal("tenant-alpha", poisonID)
		if job["status"] != "failed" || job["errorCode"] != "python_crashed" || job["attemptCount"] != 1.0 {
			t.Fatalf("poison job = %v, want failed python_crashed at its first attempt (not retried)", job)
		}
		for _, id := range ids {
			if job := s.waitForTerminal("tenant-alpha", id); job["status"] != "completed" {
				t.Fatalf("job %s = %v", id, job)
			}
		}
	})

	t.Run("SigkillWithSlowCallsInFlightLeavesNoPlugin", func(t *testing.T) {
		t.Parallel()
		const token = "hostile-admin-token"
		s := startService(t, "ENRICH_TEST_FAULTS=1", "ENRICH_ADMIN_TOKEN="+token)
		plugins := s.pluginPIDs()
		var pidfds []int
		for _, pid := range plugins {
			fd, err := unix.PidfdOpen(pid, 0)
			if err != nil {
				t.Fatal(err)
			}
			pidfds = append(pidfds, fd)
			t.Cleanup(func() {
				_ = unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
				_ = unix.Close(fd)
			})
		}
		for i, fault := range []string{"sleep:30000", "hang"} {
			doc := candidates(t, 1)[0]
			doc["_fault"] = fault
			s.submit("tenant-alpha", map[string]any{"candidateId": fmt.Sprintf("slow-%d", i), "payload": doc})
		}
		eventuallyTrue(t, "both plugins hold a call", func() bool { return s.busyPlugins(token) == len(plugins) })
		if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		killed := time.Now()
		for _, fd := range pidfds {
			fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
			n, err := unix.Poll(fds, int(max(time.Until(killed.Add(2*time.Second)), 0).Milliseconds()))
			for errors.Is(err, unix.EINTR) { // the Go runtime's own signals
				n, err = unix.Poll(fds, int(max(time.Until(killed.Add(2*time.Second)), 0).Milliseconds()))
			}
			if err != nil || n != 1 {
				t.Fatalf("a plugin was alive 2 s after the service's SIGKILL (poll %d, %v)", n, err)
			}
		}
		t.Logf("%d plugins gone %s after the service's SIGKILL", len(plugins), time.Since(killed).Round(time.Millisecond))
	})
}

// busyPlugins counts the plugin processes with a call in flight (GET /admin/pool).
func (s *service) busyPlugins(token string) int {
	s.t.Helper()
	resp := s.admin(http.MethodGet, "/admin/pool", token)
	procs, _ := resp.Body["processes"].([]any)
	busy := 0
	for _, p := range procs {
		if info, _ := p.(map[string]any); info["inFlight"].(float64) > 0 {
			busy++
		}
	}
	return busy
}
