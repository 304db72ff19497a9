// Command hh-enrich-chaos is the service's reliability and security suite (`make
// chaos`): it starts the real stack on loopback (redis-server, a local embed
// server, the service binary with its Python plugin pool; a fake Together AI and
// the Firestore emulator where a scenario needs them), breaks it the way
// production breaks, and counts what happened to every job:
//
//   - kill-storm: a random plugin SIGKILLed every 100–200 ms while 10,000 jobs run;
//   - hung-plugin: one plugin SIGSTOPped, to be found and replaced at its deadline;
//   - instance-kill: one of 2–3 instances sharing a Redis SIGKILLed mid-run;
//   - redis-restart: redis-server (append-only) SIGKILLed and started again;
//   - redis-faults: a proxy between the service and Redis loses replies, resets
//     connections mid-command and delays replies past the read timeout, so the
//     client's retries replay scripts Redis already ran;
//   - redis-cluster: the binary on a three-master Redis Cluster given one seed,
//     with the master of the store's slot SIGKILLed and restarted;
//   - embed: hh-embed-svc down, answering 500, and slower than its timeout;
//   - together-429: the LLM provider answering 429 with Retry-After for a while;
//   - together-bad-answers: the model answering some candidates badly (cut at
//     max_tokens, its template echoed, a score of 85, injected tags, a 400 or 413);
//   - firestore: the Firestore emulator killed and started again;
//   - bad-input: the router's fuzz targets, then malformed and oversized requests
//     against the binary;
//   - security: the authentication matrix against the binary in AUTH_MODE=gateway,
//     plugin socket folders, what `make run` listens on, and every log of the run
//     searched for tokens and candidate data.
//
// Each scenario prints a row: jobs submitted, completed, failed (by code), lost,
// duplicated side effects, time to recover. The table goes to stdout, the rows to
// a JSON file and a Markdown table beside it. The exit status is 1 when any row
// lost a job, failed a check or could not run.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	m := NewMain()
	if err := m.ParseFlags(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "hh-enrich-chaos:", err)
		os.Exit(2)
	}
	err := m.Run(ctx)
	if closeErr := m.Close(); closeErr != nil {
		err = errors.Join(err, closeErr)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "hh-enrich-chaos:", err)
		os.Exit(1)
	}
}

// Main is one run of the suite: ParseFlags, Run, Close.
type Main struct {
	Config Config
	// Stdout gets the table; Stderr a line per scenario as it runs.
	Stdout, Stderr io.Writer
	// ProcRoot is where processes are looked up (/proc).
	ProcRoot string
	// Results is what Run found, also when it stopped half way.
	Results *Results

	harness *harness
}

// NewMain returns a Main writing to the process's stdout and stderr.
func NewMain() *Main {
	return &Main{Stdout: os.Stdout, Stderr: os.Stderr, ProcRoot: "/proc"}
}

// ParseFlags reads the command line (without the program name) into m.Config.
func (m *Main) ParseFlags(args []string) error {
	cfg, err := ParseConfig(args)
	if err != nil {
		return err
	}
	m.Config = cfg
	return nil
}

// Close removes the run's temporary folders (plugin sockets, scratch files).
// Safe to call twice.
func (m *Main) Close() error {
	if m.harness == nil {
		return nil
	}
	err := m.harness.close()
	m.harness = nil
	return err
}
