package store

import (
	"fmt"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/headhunter/hh-enrich-svc/store/redistest"
)

func BenchmarkRedisStore(b *testing.B) {
	opts := redistest.Start(b)
	client := redis.NewClient(opts)
	b.Cleanup(func() { _ = client.Close() })
	b.Cleanup(func() { deleteKeys(b, client, "{bench-") })

	b.Run("Submit", func(b *testing.B) {
		s, err := NewRedisStore(client, Config{Prefix: "{bench-submit}:"})
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; b.Loop(); i++ {
			if _, _, err := s.Submit(b.Context(), request(fmt.Sprint("cand-", i))); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("LeaseComplete", func(b *testing.B) {
		s, err := NewRedisStore(client, Config{Prefix: "{bench-lease}:"})
		if err != nil {
			b.Fatal(err)
		}
		req := request("cand-1")
		req.Force = true // every submit a new job, across the benchmark's runs
		for range b.N {
			if _, _, err := s.Submit(b.Context(), req); err != nil {
				b.Fatal(err)
			}
		}
		b.ResetTimer()
		for range b.N {
			l, err := s.Lease(b.Context())
			if err != nil || l == nil {
				b.Fatalf("Lease = %v, %v", l, err)
			}
			if err := s.Complete(b.Context(), l, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}
