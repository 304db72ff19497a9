package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrNotFound is returned by Get for an unknown or expired job id, and by
// RequeueDeadLetter for a job that is not on the tenant's dead-letter list.
var ErrNotFound = errors.New("store: job not found")

// ErrLeaseLost is returned by Heartbeat, Complete, Fail and Release when the
// caller no longer holds the lease: its deadline passed, or the job was
// requeued and leased again. The caller must stop working on the job and drop its result.
var ErrLeaseLost = errors.New("store: lease lost")

// Status is the state of a job.
type Status string

// The states of a job. Queued and processing alternate until the job ends
// completed or failed. A job waiting for a retry's backoff is queued too;
// Counts tells those apart.
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
	Priority            int             // 1 if submitted with force (leased before the tenant's others), else 5
	Attempts            int             // leases taken (Release gives one back; RequeueDeadLetter resets it)
	Payload             json.RawMessage // the request's payload object, nil if none
	// ErrorCode and ErrorMessage describe the last failed attempt. They are set
	// on a failed job, and also on a requeued or later completed job whose
	// earlier attempt failed.
	ErrorCode    string
	ErrorMessage string
	Retried      bool            // an attempt failed and the job was run again (kept once it ends)
	Result       json.RawMessage // set when completed
	// Checkpoint is what an earlier attempt saved with SaveCheckpoint (the worker's
	// enrichment), nil if none.
	Checkpoint json.RawMessage
	// TokenUsage sums what the LLM billed for every attempt (AddTokenUsage).
	TokenUsage TokenUsage
	// RateLimitWait is what the current attempt has waited for the LLM account's
	// rate limit over its deferrals (DeferForRateLimit), and RateLimitWaitingSince
	// when it began waiting; zero when it was never deferred. A charged attempt (a
	// retry, an expired lease) and the job's end forget both.
	RateLimitWait         time.Duration
	RateLimitWaitingSince time.Time
}

// SubmitRequest asks for a job.
type SubmitRequest struct {
	TenantID       string
	CandidateID    string
	CorrelationID  string
	IdempotencyKey string // when set, dedupe by this key instead of by candidate and payload
	Payload        json.RawMessage
	Force          bool // skip dedupe and replace the dedupe entry; priority 1 (high)
}

// RedisStore keeps jobs in Redis. It is safe for concurrent use.
type RedisStore struct {
	client  redis.UniversalClient
	cfg     Config
	keys    keys
	submits submitQueue
}

// NewRedisStore returns a store that uses client, which it does not own or
// close. client may be a *redis.Client or a *redis.ClusterClient. It returns
// an error if client is nil, a Config value is out of range, or client is a
// cluster client and Prefix has no hash tag.
func NewRedisStore(client redis.UniversalClient, cfg Config) (*RedisStore, error) {
	if client == nil {
		return nil, errors.New("store: nil Redis client")
	}
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if _, cluster := client.(*redis.ClusterClient); cluster && !hasHashTag(cfg.Prefix) {
		// Without one, every multi-key script would fail with CROSSSLOT.
		return nil, fmt.Errorf("store: Config.Prefix %q has no hash tag such as {hh:enrich}, "+
			"which Redis Cluster needs", cfg.Prefix)
	}
	return &RedisStore{client: client, cfg: cfg, keys: keys{prefix: cfg.Prefix}}, nil
}

// hasHashTag reports whether keys that start with prefix all hash to one
// Redis Cluster slot: Cluster hashes only what is between the first "{" and
// the first "}" after it, when that is not empty.
func hasHashTag(prefix string) bool {
	_, afterOpen, found := strings.Cut(prefix, "{")
	tag, _, closed := strings.Cut(afterOpen, "}")
	return found && closed && tag != ""
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

// Ping checks that Redis answers; the error says why not. On Cluster it asks
// the master that holds the store's keys, the one whose loss stops the store.
// HealthWatcher calls it on a schedule and logs each change.
func (s *RedisStore) Ping(ctx context.Context) error {
	var pinger redis.Cmdable = s.client
	if cluster, ok := s.client.(*redis.ClusterClient); ok {
		master, err := cluster.MasterForKey(ctx, s.keys.stats())
		if err != nil {
			return interpretError("ping", err)
		}
		pinger = master
	}
	if err := pinger.Ping(ctx).Err(); err != nil {
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
	if unreachable(err) {
		return fmt.Errorf("store: %s: %w: %w", op, ErrUnavailable, err)
	}
	return fmt.Errorf("store: %s: %w", op, err)
}

// ErrUnavailable means Redis could not be reached or stopped answering: a
// transient outage, not a bad request. The API answers 503 for it.
var ErrUnavailable = errors.New("store: redis unavailable")

// unreachable tells connection failures (refused, reset, timed out, closed) from
// Redis's own error replies, by type: the error values go-redis and net return.
// The replies of a Redis that is restarting, failing over or short of replicas
// count as unreachable too: they pass, and the request may succeed in a moment.
func unreachable(err error) bool {
	var netErr net.Error
	return errors.As(err, &netErr) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, redis.ErrClosed) ||
		errors.Is(err, context.DeadlineExceeded) || transientReply(err)
}

// transientReplies are the prefixes of Redis error replies that mean "not
// now": loading its data after a restart, a cluster without a master for the
// slot (CLUSTERDOWN, TRYAGAIN while resharding), a replica that lost or just
// replaced its master (MASTERDOWN, READONLY), too few replicas for
// min-replicas-to-write (NOREPLICAS).
var transientReplies = []string{"LOADING", "CLUSTERDOWN", "TRYAGAIN", "MASTERDOWN", "READONLY", "NOREPLICAS"}

func transientReply(err error) bool {
	for _, prefix := range transientReplies {
		if redis.HasErrorPrefix(err, prefix) {
			return true
		}
	}
	return false
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
