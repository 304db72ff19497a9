package store

import (
	"fmt"
	"sync"
	"testing"
)

// submitMany submits n jobs of tenant from a few goroutines, as a batch
// client would, and fails t on any error.
func submitMany(t *testing.T, s *RedisStore, tenant string, n int) {
	t.Helper()
	const submitters = 8
	var wg sync.WaitGroup
	for w := range submitters {
		wg.Go(func() {
			for i := w; i < n; i += submitters {
				if _, _, err := s.Submit(t.Context(), requestOf(tenant, fmt.Sprint("cand-", i))); err != nil {
					t.Errorf("Submit: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
}

func TestRedisStoreFairness(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, bk *backend) {
		t.Run("AFloodOfOneTenantHoldsUpAnotherByAHandfulOfJobs", func(t *testing.T) {
			t.Parallel()
			s, _ := setup(t, bk, Config{})
			submitMany(t, s, "tenant-a", 5000)
			waiting := map[string]bool{}
			for i := range 5 {
				waiting[submitNew(t, s, requestOf("tenant-b", fmt.Sprint("cand-", i))).ID] = true
			}

			// Lease and complete one job at a time, as one worker would,
			// until all of B's are done; count A's jobs leased meanwhile.
			leasedOfA := 0
			for len(waiting) > 0 {
				l := mustLease(t, s)
				if err := s.Complete(t.Context(), l, nil); err != nil {
					t.Fatal(err)
				}
				switch l.Job.TenantID {
				case "tenant-a":
					leasedOfA++
				case "tenant-b":
					delete(waiting, l.Job.ID)
				}
				if leasedOfA >= 100 {
					t.Fatalf("%d of A's jobs leased while %d of B's still wait", leasedOfA, len(waiting))
				}
			}
			// Round-robin: tenants alternate, so B waits one of A's jobs per job.
			if leasedOfA > 5 {
				t.Errorf("%d of A's jobs leased before B's 5 were done, want at most 5", leasedOfA)
			}
			c := mustCounts(t, s)
			if c.Queued != 5000-int64(leasedOfA) || c.QueueDepth["tenant-a"] != c.Queued || len(c.QueueDepth) != 1 {
				t.Errorf("counts %+v, want A's %d remaining jobs queued", c, 5000-leasedOfA)
			}
		})
	})
}
