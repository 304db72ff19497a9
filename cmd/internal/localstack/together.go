package localstack

import (
	"bufio"
	"context"
	_ "embed" // the fake's driver script
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

//go:embed fake_together_main.py
var fakeTogetherMain string

// togetherAnswerTimeout bounds the wait for the fake's answer to a command.
const togetherAnswerTimeout = 10 * time.Second

// FakeTogether is cloud_run_worker/fake_together.py run as a process: Together
// AI's OpenAI-compatible chat API on a loopback port (DESIGN §5), answering every
// completion with a good enrichment until Storm makes it answer 429.
type FakeTogether struct {
	// BaseURL is the value for TOGETHER_AI_BASE_URL (it ends in /v1).
	BaseURL string
	proc    *child
	stdin   io.WriteCloser
	lines   chan string // stdout after the first line; closed at exit
	stderr  *syncBuffer
	mu      sync.Mutex // one command at a time
}

// TogetherStats counts the fake's answers.
type TogetherStats struct {
	Requests    int `json:"requests"`
	RateLimited int `json:"rate_limited"`
	OK          int `json:"ok"`
	// Misbehaved counts the bad answers given to candidates marked [[fake:<kind>]].
	Misbehaved int `json:"misbehaved"`
}

// StartFakeTogether runs the fake with pythonBin (the venv's interpreter) and
// repoRoot's cloud_run_worker on its path, and returns once it serves.
func StartFakeTogether(ctx context.Context, pythonBin, repoRoot string) (*FakeTogether, error) {
	cmd := exec.Command(pythonBin, "-c", fakeTogetherMain)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "PYTHONUNBUFFERED=1", "PYTHONDONTWRITEBYTECODE=1",
		"PYTHONPATH=" + filepath.Join(repoRoot, "cloud_run_worker")}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("fake together: %w", err)
	}
	// An os.Pipe, not StdoutPipe: the child's waiting goroutine calls Wait, which
	// would close a StdoutPipe under a reader still reading it.
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("fake together: %w", err)
	}
	f := &FakeTogether{stdin: stdin, lines: make(chan string, 16), stderr: &syncBuffer{}}
	cmd.Stdout, cmd.Stderr = w, f.stderr
	f.proc, err = startChild("fake together", cmd)
	_ = w.Close() // the child holds its own copy
	if err != nil {
		_ = r.Close()
		return nil, err
	}
	go f.readLines(r)
	f.BaseURL, err = f.answer(ctx)
	if err != nil {
		return nil, joinClose(err, f.Close())
	}
	return f, nil
}

// readLines hands the fake's stdout lines to answer until the process exits.
func (f *FakeTogether) readLines(r *os.File) {
	defer close(f.lines)
	defer r.Close()
	scanner := bufio.NewScanner(r)
	for scanner.Scan() {
		f.lines <- scanner.Text()
	}
}

// answer waits for the fake's next line.
func (f *FakeTogether) answer(ctx context.Context) (string, error) {
	timer := time.NewTimer(togetherAnswerTimeout)
	defer timer.Stop()
	select {
	case line, ok := <-f.lines:
		if !ok {
			<-f.proc.exited
			return "", fmt.Errorf("fake together exited (%s):\n%s", f.proc.exitStatus(), f.stderr.String())
		}
		return line, nil
	case <-timer.C:
		return "", fmt.Errorf("fake together did not answer within %s:\n%s", togetherAnswerTimeout, f.stderr.String())
	case <-ctx.Done():
		return "", fmt.Errorf("fake together: %w", ctx.Err())
	}
}

// command sends one command line and returns the fake's answer.
func (f *FakeTogether) command(ctx context.Context, line string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, err := io.WriteString(f.stdin, line+"\n"); err != nil {
		return "", fmt.Errorf("fake together: %w", err)
	}
	return f.answer(ctx)
}

// Storm makes every completion answer 429 with Retry-After: retryAfter (whole
// seconds) for d from now; then it answers well again.
func (f *FakeTogether) Storm(ctx context.Context, d time.Duration, retryAfter int) error {
	got, err := f.command(ctx, fmt.Sprintf("storm %.3f %d", d.Seconds(), retryAfter))
	if err == nil && got != "ok" {
		err = fmt.Errorf("fake together: storm answered %q", got)
	}
	return err
}

// Stats returns the fake's counts of answers so far.
func (f *FakeTogether) Stats(ctx context.Context) (TogetherStats, error) {
	var st TogetherStats
	got, err := f.command(ctx, "stats")
	if err != nil {
		return st, err
	}
	if err := json.NewDecoder(strings.NewReader(got)).Decode(&st); err != nil {
		return st, fmt.Errorf("fake together: stats %q: %w", got, err)
	}
	return st, nil
}

// Close ends the fake (its stdin closes, it stops serving) and waits for it; it
// is killed if it takes more than 5 s. Safe to call more than once.
func (f *FakeTogether) Close() error {
	_ = f.stdin.Close()
	select {
	case <-f.proc.exited:
		return nil
	case <-time.After(5 * time.Second):
		return f.proc.Stop(time.Second)
	}
}
