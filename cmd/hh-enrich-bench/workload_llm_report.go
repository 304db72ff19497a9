package main

import (
	"fmt"
	"slices"
	"time"

	"github.com/headhunter/hh-enrich-svc/cmd/internal/chatstandin"
	"github.com/headhunter/hh-enrich-svc/cmd/internal/localstack"
)

// report fills res from the first run (paid for, against the limit) and the rerun
// (the same candidates again: the cache's turn).
func (r *llmRun) report(res *ModeResult, first, rerun *llmJobs, paid, rerunStats chatstandin.Stats) {
	n := len(first.jobs)
	res.Jobs = n
	var tokens int64
	var overheads, withEmbed, model []time.Duration
	phases := map[string][]time.Duration{}
	for _, job := range first.jobs {
		if job.Status != "completed" || job.Result == nil {
			res.Failed++
			continue
		}
		res.Completed++
		if u := job.Result.TokenUsage; u != nil {
			tokens += u.TotalTokens
		}
		for name, v := range job.Result.PhaseDurationsMs {
			phases[name] = append(phases[name], msDuration(v))
		}
		if d, ok := r.modelTime(job); ok {
			model = append(model, d)
			// The embed server's time is another service's (the harness sets it,
			// --embed-latency); it is reported apart.
			p := job.Result.PhaseDurationsMs
			serviceAndModel := leasedTime(p) - p["embed"]
			overheads = append(overheads, msDuration(serviceAndModel)-d)
			withEmbed = append(withEmbed, msDuration(serviceAndModel+p["embed"])-d)
		}
	}
	tokensPerJob := float64(tokens) / float64(max(1, res.Completed))
	limitPerSecond := r.limitPerSecond(tokensPerJob)
	steady := steadyRate(first.jobs)
	res.Extra["limitPerSecond"] = round2(limitPerSecond)
	res.Extra["shareOfLimit"] = round3(steady / limitPerSecond)
	res.Extra["shareOfRPM"] = round3(steady / (float64(r.b.cfg.LLMRPM) / 60))
	res.Extra["shareOfTPM"] = round3(steady * tokensPerJob / (float64(r.b.cfg.llmTPM()) / 60))
	res.Extra["wholeRunJobsPerSecond"] = round2(rate(res.Completed, first.ended.Sub(first.started)))
	res.Extra["calls429PerJob"] = round3(float64(paid.RateLimited) / float64(max(1, n)))
	res.Extra["calls429Share"] = round3(float64(paid.RateLimited) / float64(max(1, paid.Requests)))
	res.Extra["tokensPerJob"] = round1(tokensPerJob)
	res.Extra["providerPeakInFlight"] = float64(paid.PeakInFlight)
	if s := Summarize(model); s != nil {
		res.Extra["modelP50Ms"], res.Extra["modelP99Ms"] = s.P50, s.P99
	}
	if s := Summarize(withEmbed); s != nil {
		res.Extra["overheadWithEmbedP50Ms"], res.Extra["overheadWithEmbedP99Ms"] = s.P50, s.P99
	}
	hits, rerunTokens := 0, rerunStats.Tokens
	for _, job := range rerun.jobs {
		if job.Result != nil && job.Result.CacheHit {
			hits++
		}
		if job.Status == "failed" {
			res.Failed++
		}
	}
	res.Extra["rerunCacheHits"] = float64(hits)
	res.Extra["rerunTokens"] = float64(rerunTokens)
	res.Extra["rerunProviderCalls"] = float64(rerunStats.Requests)
	res.PhasesMs = map[string]*LatencySummary{}
	for name, d := range phases {
		res.PhasesMs[name] = Summarize(d)
	}
	res.LatencyBasis = "service overhead per job: total − rate-limit wait − the model's time for it − the embed server's time"
	res.finish(first.ended.Sub(first.started), overheads)
	res.JobsPerSecond = round2(steady)
	res.Efficiency = round3(steady / limitPerSecond)
	if res.Failed > 0 {
		res.Note = fmt.Sprintf("%d jobs failed", res.Failed)
	}
}

// modelTime is the stand-in's time for the job's last good answer.
func (r *llmRun) modelTime(job *localstack.Job) (time.Duration, bool) {
	name := llmKey.Find(job.Result.CandidateSnapshot)
	if name == nil {
		return 0, false
	}
	return r.standIn.ModelLatency(string(name))
}

// steadyRate is jobs/s between the 10th and the 90th percentile of completion
// times: the rate the limit allows once the start's burst and the end's tail of
// slow answers are left out.
func steadyRate(jobs []*localstack.Job) float64 {
	var done []time.Time
	for _, job := range jobs {
		if job.Status != "completed" {
			continue
		}
		if t, err := time.Parse(time.RFC3339Nano, job.UpdatedAt); err == nil {
			done = append(done, t)
		}
	}
	if len(done) < 10 {
		return 0
	}
	slices.SortFunc(done, func(a, b time.Time) int { return a.Compare(b) })
	lo, hi := len(done)/10, len(done)*9/10
	return rate(hi-lo, done[hi].Sub(done[lo]))
}

// limitPerSecond is the jobs a second the provider allows: its requests a minute, or
// its tokens a minute at what a job costs, whichever binds first.
func (r *llmRun) limitPerSecond(tokensPerJob float64) float64 {
	limit := float64(r.b.cfg.LLMRPM) / 60
	if tokensPerJob > 0 {
		limit = min(limit, float64(r.b.cfg.llmTPM())/60/tokensPerJob)
	}
	return limit
}

// leasedTime is a job's time under its last lease, less its wait for the rate limit:
// total less rateLimit, so everything the service did between phases counts. A job
// deferred for the limit (ENRICH_RATE_LIMIT_HOLD_MS) has earlier leases' waits in
// rateLimit, outside total; for it only the named phases are left to add up.
func leasedTime(p map[string]float64) float64 {
	if p["rateLimit"]+p["python"] <= p["total"] {
		return p["total"] - p["rateLimit"]
	}
	return p["load"] + p["python"] + p["firestore"] + p["embed"]
}
