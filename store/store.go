// Package store is the Redis job store: job records, the queue, leases.
//
// A job is created by Submit (atomically deduplicated), waits on a FIFO queue,
// is taken by a worker with Lease, kept alive with Heartbeat and ended with
// Complete or Fail. A lease that is not renewed expires, and RequeueExpired
// (run by a Reaper) puts the job back on the queue or, on its last attempt,
// fails it: a job leaves the queue only by completing or failing for good.
//
// Every state change is one Lua script, so any number of service instances
// can share one Redis. Lease deadlines use the Redis server's clock.
package store

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrNotFound is returned by Get for an unknown or expired job id.
var ErrNotFound = errors.New("store: job not found")

// ErrLeaseLost is returned by Heartbeat, Complete and Fail when the caller no
// longer holds the lease: its deadline passed, or the job was requeued and
// leased again. The caller must stop working on the job and drop its result.
var ErrLeaseLost = errors.New("store: lease lost")

// Status is the state of a job.
type Status string

// The states of a job. Queued and processing alternate until the job ends
// completed or failed.
const (
	StatusQueued     Status = "queued"
	StatusProcessing Status = "processing"
	StatusCompleted  Status = "completed"
	StatusFailed     Status = "failed"
)

// Job is a job record, with the fields of REFERENCE §3.
type Job struct {
	ID                  string
	TenantID            string
	CandidateID         string
	CandidateDocumentID string // TenantID + "_" + CandidateID
	Status              Status
	CreatedAt           time.Time
	UpdatedAt           time.Time // last status change
	CorrelationID       string
	Priority            int             // 1 if submitted with force, else 5; stored only for now
	Attempts            int             // leases taken so far
	Payload             json.RawMessage // the request's payload object, nil if none
	// ErrorCode and ErrorMessage describe the last failed attempt. They are set
	// on a failed job, and also on a requeued or later completed job whose
	// earlier attempt failed.
	ErrorCode    string
	ErrorMessage string
	Retried      bool            // the last error was followed by a retry
	Result       json.RawMessage // set when completed
}

// SubmitRequest asks for a job.
type SubmitRequest struct {
	TenantID       string
	CandidateID    string
	CorrelationID  string
	IdempotencyKey string // when set, dedupe by this key instead of by candidate and payload
	Payload        json.RawMessage
	Force          bool // skip dedupe and replace the dedupe entry; priority 1
}

// Defaults for the zero values of Config.
const (
	PrefixDefault        = "hh:enrich:"
	JobTTLDefault        = 24 * time.Hour
	DedupeTTLDefault     = 6 * time.Hour
	LeaseDurationDefault = 10 * time.Second
	MaxAttemptsDefault   = 3
)

// Config configures a RedisStore. Zero values take the XxxDefault constants.
type Config struct {
	// Prefix starts every key name. With Redis Cluster it must contain a hash
	// tag, e.g. "{hh:enrich}:", because scripts touch several keys at once.
	Prefix string
	// JobTTL is how long a job record lives after its last state change
	// (ENRICH_JOB_TTL_SECONDS). At least a millisecond.
	JobTTL time.Duration
	// DedupeTTL is how long a submit dedupes against the job it created
	// (ENRICH_DEDUPE_TTL_SECONDS). At least a millisecond.
	DedupeTTL time.Duration
	// LeaseDuration is how long a lease lasts after Lease or Heartbeat, by the
	// Redis server's clock. At least a millisecond.
	LeaseDuration time.Duration
	// MaxAttempts is how many leases a job may take (ENRICH_JOB_RETRY_LIMIT+1).
	// A lease that expires on the last attempt fails the job ("lease_expired").
	MaxAttempts int
	// Now is the clock for createdAt and updatedAt; time.Now if nil. Lease
	// deadlines never use it: they come from the Redis server's clock.
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	c.Prefix = cmp.Or(c.Prefix, PrefixDefault)
	c.JobTTL = cmp.Or(c.JobTTL, JobTTLDefault)
	c.DedupeTTL = cmp.Or(c.DedupeTTL, DedupeTTLDefault)
	c.LeaseDuration = cmp.Or(c.LeaseDuration, LeaseDurationDefault)
	c.MaxAttempts = cmp.Or(c.MaxAttempts, MaxAttemptsDefault)
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

func (c Config) validate() error {
	// Durations go to Redis in whole milliseconds; a positive duration under
	// a millisecond would become PEXPIRE 0, which deletes the key.
	for _, d := range []struct {
		name  string
		value time.Duration
	}{{"JobTTL", c.JobTTL}, {"DedupeTTL", c.DedupeTTL}, {"LeaseDuration", c.LeaseDuration}} {
		if d.value < time.Millisecond {
			return fmt.Errorf("store: Config.%s is %s, want at least 1ms (or 0 for the default)", d.name, d.value)
		}
	}
	if c.MaxAttempts < 1 {
		return fmt.Errorf("store: Config.MaxAttempts is %d, want at least 1 (or 0 for the default)", c.MaxAttempts)
	}
	return nil
}

// RedisStore keeps jobs in Redis. It is safe for concurrent use.
type RedisStore struct {
	client redis.UniversalClient
	cfg    Config
	keys   keys
}

// NewRedisStore returns a store that uses client, which it does not own or
// close. It returns an error if client is nil or a Config value is negative.
func NewRedisStore(client redis.UniversalClient, cfg Config) (*RedisStore, error) {
	if client == nil {
		return nil, errors.New("store: nil Redis client")
	}
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &RedisStore{client: client, cfg: cfg, keys: keys{prefix: cfg.Prefix}}, nil
}

// jobIDPattern matches the ids newToken makes. Get refuses anything else, so
// that a caller-supplied id can only ever name a job hash.
var jobIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// Get returns the job with the given id, or ErrNotFound if there is none
// (unknown, malformed or expired id).
func (s *RedisStore) Get(ctx context.Context, jobID string) (*Job, error) {
	if !jobIDPattern.MatchString(jobID) {
		return nil, ErrNotFound
	}
	fields, err := s.client.HGetAll(ctx, s.keys.job(jobID)).Result()
	if err != nil {
		return nil, interpretError("get", err)
	}
	if len(fields) == 0 {
		return nil, ErrNotFound
	}
	return decodeJob(fields)
}

// Ping checks that Redis answers.
func (s *RedisStore) Ping(ctx context.Context) error {
	if err := s.client.Ping(ctx).Err(); err != nil {
		return interpretError("ping", err)
	}
	return nil
}

// interpretError translates a go-redis error into the store's vocabulary; it
// is the only place that knows about redis.Nil.
func interpretError(op string, err error) error {
	if errors.Is(err, redis.Nil) {
		return ErrNotFound
	}
	return fmt.Errorf("store: %s: %w", op, err)
}

// newToken returns 32 hex characters from crypto/rand: job ids and lease
// tokens, which must not be guessable (REFERENCE W8).
func newToken() string {
	var b [16]byte
	// crypto/rand.Read never returns an error (it crashes the program
	// instead if the kernel's source fails).
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
