// Command hh-enrich-bench measures hh-enrich-svc end to end, side by side with the
// seed's spawn-per-job design and with the enricher's own limit, in one run on one
// machine (`make bench`).
//
// It starts a real stack on loopback (redis-server, a local embed server, the
// service binary and its plugin pool; Firestore off unless asked) or talks to a
// running service (-url), then runs, in order:
//
//   - limit: cloud_run_worker/bench_limit.py once per core, the bare enricher in a loop;
//   - spawn: run_enrich_job.py spawned per job, the seed's design;
//   - seed: the seed's benchmark client (async submit, then poll), with its summary;
//   - throughput: a flood of async jobs across many tenants;
//   - sync: "async": false requests at half the measured throughput, open loop;
//   - batch: the same flood through POST /v1/enrich/batch.
//
// It prints a table, writes the results as JSON (-out) and an SVG chart beside it,
// and reports the targets without asserting them.
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

	"github.com/headhunter/hh-enrich-svc/cmd/internal/localstack"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	m := NewMain()
	if err := m.ParseFlags(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "hh-enrich-bench:", err)
		os.Exit(2)
	}
	err := m.Run(ctx)
	if closeErr := m.Close(); closeErr != nil {
		err = errors.Join(err, closeErr)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "hh-enrich-bench:", err)
		os.Exit(1)
	}
}

// Main is one run of the harness: ParseFlags, Run, Close.
type Main struct {
	Config Config
	// Stdout gets the summaries and the table; Stderr the progress bars.
	Stdout, Stderr io.Writer
	// ProcRoot is where process memory is read (/proc).
	ProcRoot string
	// Results is what Run measured, also when it failed half way.
	Results *Results

	stack  *localstack.Stack
	client *localstack.Client
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

// Close stops the stack Run started, if it is still up. Safe to call twice.
func (m *Main) Close() error {
	var err error
	if m.client != nil {
		m.client.Close()
		m.client = nil
	}
	if m.stack != nil {
		err = m.stack.Close(context.Background())
		m.stack = nil
	}
	return err
}
