package store

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/redis/go-redis/v9"
)

// checkpointScript stores a held job's enrichment on the job, so that a retry of a
// later phase (the Firestore write, the job's completion) reuses it instead of
// paying for the LLM call again (REFERENCE W12). Fenced like Complete: only the
// lease holder may write it.
//
// KEYS[1] job key
// KEYS[2] leases
// ARGV[1] job id
// ARGV[2] lease token
// ARGV[3] checkpoint JSON
// Returns 1, or -1 when the lease is lost.
var checkpointScript = redis.NewScript(storeLua + `
Q.leases = KEYS[2]
if not holdsLease(KEYS[1], ARGV[1], ARGV[2]) then
  return -1
end
redis.call('HSET', KEYS[1], 'checkpoint', ARGV[3])
return 1
`)

// SaveCheckpoint records checkpoint (a JSON value) on l's job; later leases of the
// job carry it in Job.Checkpoint. It returns ErrLeaseLost when l no longer holds
// the job.
func (s *RedisStore) SaveCheckpoint(ctx context.Context, l *Lease, checkpoint json.RawMessage) error {
	if !json.Valid(checkpoint) {
		return errors.New("store: checkpoint is not JSON")
	}
	keys := []string{s.keys.job(l.Job.ID), s.keys.leases()}
	n, err := checkpointScript.Run(ctx, s.client, keys, l.Job.ID, l.Token, string(checkpoint)).Int()
	if err != nil {
		return interpretError("checkpoint", err)
	}
	if n < 0 {
		return ErrLeaseLost
	}
	return nil
}
