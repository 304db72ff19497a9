package pool

import (
	"context"
	"errors"

	"github.com/headhunter/hh-enrich-svc/pyplugin"
)

// Verdict is what one call's outcome says about the thing a breaker guards.
type Verdict int

const (
	// NoVerdict changes nothing: the call says nothing about the guarded thing
	// (cancelled, the pool exhausted or closing, the job's own data at fault). A
	// half-open breaker lets its next probe through.
	NoVerdict Verdict = iota
	// Success ends a run of failures and closes a half-open breaker.
	Success
	// Failure counts toward opening the breaker and reopens a half-open one.
	Failure
)

// poolVerdicts is the pool-wide circuit's view of each plugin reason: only what
// stops every job (the upstream down or too slow) is a failure. A reason not
// listed is NoVerdict: one job's data must never stop every tenant, so a new
// reason counts only once someone decides it is systemic. Add new reasons here.
var poolVerdicts = map[pyplugin.Reason]Verdict{
	pyplugin.ReasonUpstreamUnavailable: Failure,
	pyplugin.ReasonTimeout:             Failure, // the plugin gave up on a slow upstream
	// One job's data: an unusable candidate, an answer the model botched for it, or
	// an enricher bug that this candidate triggers (the process breaker still
	// replaces a process whose every call fails).
	pyplugin.ReasonInvalidCandidate:  NoVerdict,
	pyplugin.ReasonUpstreamBadOutput: NoVerdict,
	pyplugin.ReasonInternal:          NoVerdict,
	// The provider refused this candidate's request (400, 413, 422, context length).
	pyplugin.ReasonUpstreamRejectedInput: NoVerdict,
	// The provider said when to come back: the job waits out its Retry-After in the
	// store. Opening the circuit would stop every tenant for the whole cooldown.
	pyplugin.ReasonUpstreamRateLimited: NoVerdict,
}

// PoolVerdict classifies a call's final outcome for the pool-wide circuit. It is
// the one place that decides which failures stop every job (REFERENCE W16).
func PoolVerdict(err error) Verdict {
	var perr *pyplugin.Error
	switch {
	case err == nil:
		return Success
	case errors.Is(err, ErrPoison):
		return NoVerdict // the job kills processes; other jobs run fine
	case errors.As(err, &perr):
		if perr.DeadlinePassed {
			// One call stuck (spinning, or its process stopped): that process is
			// replaced; it says nothing about the others.
			return NoVerdict
		}
		return poolVerdicts[perr.Reason]
	case errors.Is(err, pyplugin.ErrProcessGone):
		return Failure // every try lost its process: the plugin keeps dying
	case errors.Is(err, ErrExhausted), errors.Is(err, ErrClosed), errors.Is(err, ErrCircuitOpen),
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return NoVerdict // the caller's or the pool's state, not the plugin's health
	default:
		return Failure
	}
}

// processVerdict classifies a call's outcome for its process's breaker: only the
// process's own errors speak against it. A timeout the plugin reports is the LLM
// provider being slow (a hung process misses the host's deadline instead, and is
// replaced for that), so it must not recycle healthy processes.
func processVerdict(err error) Verdict {
	var perr *pyplugin.Error
	switch {
	case err == nil:
		return Success
	case errors.As(err, &perr) && perr.Reason == pyplugin.ReasonInternal:
		return Failure
	default:
		return NoVerdict
	}
}
