package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// runStatus prints one job as the service answers it (indented JSON).
func (m *Main) runStatus(ctx context.Context, args []string) error {
	fs := m.newFlagSet("status")
	api := m.register(fs)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return usageError(err)
	}
	if len(pos) != 1 || api.tenant == "" {
		return fmt.Errorf("%w: status needs --tenant and one JOB_ID", errUsage)
	}
	raw, err := api.client().GetJobRaw(ctx, pos[0])
	if err != nil {
		return err
	}
	return writeIndented(m.Stdout, raw)
}

func (m *Main) runAdminPool(ctx context.Context, args []string) error {
	fs := m.newFlagSet("admin pool")
	api := m.register(fs)
	asJSON := fs.Bool("json", false, "print the service's answer as JSON instead of a table")
	if pos, err := parseInterspersed(fs, args); err != nil || len(pos) > 0 {
		return usageError(orArgs(err, pos))
	}
	raw, st, err := api.client().Pool(ctx)
	if err != nil {
		return err
	}
	return m.printPool(raw, st, *asJSON)
}

func (m *Main) runAdminRestart(ctx context.Context, args []string) error {
	fs := m.newFlagSet("admin restart")
	api := m.register(fs)
	asJSON := fs.Bool("json", false, "print the service's answer as JSON instead of a table")
	pos, err := parseInterspersed(fs, args)
	if err != nil || len(pos) > 1 {
		return usageError(orArgs(err, pos))
	}
	var id *int
	if len(pos) == 1 {
		n, err := strconv.Atoi(pos[0])
		if err != nil || n < 0 {
			return fmt.Errorf("%w: PROCESS_ID must be a process id from `hh-enrich admin pool`, got %q", errUsage, pos[0])
		}
		id = &n
	}
	raw, st, err := api.client().RestartPool(ctx, id)
	if err != nil {
		return err
	}
	if !*asJSON {
		what := "every plugin process (rolling)"
		if id != nil {
			what = "process " + pos[0]
		}
		fmt.Fprintf(m.Stdout, "restarted %s\n", what)
	}
	return m.printPool(raw, st, *asJSON)
}

func (m *Main) runAdminQueue(ctx context.Context, args []string) error {
	fs := m.newFlagSet("admin queue")
	api := m.register(fs)
	asJSON := fs.Bool("json", false, "print the service's answer as JSON instead of a table")
	limit := fs.Int("limit", 0, "dead letters to list with --tenant (service default 50, at most 1000)")
	if pos, err := parseInterspersed(fs, args); err != nil || len(pos) > 0 {
		return usageError(orArgs(err, pos))
	}
	// Only a --tenant given on this command line narrows the view: HH_ENRICH_TENANT,
	// set for the /v1 commands, would otherwise hide every other tenant.
	forTenant := ""
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "tenant" {
			forTenant = api.tenant
		}
	})
	if *limit != 0 && forTenant == "" {
		return fmt.Errorf("%w: --limit bounds a tenant's dead letters: give --tenant too", errUsage)
	}
	raw, st, err := api.client().Queue(ctx, forTenant, *limit)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeIndented(m.Stdout, raw)
	}
	printQueue(m.Stdout, st)
	return nil
}

// orArgs is err, or an error naming unexpected positional arguments.
func orArgs(err error, pos []string) error {
	if err != nil {
		return err
	}
	return fmt.Errorf("unexpected arguments %q", pos)
}

func (m *Main) printPool(raw json.RawMessage, st *PoolStatus, asJSON bool) error {
	if asJSON {
		return writeIndented(m.Stdout, raw)
	}
	fmt.Fprintf(m.Stdout, "pool: %d/%d ready, circuit %s, degraded %t, restarts %s\n",
		st.Ready, st.Size, st.Circuit, st.Degraded, formatCounts(st.Restarts))
	tw := tabwriter.NewWriter(m.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tPID\tSTATE\tIN FLIGHT\tJOBS\tFAILURES\tRSS MB\tUP\tBREAKER\tLAST ERROR")
	for _, p := range st.Processes {
		up := "-"
		if !p.StartedAt.IsZero() {
			up = time.Since(p.StartedAt).Round(time.Second).String()
		}
		fmt.Fprintf(tw, "%d\t%d\t%s\t%d\t%d\t%d\t%.1f\t%s\t%s\t%s\n", p.ID, p.PID, p.State, p.InFlight, p.JobsServed,
			p.Failures, float64(p.RSSBytes)/(1<<20), up, p.Breaker, oneLine(p.LastError, 60))
	}
	return tw.Flush()
}

func printQueue(w io.Writer, st *QueueStatus) {
	fmt.Fprintf(w, "queued %d, delayed (retry backoff) %d, processing %d\n", st.Queued, st.Delayed, st.Processing)
	fmt.Fprintf(w, "since the counters began: %s\n", formatCounts(st.Totals))
	fmt.Fprintf(w, "queue depth by tenant: %s\n", formatCounts(st.DepthByTenant))
	fmt.Fprintf(w, "dedupe hits by tenant: %s\n", formatCounts(st.DedupeHits))
	if st.Tenant == "" {
		return
	}
	fmt.Fprintf(w, "dead letters of %s: %d shown\n", st.Tenant, len(st.DeadLetters))
	if len(st.DeadLetters) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "JOB\tCANDIDATE\tCODE\tATTEMPTS\tERROR")
	for _, j := range st.DeadLetters {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", j.JobID, j.CandidateID, j.ErrorCode, j.AttemptCount, oneLine(j.Error, 80))
	}
	_ = tw.Flush()
}

// formatCounts is "a=1 b=2" in key order, or "none".
func formatCounts[V int | int64](counts map[string]V) string {
	if len(counts) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, counts[k])
	}
	return strings.Join(parts, " ")
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len([]rune(s)) > n {
		s = string([]rune(s)[:n]) + "…"
	}
	return s
}

func writeIndented(w io.Writer, raw json.RawMessage) error {
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return err
	}
	buf.WriteByte('\n')
	_, err := buf.WriteTo(w)
	return err
}
