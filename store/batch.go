package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// MaxBatchSize bounds one SubmitBatch.
const MaxBatchSize = 1000

// ErrBatchTooLarge is returned by SubmitBatch for more than MaxBatchSize requests.
var ErrBatchTooLarge = errors.New("store: batch too large")

// Batch is a group of jobs submitted together, in submission order. JobIDs name the
// job each request resolved to: a new job, or the one it deduplicated to.
type Batch struct {
	ID        string
	TenantID  string
	CreatedAt time.Time
	JobIDs    []string
}

// BatchJob is one job of a batch as GetBatchJobs reports it: its state, not its
// result (a batch of 1,000 results would be megabytes).
type BatchJob struct {
	ID          string
	CandidateID string
	Status      Status
	ErrorCode   string
	Attempts    int
	UpdatedAt   string
}

// recordBatchScript records a batch right after its submits, in the same pipeline:
// each request resolved to the job it created (whose hash now exists under the id
// made for it) or to the one its operation record names (a dedupe), so the batch
// lists exactly what its submits did, even when two forced requests share a dedupe
// key. It rebuilds the list whole, so running it twice records the same batch.
//
// KEYS[1] the batch hash
// KEYS[2] the batch's job list
// KEYS[3 .. 2+n] the hashes of the jobs made for the n requests, in request order
// KEYS[3+n .. 2+2n] the submits' operation records, in the same order
// ARGV[1] tenant id
// ARGV[2] createdAt
// ARGV[3] TTL, ms
// ARGV[4 .. 3+n] the ids of the jobs made for the requests
// Returns the number of jobs recorded.
var recordBatchScript = redis.NewScript(`
local n = (#KEYS - 2) / 2
redis.call('HSET', KEYS[1], 'tenantId', ARGV[1], 'createdAt', ARGV[2])
redis.call('DEL', KEYS[2])
for i = 1, n do
  local resolved = ARGV[3 + i]
  if redis.call('EXISTS', KEYS[2 + i]) == 0 then
    resolved = redis.call('GET', KEYS[2 + n + i]) or ''
  end
  redis.call('RPUSH', KEYS[2], resolved)
end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return n
`)

// SubmitBatch submits reqs, all of tenantID, in one pipelined round trip, each with
// Submit's atomic dedupe, and records them as a batch kept as long as jobs are. The
// results are in request order. A request that fails validation fails the batch
// before anything is written.
func (s *RedisStore) SubmitBatch(ctx context.Context, tenantID string, reqs []SubmitRequest) (*Batch, []SubmitResult, error) {
	if len(reqs) > MaxBatchSize {
		return nil, nil, fmt.Errorf("%w: %d requests, at most %d", ErrBatchTooLarge, len(reqs), MaxBatchSize)
	}
	jobs, dedupeKeys, err := s.newBatchJobs(tenantID, reqs)
	if err != nil {
		return nil, nil, err
	}
	batch := &Batch{ID: newToken(), TenantID: tenantID, CreatedAt: s.cfg.Now().UTC().Truncate(time.Millisecond)}
	replies, recorded, err := s.runBatch(ctx, batch, reqs, jobs, dedupeKeys)
	if err != nil {
		return nil, nil, err
	}
	results := make([]SubmitResult, len(reqs))
	for i, reply := range replies {
		job, created, err := submitted(jobs[i], reply)
		if err != nil {
			return nil, nil, err
		}
		results[i] = SubmitResult{Job: job, Created: created}
		batch.JobIDs = append(batch.JobIDs, job.ID)
	}
	if recorded != len(reqs) {
		return nil, nil, fmt.Errorf("store: batch %s recorded %d of %d jobs", batch.ID, recorded, len(reqs))
	}
	return batch, results, nil
}

// SubmitResult is one request's outcome in a batch.
type SubmitResult struct {
	Job     *Job
	Created bool // false: deduplicated to an existing job
}

func (s *RedisStore) newBatchJobs(tenantID string, reqs []SubmitRequest) ([]*Job, []string, error) {
	jobs := make([]*Job, len(reqs))
	dedupeKeys := make([]string, len(reqs))
	for i, req := range reqs {
		req.TenantID = tenantID
		job, dedupeKey, err := s.newJob(req)
		if err != nil {
			return nil, nil, fmt.Errorf("store: batch item %d: %w", i, err)
		}
		jobs[i], dedupeKeys[i] = job, dedupeKey
	}
	return jobs, dedupeKeys, nil
}

// runBatch sends every submit and the batch record in one pipeline. Scripts go by
// their SHA; a command that finds its script gone (Redis restarted or flushed its
// script cache) or lost its reply with the connection is sent again on its own
// (see sendAgainAlone). Only those: the others already ran. A resent submit
// whose first run got through finds its own job and answers as that run did.
func (s *RedisStore) runBatch(ctx context.Context, batch *Batch, reqs []SubmitRequest, jobs []*Job, dedupeKeys []string) ([]any, int, error) {
	pipe := s.client.Pipeline()
	submits := make([]*redis.Cmd, len(reqs))
	submitArgs := make([]func() ([]string, []any), len(reqs))
	for i, req := range reqs {
		submitArgs[i] = func() ([]string, []any) {
			return s.submitKeysArgs(&pendingSubmit{tenantID: batch.TenantID, force: req.Force, job: jobs[i], dedupeKey: dedupeKeys[i]})
		}
		keys, args := submitArgs[i]()
		submits[i] = submitScript.EvalSha(ctx, pipe, keys, args...)
	}
	recordKeys := []string{s.keys.batch(batch.ID), s.keys.batchJobs(batch.ID)}
	recordArgs := []any{batch.TenantID, formatTime(batch.CreatedAt), millis(s.cfg.JobTTL)}
	for _, job := range jobs {
		recordKeys = append(recordKeys, s.keys.job(job.ID))
		recordArgs = append(recordArgs, job.ID)
	}
	for _, job := range jobs {
		recordKeys = append(recordKeys, s.keys.op(job.ID))
	}
	record := recordBatchScript.EvalSha(ctx, pipe, recordKeys, recordArgs...)
	_, _ = pipe.Exec(ctx) // each command's own error is read below

	replies := make([]any, len(reqs))
	resent := false
	for i, cmd := range submits {
		if sendAgainAlone(ctx, cmd.Err()) {
			keys, args := submitArgs[i]()
			cmd = submitScript.Run(ctx, s.client, keys, args...)
			resent = true
		}
		reply, err := cmd.Slice()
		if err != nil {
			return nil, 0, interpretError("submit batch", err)
		}
		if len(reply) != 1 {
			return nil, 0, fmt.Errorf("store: submit batch: %d replies for one submit", len(reply))
		}
		replies[i] = reply[0]
	}
	// The record reads what the submits made: if any submit ran only now,
	// the record ran before it and must be made again (it rebuilds the list whole).
	if resent || sendAgainAlone(ctx, record.Err()) {
		record = recordBatchScript.Run(ctx, s.client, recordKeys, recordArgs...)
	}
	recorded, err := record.Int()
	if err != nil {
		return nil, 0, interpretError("submit batch", err)
	}
	return replies, recorded, nil
}

func isNoScript(err error) bool { return err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") }

// GetBatch reads a batch's record. It returns ErrNotFound for an unknown or
// expired batch, or one of another tenant.
func (s *RedisStore) GetBatch(ctx context.Context, tenantID, batchID string) (*Batch, error) {
	if !jobIDPattern.MatchString(batchID) { // batch ids are made like job ids
		return nil, ErrNotFound
	}
	pipe := s.client.Pipeline()
	meta := pipe.HGetAll(ctx, s.keys.batch(batchID))
	ids := pipe.LRange(ctx, s.keys.batchJobs(batchID), 0, -1)
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, interpretError("get batch", err)
	}
	fields := meta.Val()
	if len(fields) == 0 || fields["tenantId"] != tenantID {
		return nil, ErrNotFound
	}
	created, err := time.Parse(timeLayout, fields["createdAt"])
	if err != nil {
		return nil, fmt.Errorf("store: batch %s: createdAt: %w", batchID, err)
	}
	return &Batch{ID: batchID, TenantID: tenantID, CreatedAt: created, JobIDs: ids.Val()}, nil
}

// GetBatchJobs reads the state of each of b's jobs in one round trip. A job whose
// record expired is reported with an empty Status.
func (s *RedisStore) GetBatchJobs(ctx context.Context, b *Batch) ([]BatchJob, error) {
	pipe := s.client.Pipeline()
	cmds := make([]*redis.SliceCmd, len(b.JobIDs))
	for i, id := range b.JobIDs {
		cmds[i] = pipe.HMGet(ctx, s.keys.job(id), fieldCandidateID, fieldStatus, fieldErrorCode, fieldAttemptCount, fieldUpdatedAt)
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, interpretError("get batch jobs", err)
	}
	jobs := make([]BatchJob, len(b.JobIDs))
	for i, cmd := range cmds {
		v := cmd.Val()
		attempts, _ := strconv.Atoi(str(v[3]))
		jobs[i] = BatchJob{ID: b.JobIDs[i], CandidateID: str(v[0]), Status: Status(str(v[1])),
			ErrorCode: str(v[2]), Attempts: attempts, UpdatedAt: str(v[4])}
	}
	return jobs, nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
}
