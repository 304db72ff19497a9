package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/redis/go-redis/v9"
)

// The original service's Redis layout (its ENRICH_QUEUE_KEY and
// ENRICH_RESULT_PREFIX defaults): a list of job ids, LPUSHed and BRPOPed (so the
// tail is the oldest), and one hash per job with string fields.
const (
	oldQueueKeyDefault  = "hh:enrich:queue"
	oldJobPrefixDefault = "hh:enrich:job:"
)

// migrateConfig is what `hh-enrich migrate` was asked to do.
type migrateConfig struct {
	api               *apiFlags
	from              string
	queueKey          string
	jobPrefix         string
	includeProcessing bool
	dryRun            bool
}

// oldJob is a job of the original service still waiting for a worker.
type oldJob struct {
	id, tenant, candidate, status string
}

// runMigrate moves the original service's queued jobs to this one, through the
// API: each tenant's candidates go in as batches, keyed by the old job id so a
// rerun creates nothing twice. A moved job leaves the old queue and its hash
// records the new job id.
func (m *Main) runMigrate(ctx context.Context, args []string) error {
	fs := m.newFlagSet("migrate")
	cfg := migrateConfig{api: m.register(fs)}
	fs.StringVar(&cfg.from, "from", "", "the original service's Redis, as a redis:// or rediss:// URL (required)")
	fs.StringVar(&cfg.queueKey, "queue-key", oldQueueKeyDefault, "its ENRICH_QUEUE_KEY")
	fs.StringVar(&cfg.jobPrefix, "job-prefix", oldJobPrefixDefault, "its ENRICH_RESULT_PREFIX")
	fs.BoolVar(&cfg.includeProcessing, "include-processing", false, "also move jobs it left processing (its worker died mid-job)")
	fs.BoolVar(&cfg.dryRun, "dry-run", false, "list what would move, change nothing")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if cfg.from == "" {
		return fmt.Errorf("%w: migrate needs --from redis://HOST:PORT (the original service's Redis)", errUsage)
	}
	opts, err := redis.ParseURL(cfg.from)
	if err != nil {
		return fmt.Errorf("--from: %w", err)
	}
	old := redis.NewClient(opts)
	defer old.Close()
	jobs, err := readOldJobs(ctx, old, cfg)
	if err != nil {
		return err
	}
	return m.moveJobs(ctx, old, cfg, jobs)
}

// readOldJobs returns the queued jobs, oldest first, then (when asked) those
// left processing. Ids whose hash expired (or that finished) are skipped and
// stay where they are.
func readOldJobs(ctx context.Context, old *redis.Client, cfg migrateConfig) ([]oldJob, error) {
	ids, err := old.LRange(ctx, cfg.queueKey, 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", cfg.queueKey, err)
	}
	slices.Reverse(ids) // LPUSHed: the tail is the oldest
	if cfg.includeProcessing {
		more, err := processingIDs(ctx, old, cfg.jobPrefix)
		if err != nil {
			return nil, err
		}
		ids = append(ids, more...)
	}
	var jobs []oldJob
	for _, id := range ids {
		h, err := old.HGetAll(ctx, cfg.jobPrefix+id).Result()
		if err != nil {
			return nil, fmt.Errorf("reading job %s: %w", id, err)
		}
		j := oldJob{id: id, tenant: h["tenantId"], candidate: h["candidateId"], status: h["status"]}
		want := j.status == "queued" || (cfg.includeProcessing && j.status == "processing")
		if j.tenant == "" || j.candidate == "" || !want || h["migratedJobId"] != "" {
			continue // expired, finished, already moved, or not a job record
		}
		jobs = append(jobs, j)
	}
	return jobs, nil
}

// processingIDs finds job hashes in status processing (SCAN, so a large keyspace
// is not blocked).
func processingIDs(ctx context.Context, old *redis.Client, prefix string) ([]string, error) {
	var ids []string
	iter := old.Scan(ctx, 0, prefix+"*", 500).Iterator()
	for iter.Next(ctx) {
		key := iter.Val()
		if old.Type(ctx, key).Val() != "hash" {
			continue
		}
		if status, _ := old.HGet(ctx, key, "status").Result(); status == "processing" {
			ids = append(ids, strings.TrimPrefix(key, prefix))
		}
	}
	return ids, iter.Err()
}

// moveJobs submits each tenant's jobs as batches and marks them moved. A tenant
// the service refuses is reported and left in place.
func (m *Main) moveJobs(ctx context.Context, old *redis.Client, cfg migrateConfig, jobs []oldJob) error {
	byTenant := map[string][]oldJob{}
	var tenants []string
	for _, j := range jobs {
		if _, ok := byTenant[j.tenant]; !ok {
			tenants = append(tenants, j.tenant)
		}
		byTenant[j.tenant] = append(byTenant[j.tenant], j)
	}
	moved, refused := 0, 0
	for _, tenant := range tenants {
		if cfg.dryRun {
			fmt.Fprintf(m.Stdout, "%s: %d jobs would move\n", tenant, len(byTenant[tenant]))
			continue
		}
		n, err := m.moveTenant(ctx, old, cfg, tenant, byTenant[tenant])
		moved += n
		if err != nil {
			var apiErr *APIError
			if !errors.As(err, &apiErr) || apiErr.Status >= 500 {
				return fmt.Errorf("tenant %s: %w (moved %d jobs so far; run again to continue)", tenant, err, moved)
			}
			refused += len(byTenant[tenant]) - n
			fmt.Fprintf(m.Stderr, "hh-enrich: tenant %s: refused by the service, left in the old queue: %v\n", tenant, err)
			continue
		}
		fmt.Fprintf(m.Stdout, "%s: %d jobs moved\n", tenant, n)
	}
	fmt.Fprintf(m.Stdout, "migrate: %d jobs of %d tenants found, %d moved, %d left in place\n", len(jobs), len(tenants), moved, refused)
	if refused > 0 {
		return fmt.Errorf("%w: %d jobs were refused by the service", errSomeFailed, refused)
	}
	return nil
}

// moveTenant submits one tenant's jobs in chunks the API accepts and, after each
// accepted chunk, removes them from the old queue and records the new ids.
func (m *Main) moveTenant(ctx context.Context, old *redis.Client, cfg migrateConfig, tenant string, jobs []oldJob) (int, error) {
	api := *cfg.api
	api.tenant = tenant
	client := api.client()
	moved := 0
	for chunk := range slices.Chunk(jobs, maxChunk) {
		candidates := make([]BatchCandidate, len(chunk))
		for i, j := range chunk {
			candidates[i] = BatchCandidate{CandidateID: j.candidate, IdempotencyKey: "migrate-" + j.id}
		}
		batch, err := client.SubmitBatch(ctx, candidates)
		if err != nil {
			return moved, err
		}
		if len(batch.Jobs) != len(chunk) {
			return moved, fmt.Errorf("the service answered %d jobs for %d candidates", len(batch.Jobs), len(chunk))
		}
		_, err = old.TxPipelined(ctx, func(p redis.Pipeliner) error {
			for i, j := range chunk {
				p.LRem(ctx, cfg.queueKey, 0, j.id)
				p.HSet(ctx, cfg.jobPrefix+j.id, "migratedJobId", batch.Jobs[i].JobID)
			}
			return nil
		})
		if err != nil {
			return moved, fmt.Errorf("marking moved jobs in the old Redis: %w", err)
		}
		moved += len(chunk)
	}
	return moved, nil
}
