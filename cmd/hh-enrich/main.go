// Command hh-enrich is the command-line client of hh-enrich-svc: batch runs of
// candidates from a JSONL file (resumable, with a progress bar), a job's status,
// and the operator's pool and queue commands.
//
//	hh-enrich batch --tenant T --in candidates.jsonl --out results.jsonl
//	hh-enrich status --tenant T JOB_ID
//	hh-enrich admin pool | admin restart [ID] | admin queue [--tenant T [--limit N]]
//	hh-enrich migrate --from redis://OLD_REDIS
//
// Every command talks to the service's HTTP API only (router/openapi.yaml).
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
	"time"
)

// Exit codes, so scripts can tell a finished run with failed candidates from a
// run that could not finish.
const (
	exitOK          = 0
	exitError       = 1 // the command could not do its work (bad flags, API errors, I/O)
	exitSomeFailed  = 2 // batch: every candidate has a line, but some did not complete
	exitInterrupted = 130
)

// errUsage marks a mistake in the command line: the usage text follows the message.
var errUsage = errors.New("usage")

// errSomeFailed is returned by batch when every candidate finished but not all of
// them completed; main turns it into exitSomeFailed.
var errSomeFailed = errors.New("some candidates did not complete")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	m := NewMain()
	os.Exit(m.Run(ctx, os.Args[1:]))
}

// Main is one invocation of the command; tests build it with their own writers
// and environment.
type Main struct {
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
}

// NewMain returns a Main on the process's stdout, stderr and environment.
func NewMain() *Main {
	return &Main{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}
}

// Run executes args (without the program name) and returns the exit code.
func (m *Main) Run(ctx context.Context, args []string) int {
	err := m.dispatch(ctx, args)
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errSomeFailed):
		fmt.Fprintln(m.Stderr, "hh-enrich:", err)
		return exitSomeFailed
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.Is(err, errUsage):
		fmt.Fprintln(m.Stderr, "hh-enrich:", err)
		fmt.Fprint(m.Stderr, usage)
		return exitError
	case ctx.Err() != nil:
		fmt.Fprintln(m.Stderr, "hh-enrich: interrupted:", err)
		return exitInterrupted
	default:
		fmt.Fprintln(m.Stderr, "hh-enrich:", err)
		return exitError
	}
}

const usage = `
Usage:
  hh-enrich batch  --tenant T --in candidates.jsonl --out results.jsonl [flags]
  hh-enrich status --tenant T JOB_ID
  hh-enrich admin pool
  hh-enrich admin restart [PROCESS_ID]      (no id: rolling restart of every process)
  hh-enrich admin queue [--tenant T [--limit N]]   (--tenant: also its dead letters)
  hh-enrich migrate --from redis://OLD [--include-processing] [--dry-run]
                   (moves the original service's queued jobs to this one)

Common flags (and the environment variables they default to):
  --url URL            the service (HH_ENRICH_URL, else http://localhost:8080)
  --tenant T           X-Tenant-ID of /v1 calls (HH_ENRICH_TENANT)
  --token TOKEN        bearer token of /v1 calls when AUTH_MODE is not none (HH_ENRICH_TOKEN)
  --admin-token TOKEN  bearer token of /admin calls (ENRICH_ADMIN_TOKEN)
  --timeout D          one HTTP request's deadline (default 30s)

Run "hh-enrich COMMAND -h" for a command's own flags.
`

func (m *Main) dispatch(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: no command", errUsage)
	}
	switch args[0] {
	case "batch":
		return m.runBatch(ctx, args[1:])
	case "status":
		return m.runStatus(ctx, args[1:])
	case "migrate":
		return m.runMigrate(ctx, args[1:])
	case "admin":
		if len(args) < 2 {
			return fmt.Errorf("%w: admin needs pool, restart or queue", errUsage)
		}
		switch args[1] {
		case "pool":
			return m.runAdminPool(ctx, args[2:])
		case "restart":
			return m.runAdminRestart(ctx, args[2:])
		case "queue":
			return m.runAdminQueue(ctx, args[2:])
		}
		return fmt.Errorf("%w: unknown admin command %q", errUsage, args[1])
	case "help", "-h", "--help":
		fmt.Fprint(m.Stdout, usage)
		return nil
	}
	return fmt.Errorf("%w: unknown command %q", errUsage, args[0])
}

// apiFlags are the flags every command shares.
type apiFlags struct {
	url        string
	tenant     string
	token      string
	adminToken string
	timeout    time.Duration
}

func (m *Main) register(fs *flag.FlagSet) *apiFlags {
	f := &apiFlags{}
	fs.StringVar(&f.url, "url", envOr(m.Getenv, "HH_ENRICH_URL", "http://localhost:8080"), "the service's base URL")
	fs.StringVar(&f.tenant, "tenant", m.Getenv("HH_ENRICH_TENANT"), "tenant (X-Tenant-ID)")
	fs.StringVar(&f.token, "token", m.Getenv("HH_ENRICH_TOKEN"), "bearer token for /v1 (AUTH_MODE other than none)")
	fs.StringVar(&f.adminToken, "admin-token", m.Getenv("ENRICH_ADMIN_TOKEN"), "bearer token for /admin")
	fs.DurationVar(&f.timeout, "timeout", 30*time.Second, "deadline of one HTTP request")
	return f
}

func (f *apiFlags) client() *Client {
	return NewClient(ClientConfig{BaseURL: f.url, Tenant: f.tenant, Token: f.token, AdminToken: f.adminToken,
		RequestTimeout: f.timeout})
}

// newFlagSet returns a flag set that reports errors instead of exiting.
func (m *Main) newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("hh-enrich "+name, flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	return fs
}

// parseInterspersed parses flags that may come before or after the positional
// arguments ("status JOB --tenant T" as well as "status --tenant T JOB"), which
// the flag package alone stops at.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

func envOr(getenv func(string) string, name, def string) string {
	if v := getenv(name); v != "" {
		return v
	}
	return def
}
