package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// fuzzTargets are the router's fuzz targets over the HTTP API.
var fuzzTargets = []string{"FuzzSubmitNeverAnswers5xx", "FuzzTokenNeverAnswers5xx"}

// goTestTimeout bounds one `go test` run (building with fuzzing instrumentation
// included).
const goTestTimeout = 10 * time.Minute

// runBadInput feeds the API bad input: the router's fuzz targets through `go test
// -fuzz` (the seed corpus only in the quick run), then malformed and oversized
// requests against the real binary. No input may get a 5xx or crash it.
func runBadInput(ctx context.Context, h *harness) []*Row {
	return []*Row{h.fuzzRouter(ctx), h.badRequests(ctx)}
}

// fuzzRouter runs the router's fuzz targets: for FuzzExecs and TokenFuzzExecs
// inputs, or their seed corpus when FuzzExecs is 0.
func (h *harness) fuzzRouter(ctx context.Context) *Row {
	if h.sizes.FuzzExecs == 0 {
		return h.fuzzSeeds(ctx)
	}
	row := newRow("fuzz: router targets via go test -fuzz")
	row.FailedByCode = map[string]int{}
	for i, target := range fuzzTargets {
		n := []int{h.sizes.FuzzExecs, h.sizes.TokenFuzzExecs}[i]
		if n <= 0 {
			continue
		}
		started := time.Now()
		out, err := h.goTest(ctx, "-run", "^$", "-fuzz", "^"+target+"$", "-fuzztime", fmt.Sprintf("%dx", n),
			"-parallel", "2", "./router/")
		execs := parseFuzzExecs(out)
		row.Submitted += execs
		if err != nil {
			row.FailedByCode[target]++
			row.note("%s failed: %v; %s", target, err, lastLines(out, 8))
			continue
		}
		row.Completed += execs
		row.note("%s: %d inputs in %.0f s (build included)", target, execs, time.Since(started).Seconds())
		if i == 0 {
			row.check("fuzz_inputs_at_least_asked", execs >= n, "%s ran %d inputs, asked %d", target, execs, n)
		}
	}
	row.check("fuzz_no_5xx_no_panic", row.Failed() == 0, "every input answered 2xx or a 4xx with a code")
	row.summarize("%d inputs through %s with go test -fuzz: no 5xx, no panic", row.Submitted, strings.Join(fuzzTargets, " and "))
	return row
}

// fuzzSeeds runs the fuzz targets' seed corpus as plain tests, as CI does.
func (h *harness) fuzzSeeds(ctx context.Context) *Row {
	row := newRow("fuzz: router targets, seed corpus")
	out, err := h.goTest(ctx, "-count=1", "-v", "-run", "^("+strings.Join(fuzzTargets, "|")+")$", "./router/")
	passed := regexp.MustCompile(`(?m)--- PASS: Fuzz\w+/seed#\d+`).FindAllString(out, -1)
	failed := regexp.MustCompile(`(?m)--- FAIL: Fuzz\w+/\S+`).FindAllString(out, -1)
	row.Submitted, row.Completed = len(passed)+len(failed), len(passed)
	row.FailedByCode = map[string]int{}
	for _, f := range failed {
		row.FailedByCode[strings.TrimPrefix(f, "--- FAIL: ")]++
	}
	if err != nil && len(failed) == 0 {
		row.fail(fmt.Errorf("go test: %w: %s", err, lastLines(out, 8)))
	}
	row.check("fuzz_no_5xx_no_panic", err == nil && len(passed) > 0, "%d seed inputs of %s", len(passed), strings.Join(fuzzTargets, ", "))
	row.note("the quick run replays the seed corpus; `make chaos` fuzzes for %d inputs", fullSizes.FuzzExecs)
	row.summarize("seed corpus of %s replayed (the full run fuzzes)", strings.Join(fuzzTargets, " and "))
	return row
}

// goTest runs `go test args...` in the repository and returns its output.
func (h *harness) goTest(ctx context.Context, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, goTestTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", append([]string{"test"}, args...)...)
	cmd.Dir = h.cfg.RepoRoot
	cmd.Env = os.Environ()
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// fuzzExecsLine matches go test -fuzz's progress lines.
var fuzzExecsLine = regexp.MustCompile(`fuzz: elapsed: \S+, execs: (\d+) `)

// parseFuzzExecs returns the most inputs a fuzzing run reported, 0 when none.
func parseFuzzExecs(out string) int {
	most := 0
	for _, m := range fuzzExecsLine.FindAllStringSubmatch(out, -1) {
		if n, err := strconv.Atoi(m[1]); err == nil {
			most = max(most, n)
		}
	}
	return most
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], " | ")
}

// badRequests sends BadInputs malformed requests and the oversized ones to the
// binary.
func (h *harness) badRequests(ctx context.Context) *Row {
	n := h.sizes.BadInputs
	row := newRow(fmt.Sprintf("bad input vs the binary, %d requests", n))
	stack, err := h.startStack(ctx, ScenarioBadInput, stackOpts{})
	if err != nil {
		return row.fail(err)
	}
	defer h.closeStack(ScenarioBadInput, stack, row)
	canary := "Zebulon Canarywright " + h.runID
	h.addCanary(canary)
	client := &http.Client{Timeout: 30 * time.Second}
	inputs := badInputs(rand.New(rand.NewPCG(1, uint64(n))), n, canary)
	statuses := sendAll(ctx, client, stack.URL, inputs)
	row.Submitted = n
	row.FailedByCode = map[string]int{}
	byStatus := map[string]int{}
	for _, st := range statuses {
		byStatus[st.label()]++
		switch {
		case st.status == 0 || st.status >= 500:
			row.FailedByCode[st.label()]++
		case st.status >= 400 && !st.hasCode:
			row.FailedByCode["4xx_without_code"]++
		default:
			row.Completed++
		}
	}
	row.note("answers: %s (inputs from a fixed seed: the same every run)", formatCounts(byStatus))
	row.check("no_5xx_no_crash", row.Failed() == 0, "%d of %d malformed requests answered 2xx, or 4xx with a code", row.Completed, n)
	h.checkOversized(ctx, client, stack.URL, row)
	row.summarize("answers %s; a 1 MiB+1 submit and a 32 MiB+1 batch → 413, 100 KiB of headers → 431", formatCounts(byStatus))
	return row
}

// answer is what one bad input got.
type answer struct {
	status  int // 0: no answer (connection lost, the service gone)
	hasCode bool
}

func (a answer) label() string {
	if a.status == 0 {
		return "no_answer"
	}
	return strconv.Itoa(a.status)
}

// sendAll sends every input from 8 goroutines and returns the answers in order.
func sendAll(ctx context.Context, client *http.Client, base string, inputs []badInput) []answer {
	out := make([]answer, len(inputs))
	var wg sync.WaitGroup
	next := make(chan int)
	for range 8 {
		wg.Go(func() {
			for i := range next {
				out[i] = send(ctx, client, base, inputs[i])
			}
		})
	}
	for i := range inputs {
		next <- i
	}
	close(next)
	wg.Wait()
	return out
}

func send(ctx context.Context, client *http.Client, base string, in badInput) answer {
	req, err := http.NewRequestWithContext(ctx, in.method, base+in.path, bytes.NewReader(in.body))
	if err != nil {
		return answer{status: 400, hasCode: true} // not sendable: the client refuses it, nothing to learn
	}
	req.Header = in.header.Clone()
	resp, err := client.Do(req)
	if err != nil {
		return answer{}
	}
	defer resp.Body.Close()
	var body struct {
		Code string `json:"code"`
	}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	_ = json.Unmarshal(raw, &body)
	return answer{status: resp.StatusCode, hasCode: body.Code != ""}
}

// checkOversized sends a submission just over 1 MiB, a batch just over 32 MiB
// and 100 KiB of headers: 413, 413 and 431.
func (h *harness) checkOversized(ctx context.Context, client *http.Client, base string, row *Row) {
	pad := func(size int) []byte {
		prefix := []byte(`{"candidateId":"big","payload":{"resume_text":"`)
		body := append(prefix, bytes.Repeat([]byte("a"), size-len(prefix)-3)...)
		return append(body, `"}}`...)
	}
	for _, c := range []struct {
		name, path string
		body       []byte
		want       int
	}{
		{"oversized_submit_413", "/v1/enrich/profile", pad(1<<20 + 1), http.StatusRequestEntityTooLarge},
		{"oversized_batch_413", "/v1/enrich/batch", pad(32<<20 + 1), http.StatusRequestEntityTooLarge},
	} {
		in := badInput{method: http.MethodPost, path: c.path, body: c.body,
			header: http.Header{"Content-Type": {"application/json"}, "X-Tenant-Id": {"tenant-alpha"}}}
		got := send(ctx, client, base, in)
		row.check(c.name, got.status == c.want && got.hasCode, "%d-byte body: %s (want %d with a code)", len(c.body), got.label(), c.want)
	}
	in := badInput{method: http.MethodGet, path: "/health", header: http.Header{"X-Padding": {strings.Repeat("p", 100<<10)}}}
	got := send(ctx, client, base, in)
	row.check("oversized_headers_431", got.status == http.StatusRequestHeaderFieldsTooLarge, "100 KiB of headers: %s (want 431)", got.label())
}
