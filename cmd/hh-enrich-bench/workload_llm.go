package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/headhunter/hh-enrich-svc/cmd/internal/chatstandin"
	"github.com/headhunter/hh-enrich-svc/cmd/internal/localstack"
)

// The llm modes: the service on Together AI's protocol against a chat API stand-in
// (lognormal latency, a requests- and tokens-a-minute limit answered with 429 and
// Retry-After), with default settings apart from the account's limit, on one
// instance and on two sharing one Redis. The physical limit of this path is the
// provider's rate limit: everything is measured against it.
const (
	ModeLLM  = "llm"   // one instance
	ModeLLM2 = "llm-2" // two instances on one Redis; run by -modes llm too
)

// llmKey finds a job's key in the stand-in's request body: it opens the recruiter comments.
var llmKey = regexp.MustCompile(`llmbench-[0-9a-z]+-[0-9]+`)

// llmBatchSize is how many candidates one POST /v1/enrich/batch carries.
const llmBatchSize = 100

// llmRun is one configuration's stack and stand-in.
type llmRun struct {
	b         *bench
	instances int
	standIn   *chatstandin.Server
	stack     *localstack.Stack
	clients   []*localstack.Client
	prefix    string // the candidates' key prefix
}

// runLLM measures both configurations, one stack at a time.
func (m *Main) runLLM(ctx context.Context, b *bench) []*ModeResult {
	var out []*ModeResult
	for _, instances := range []int{1, 2} {
		mode := ModeLLM
		if instances == 2 {
			mode = ModeLLM2
		}
		res := newMode(mode, fmt.Sprintf("%d jobs, %d instance(s), provider limit %d requests/min and %d tokens/min, "+
			"latency lognormal median %s p99 %s", b.cfg.LLMJobs, instances, b.cfg.LLMRPM, b.cfg.llmTPM(),
			b.cfg.LLMLatencyMedian, b.cfg.LLMLatencyP99))
		if m.Config.URL != "" {
			out = append(out, res.unavailable("needs a stack of its own (not -url)"))
			continue
		}
		out = append(out, withTimeout(ctx, b.cfg.WorkloadTimeout, func(ctx context.Context) *ModeResult {
			return m.measureLLM(ctx, b, instances, res)
		}))
	}
	return out
}

func (m *Main) measureLLM(ctx context.Context, b *bench, instances int, res *ModeResult) *ModeResult {
	run, err := m.startLLMRun(ctx, b, instances)
	if run != nil {
		defer run.close()
	}
	if err != nil {
		return res.fail(err)
	}
	first, err := run.runJobs(ctx, "first", 0)
	if err != nil {
		return res.fail(err)
	}
	paid := run.standIn.Stats()
	run.standIn.ResetStats()
	rerun, err := run.runJobs(ctx, "rerun", len(first.jobs))
	if err != nil {
		return res.fail(err)
	}
	run.report(res, first, rerun, paid, run.standIn.Stats())
	return res
}

func (m *Main) startLLMRun(ctx context.Context, b *bench, instances int) (*llmRun, error) {
	content, err := chatstandin.GoodEnrichment(ctx, b.cfg.PythonBin, b.cfg.RepoRoot)
	if err != nil {
		return nil, err
	}
	standIn, err := chatstandin.Start(chatstandin.Config{
		Content: content, LatencyMedian: b.cfg.LLMLatencyMedian, LatencyP99: b.cfg.LLMLatencyP99,
		RPM: b.cfg.LLMRPM, TPM: b.cfg.llmTPM(), Seed: uint64(instances), LatencyKey: llmKey,
	})
	if err != nil {
		return nil, err
	}
	run := &llmRun{b: b, instances: instances, standIn: standIn, prefix: fmt.Sprintf("llmbench-%s%d", b.runID, instances)}
	if err := os.MkdirAll(filepath.Dir(m.Config.OutPath), 0o755); err != nil {
		return run, fmt.Errorf("results folder: %w", err)
	}
	cfg := m.stackConfig()
	cfg.Instances = instances
	cfg.LogPath = filepath.Join(filepath.Dir(m.Config.OutPath), fmt.Sprintf("service-llm%d.log", instances))
	// Default settings but the account's limit: what a user sets from the provider's page.
	cfg.ExtraEnv = append(slices.Clone(cfg.ExtraEnv), "TOGETHER_API_KEY=bench-key", "TOGETHER_AI_BASE_URL="+standIn.BaseURL,
		fmt.Sprintf("TOGETHER_RPM=%d", b.cfg.LLMRPM), fmt.Sprintf("TOGETHER_TPM=%d", b.cfg.llmTPM()))
	if run.stack, err = localstack.StartStack(ctx, cfg); err != nil {
		return run, fmt.Errorf("starting the llm stack: %w", err)
	}
	for _, svc := range run.stack.Services {
		run.clients = append(run.clients, localstack.NewClient(svc.URL, maxSyncInFlight))
	}
	return run, nil
}

func (r *llmRun) close() {
	for _, c := range r.clients {
		c.Close()
	}
	if r.stack != nil {
		_ = r.stack.Close(context.Background())
	}
	_ = r.standIn.Close()
}

// llmJobs is one run of the batch: when it started and every job as it ended.
type llmJobs struct {
	started time.Time
	ended   time.Time
	jobs    []*localstack.Job
}

// runJobs submits the LLMJobs candidates in batches, alternating between the
// instances, waits until every job ended and reads each back. offset keeps the
// rerun's candidate ids apart from the first run's (dedupe would answer them), while
// the content, and so the cache key, stays the same.
func (r *llmRun) runJobs(ctx context.Context, run string, offset int) (*llmJobs, error) {
	n := r.b.cfg.LLMJobs
	out := &llmJobs{started: time.Now()}
	var batches []*localstack.Batch
	bar := newBar(r.b.bars, n, fmt.Sprintf("llm %d×: %-5s ", r.instances, run))
	defer func() { _ = bar.Finish() }()
	for k := 0; k*llmBatchSize < n; k++ {
		body := localstack.BatchBody{}
		for i := k * llmBatchSize; i < min(n, (k+1)*llmBatchSize); i++ {
			body.Candidates = append(body.Candidates, localstack.BatchCandidate{
				CandidateID: fmt.Sprintf("%s-%d", r.prefix, offset+i), Payload: r.candidate(i)})
		}
		batch, err := r.clients[k%len(r.clients)].SubmitBatch(ctx, llmTenant(k), body)
		if err != nil {
			return nil, fmt.Errorf("%s run, batch %d: %w", run, k, err)
		}
		batches = append(batches, batch)
	}
	if err := r.waitForBatches(ctx, batches, bar); err != nil {
		return nil, err
	}
	out.ended = time.Now()
	jobs, err := r.readJobs(ctx, batches)
	out.jobs = jobs
	return out, err
}

func llmTenant(k int) string { return fmt.Sprintf("bench-llm-t%d", k%4) }

// candidate i: a test candidate whose key in the stand-in's log opens its
// recruiter comments (the prompt leaves the name out, so the key rides on a field
// the model is sent).
func (r *llmRun) candidate(i int) json.RawMessage {
	doc := map[string]any{}
	_ = json.Unmarshal(r.b.cands[i%len(r.b.cands)].Doc, &doc)
	comments, _ := doc["recruiter_comments"].(string)
	doc["recruiter_comments"] = strings.TrimSpace(fmt.Sprintf("%s-%d. %s", r.prefix, i, comments))
	if s, _ := doc["resume_text"].(string); s == "" {
		doc["resume_text"] = "Software engineer, eight years of backend work."
	}
	raw, _ := json.Marshal(doc)
	return raw
}

// waitForBatches polls every batch's counts (shared in Redis, whichever instance
// answers) until all its jobs ended.
func (r *llmRun) waitForBatches(ctx context.Context, batches []*localstack.Batch, bar progress) error {
	ticker := time.NewTicker(200 * time.Millisecond)
	defer ticker.Stop()
	for {
		ended := 0
		for k, batch := range batches {
			got, err := r.clients[0].BatchStatus(ctx, llmTenant(k), batch.BatchID)
			if err != nil {
				return err
			}
			ended += got.Counts["completed"] + got.Counts["failed"]
		}
		_ = bar.Set(ended)
		if ended >= r.b.cfg.LLMJobs {
			return nil
		}
		select {
		case <-ticker.C:
		case <-ctx.Done():
			return fmt.Errorf("%d of %d jobs ended: %w", ended, r.b.cfg.LLMJobs, ctx.Err())
		}
	}
}

// readJobs reads every job back, eight at a time.
func (r *llmRun) readJobs(ctx context.Context, batches []*localstack.Batch) ([]*localstack.Job, error) {
	var refs []submitted
	for k, batch := range batches {
		for _, j := range batch.Jobs {
			refs = append(refs, submitted{tenant: llmTenant(k), jobID: j.JobID})
		}
	}
	jobs := make([]*localstack.Job, len(refs))
	errs := make([]error, len(refs))
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < len(refs); i += 8 {
				jobs[i], errs[i] = r.clients[0].Status(ctx, refs[i].tenant, refs[i].jobID)
			}
		})
	}
	wg.Wait()
	return jobs, errors.Join(errs...)
}
