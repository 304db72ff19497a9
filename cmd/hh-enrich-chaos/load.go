package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/headhunter/hh-enrich-svc/cmd/internal/localstack"
)

const (
	// pollEvery is how often the harness reads the queue counts while it waits:
	// the service sends no signal a client outside it could wait on.
	pollEvery = 100 * time.Millisecond
	// stallWindow ends a wait early when nothing is pending for that long but
	// jobs are still missing: those are lost, waiting longer cannot find them.
	stallWindow = 5 * time.Second
	// maxInFlight bounds an open-loop submitter's concurrent requests.
	maxInFlight = 64
	// readBackWorkers read the jobs back at the end.
	readBackWorkers = 16
)

// tracked is one job the service accepted.
type tracked struct {
	tenant, jobID, candidateID string
}

// loadGen submits a scenario's jobs and follows them to their end. Jobs carry
// candidates of the data set, each under its own org_id as tenant, with
// candidate ids unique to the run and scenario.
type loadGen struct {
	h       *harness
	prefix  string
	clients []*localstack.Client // any that answers will do: instances may be killed
	next    atomic.Int64
	force   bool // submit with "force": high priority, no dedupe

	// payload, when set, is the i-th job's payload instead of its candidate's document.
	payload func(i int, c localstack.Candidate) json.RawMessage

	mu      sync.Mutex
	jobs    []tracked
	refused map[string]int // submits not accepted, by status code or "network"
}

// newLoad returns a load on the instances at urls.
func (h *harness) newLoad(scenario string, urls ...string) *loadGen {
	l := &loadGen{h: h, prefix: "chaos-" + h.runID + "-" + scenario, refused: map[string]int{}}
	for _, u := range urls {
		l.clients = append(l.clients, localstack.NewClient(u, maxInFlight))
	}
	return l
}

// close drops the clients' idle connections.
func (l *loadGen) close() {
	for _, c := range l.clients {
		c.Close()
	}
}

// accepted is how many jobs the service accepted so far.
func (l *loadGen) accepted() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.jobs)
}

// submitted returns a copy of the accepted jobs.
func (l *loadGen) submitted() []tracked {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]tracked(nil), l.jobs...)
}

// submitOne submits the next job through client; a refusal is counted, not returned.
func (l *loadGen) submitOne(ctx context.Context, client *localstack.Client) {
	i := int(l.next.Add(1) - 1)
	cand := l.h.candidate(i)
	id := fmt.Sprintf("%s-%d", l.prefix, i)
	doc := cand.Doc
	if l.payload != nil {
		doc = l.payload(i, cand)
	}
	job, status, err := client.Submit(ctx, cand.Tenant, localstack.SubmitBody{CandidateID: id, Payload: doc, Force: l.force})
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case err == nil:
		l.jobs = append(l.jobs, tracked{tenant: cand.Tenant, jobID: job.JobID, candidateID: id})
	case ctx.Err() != nil:
	case status == 0:
		l.refused["network"]++
	default:
		l.refused[fmt.Sprint(status)]++
	}
}

// burst submits n jobs from workers goroutines, each as fast as the service
// answers, through the first client.
func (l *loadGen) burst(ctx context.Context, n, workers int) {
	var wg sync.WaitGroup
	var left atomic.Int64
	left.Store(int64(n))
	for range workers {
		wg.Go(func() {
			for left.Add(-1) >= 0 && ctx.Err() == nil {
				l.submitOne(ctx, l.clients[0])
			}
		})
	}
	wg.Wait()
}

// steady submits rate jobs a second for d or until stop is closed (nil: never),
// open loop (a slow answer does not slow the next submit), through the first
// client, and returns once every submit has been answered.
func (l *loadGen) steady(ctx context.Context, rate float64, d time.Duration, stop <-chan struct{}) {
	interval := time.Duration(float64(time.Second) / rate)
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	end := time.Now().Add(d)
	sem := make(chan struct{}, maxInFlight)
	var wg sync.WaitGroup
	for time.Now().Before(end) && ctx.Err() == nil && !closed(stop) {
		select {
		case sem <- struct{}{}:
			wg.Go(func() {
				defer func() { <-sem }()
				l.submitOne(ctx, l.clients[0])
			})
		default:
			l.mu.Lock()
			l.refused["harness_backlog"]++ // maxInFlight submits still unanswered
			l.mu.Unlock()
		}
		select {
		case <-ticker.C:
		case <-ctx.Done():
		}
	}
	wg.Wait()
}

// closed reports whether ch is closed; a nil channel never is.
func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// pause waits d unless ctx ends first.
func pause(ctx context.Context, d time.Duration) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
	}
}

// counts reads the queue counts through the first client that answers.
func (l *loadGen) counts(ctx context.Context) (*localstack.QueueCounts, error) {
	var errs []error
	for _, c := range l.clients {
		q, err := c.QueueCounts(ctx, l.h.adminToken)
		if err == nil {
			return q, nil
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

// waitCompleted waits until the service has completed at least n jobs, or
// timeout passes: faults are injected once work is under way.
func (l *loadGen) waitCompleted(ctx context.Context, n int64, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		if q, err := l.counts(ctx); err == nil && q.Totals["completed"] >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %d completed jobs: %w", n, ctx.Err())
		case <-time.After(pollEvery):
		}
	}
}

// waitEnded waits until every accepted job ended (the completed and failed totals
// reach the jobs accepted, nothing pending), until nothing has been pending for
// stallWindow while jobs are still missing (lost: waiting longer cannot help), or
// until deadline. Only the deadline is an error; the read-back says what ended.
func (l *loadGen) waitEnded(ctx context.Context, deadline time.Time) error {
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	var idleSince time.Time
	for {
		want := int64(l.accepted())
		if q, err := l.counts(ctx); err == nil {
			ended := q.Totals["completed"] + q.Totals["failed"]
			switch {
			case q.Pending() == 0 && ended >= want:
				return nil
			case q.Pending() > 0:
				idleSince = time.Time{}
			case idleSince.IsZero():
				idleSince = time.Now()
			case time.Since(idleSince) > stallWindow:
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("jobs still pending at the deadline: %w", ctx.Err())
		case <-time.After(pollEvery):
		}
	}
}

// readBack reads every accepted job once more, from readBackWorkers goroutines,
// retrying answers that are not the job (a restarting instance); a job the
// service no longer knows comes back Missing.
func (l *loadGen) readBack(ctx context.Context) ([]Outcome, []*localstack.Job) {
	jobs := l.submitted()
	outcomes := make([]Outcome, len(jobs))
	records := make([]*localstack.Job, len(jobs))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range readBackWorkers {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < len(jobs); i = int(next.Add(1) - 1) {
				records[i], outcomes[i] = l.readOne(ctx, jobs[i])
			}
		})
	}
	wg.Wait()
	return outcomes, records
}

func (l *loadGen) readOne(ctx context.Context, t tracked) (*localstack.Job, Outcome) {
	o := Outcome{Entity: t.tenant + "/" + t.candidateID}
	var err error
	for try := range 20 {
		for _, c := range l.clients {
			var job *localstack.Job
			if job, err = c.Status(ctx, t.tenant, t.jobID); err == nil {
				return job, outcomeOf(o, job)
			}
			if errors.Is(err, localstack.ErrNotFound) {
				o.Missing = true
				return nil, o
			}
		}
		if ctx.Err() != nil || try == 19 {
			break
		}
		time.Sleep(250 * time.Millisecond) // an instance coming back; bounded by the tries
	}
	o.Status = "unreadable: " + err.Error()
	return nil, o
}

// outcomeOf fills o from the job record.
func outcomeOf(o Outcome, job *localstack.Job) Outcome {
	o.Status, o.ErrorCode, o.Attempts = job.Status, job.ErrorCode, job.AttemptCount
	if t, err := time.Parse(time.RFC3339Nano, job.UpdatedAt); err == nil {
		o.EndedAt = t
	}
	if r := job.Result; r != nil {
		o.EmbeddingUpserted = r.EmbeddingUpserted
		o.EmbedSeconds = r.PhaseDurationsMs["embed"] / 1000
		switch {
		case r.EmbeddingUpserted:
			o.EmbedOutcome = "upserted"
		case r.EmbeddingSkippedReason != "":
			o.EmbedOutcome = r.EmbeddingSkippedReason
		case r.EmbeddingErrorCategory != "":
			o.EmbedOutcome = "error:" + r.EmbeddingErrorCategory
		}
	}
	return o
}

// refusedCount is how many submits were refused with label (a status code, "network").
func (l *loadGen) refusedCount(label string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.refused[label]
}

// refusedNote describes the submits the service did not accept, "" when none.
func (l *loadGen) refusedNote() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.refused) == 0 {
		return ""
	}
	return "submits not accepted (not counted as submitted): " + formatCounts(l.refused)
}

// finish waits for the jobs to end by deadline, reads them back, and fills the
// row's counts and duplicate upserts (against the embed server's counts).
func (l *loadGen) finish(ctx context.Context, row *Row, deadline time.Time, embed *localstack.EmbedServer) ([]Outcome, []*localstack.Job) {
	if err := l.waitEnded(ctx, deadline); err != nil {
		row.note("%v", err)
	}
	outcomes, records := l.readBack(context.WithoutCancel(ctx))
	row.account(outcomes)
	if note := l.refusedNote(); note != "" {
		row.note("%s", note)
	}
	row.note("%d jobs ran more than once (retried or re-leased)", countReRuns(outcomes))
	if embed != nil {
		extra, unexplained := duplicateUpserts(outcomes, embed.UpsertsByEntity())
		row.Duplicates = unexplained
		if row.Completed > 0 {
			row.note("embed upserts per completed job %.3f (%d beyond one per job, %d of them beyond one per attempt)",
				float64(embed.Upserts())/float64(row.Completed), extra, unexplained)
		}
	}
	return outcomes, records
}

// healthProbe polls GET /health and records when its status changes.
type healthProbe struct {
	mu      sync.Mutex
	changes []healthChange
}

type healthChange struct {
	At     time.Time
	Status int // 0: no answer
}

// run polls client every 50 ms until ctx ends.
func (p *healthProbe) run(ctx context.Context, client *localstack.Client) {
	last := -1
	ticker := time.NewTicker(50 * time.Millisecond)
	defer ticker.Stop()
	for {
		reqCtx, cancel := context.WithTimeout(ctx, time.Second)
		status, _ := client.Health(reqCtx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if status != last {
			p.mu.Lock()
			p.changes = append(p.changes, healthChange{At: time.Now(), Status: status})
			p.mu.Unlock()
			last = status
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// firstAfter is the first time at or after t the status was want.
func (p *healthProbe) firstAfter(t time.Time, want int) (time.Time, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	status := -1
	for _, c := range p.changes {
		if !c.At.After(t) {
			status = c.Status
			continue
		}
		if c.Status == want {
			return c.At, true
		}
	}
	if status == want {
		return t, true
	}
	return time.Time{}, false
}
