package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"log"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/headhunter/hh-enrich-svc/store"
)

// A worker's loop: lease a job, or block until one is queued; heartbeat
// while working; complete or fail it. A lost lease means another worker owns
// the job now, so its result is dropped.
func ExampleRedisStore_Lease() {
	ctx := context.TODO()
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer client.Close()
	s, err := store.NewRedisStore(client, store.Config{})
	if err != nil {
		log.Fatal(err)
	}
	// Takes back expired leases and wakes idle workers when retries are due.
	reaper := store.NewReaper(s, store.ReaperConfig{})
	if err := reaper.Start(ctx); err != nil {
		log.Fatal(err)
	}
	defer reaper.Stop()

	for ctx.Err() == nil {
		lease, err := s.Lease(ctx)
		if err != nil {
			log.Print(err)
			select { // Redis is unreachable: back off
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			continue
		}
		if lease == nil {
			_ = s.WaitForWork(ctx, 5*time.Second) // woken by the next Submit
			continue
		}
		// ... run the job, calling s.Heartbeat(ctx, lease) every few seconds ...
		err = s.Complete(ctx, lease, json.RawMessage(`{"ok":true}`))
		if errors.Is(err, store.ErrLeaseLost) {
			continue // another worker has the job now
		}
	}
}

// The same store on Redis Cluster: the default prefix carries a hash tag, so
// nothing else changes.
func ExampleNewRedisStore_cluster() {
	client := redis.NewClusterClient(&redis.ClusterOptions{
		Addrs: []string{"10.0.0.1:6379", "10.0.0.2:6379", "10.0.0.3:6379"},
	})
	defer client.Close()
	s, err := store.NewRedisStore(client, store.Config{})
	if err != nil {
		log.Fatal(err)
	}
	_ = s
}

// An operator looks at a tenant's failed jobs and runs again those that
// failed for a reason since fixed.
func ExampleRedisStore_RequeueDeadLetter() {
	ctx := context.TODO()
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer client.Close()
	s, err := store.NewRedisStore(client, store.Config{})
	if err != nil {
		log.Fatal(err)
	}
	failed, err := s.DeadLetters(ctx, "tenant-alpha", 50)
	if err != nil {
		log.Fatal(err)
	}
	for _, job := range failed {
		if job.ErrorCode != "upstream_unavailable" {
			continue
		}
		if _, err := s.RequeueDeadLetter(ctx, job.TenantID, job.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
			log.Print(err) // ErrNotFound: another operator was first
		}
	}
}
