package adminui

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/headhunter/hh-enrich-svc/pool"
)

// poolPage is the pool template's data.
type poolPage struct {
	Available bool
	Size      int
	Ready     int
	Degraded  bool
	Circuit   string
	Restarts  []countRow // by reason, since the pool started
	Rows      []processRow
	Restart   *restartRun
}

type countRow struct {
	Name  string
	Count int64
}

// processRow is one plugin process, as the pool table shows it.
type processRow struct {
	ID           int
	PID          int
	State        string
	InFlight     int
	JobsServed   int64
	Failures     int64
	Replacements int
	Memory       string
	Breaker      string
	LastError    string
	Uptime       string
	CanRestart   bool
}

func (c *Console) handlePool(w http.ResponseWriter, r *http.Request, s *session) {
	v := c.newView(r, s, "Pool", "pool", c.poolPage())
	v.Refresh = 5
	c.render(w, r, http.StatusOK, "pool", v)
}

func (c *Console) poolPage() poolPage {
	if c.cfg.Pool == nil {
		return poolPage{}
	}
	st := c.cfg.Pool.Status()
	c.sampler.slots.observe(st)
	page := poolPage{Available: true, Size: st.Size, Ready: st.Ready, Degraded: st.Degraded, Circuit: st.Circuit,
		Restart: c.restarts.status()}
	for reason, n := range st.Restarts {
		page.Restarts = append(page.Restarts, countRow{Name: reason, Count: int64(n)})
	}
	sort.Slice(page.Restarts, func(i, j int) bool { return page.Restarts[i].Name < page.Restarts[j].Name })
	now := c.cfg.Now()
	for _, p := range st.Processes {
		page.Rows = append(page.Rows, processRow{ID: p.ID, PID: p.PID, State: p.State, InFlight: p.InFlight,
			JobsServed: p.JobsServed, Failures: p.Failures, Replacements: c.sampler.slots.replacements(p.ID),
			Memory: formatBytes(p.RSSBytes), Breaker: p.Breaker, LastError: pool.RedactError(p.LastError),
			Uptime: formatAge(now.Sub(p.StartedAt)), CanRestart: p.State == pool.StateReady})
	}
	return page
}

// confirmPage is the confirmation step of a restart.
type confirmPage struct {
	Target string // "all" or a process id, sent back with confirm=yes
	What   string
	PID    int
}

// handleRestart asks for confirmation first (a second POST with confirm=yes),
// then starts the restart in the background and sends the admin back to the
// pool page, whose rows refresh as each process is replaced. Both restarts are
// soft: a successor starts before its predecessor drains, so no job fails.
func (c *Console) handleRestart(w http.ResponseWriter, r *http.Request, s *session) {
	if c.cfg.Pool == nil {
		c.renderError(w, r, s, http.StatusNotFound, "No pool", "This instance runs no plugin pool.")
		return
	}
	target := r.PostFormValue("target")
	id, err := strconv.Atoi(target)
	if target != "all" && (err != nil || id < 0) {
		c.renderError(w, r, s, http.StatusBadRequest, "Bad restart request", "Restart every process, or one by its id.")
		return
	}
	st := c.cfg.Pool.Status()
	c.sampler.slots.observe(st) // so that the replacements to come are counted
	page := confirmPage{Target: target, What: "every plugin process"}
	if target != "all" {
		pid, ok := readyPID(st, id)
		if !ok {
			http.Redirect(w, r, Prefix+"/pool?done=no-process", http.StatusSeeOther)
			return
		}
		page.What, page.PID = fmt.Sprintf("plugin process %d", id), pid
	}
	if r.PostFormValue("confirm") != "yes" {
		c.render(w, r, http.StatusOK, "confirm", c.newView(r, s, "Confirm restart", "pool", page))
		return
	}
	c.startRestart(w, r, s, target, id, restartLabel(target))
}

func (c *Console) startRestart(w http.ResponseWriter, r *http.Request, s *session, target string, id int, what string) {
	restart := func(ctx context.Context) error { return c.cfg.Pool.RestartAll(ctx) }
	if target != "all" {
		restart = func(ctx context.Context) error { return c.cfg.Pool.RestartProcess(ctx, id) }
	}
	logged := func(ctx context.Context) error {
		err := restart(ctx)
		if err != nil && !errors.Is(err, pool.ErrNoProcess) {
			c.log.Error("console restart failed", "target", what, "subject", s.Subject, "error", err)
			return err
		}
		c.log.Info("console restart finished", "target", what, "subject", s.Subject, "error", err)
		return err
	}
	// The restart outlives this request: it keeps the request's values but not
	// its cancellation, and is bounded by restartTimeout and by Stop.
	if !c.restarts.start(context.WithoutCancel(r.Context()), what, s.Subject, restartTimeout, logged) {
		http.Redirect(w, r, Prefix+"/pool?done=restart-busy", http.StatusSeeOther)
		return
	}
	c.log.Warn("operator restart from the console", "target", what, "subject", s.Subject,
		"session", shortID(s.ID), "request_id", c.requestID(w))
	http.Redirect(w, r, Prefix+"/pool?done=restart-started", http.StatusSeeOther)
}

// restartLabel names a restart in the log and on the pool page.
func restartLabel(target string) string {
	if target == "all" {
		return "Rolling restart of every process"
	}
	return "Restart of process " + target
}

// readyPID finds the ready process of slot id.
func readyPID(st pool.Status, id int) (int, bool) {
	for _, p := range st.Processes {
		if p.ID == id && p.State == pool.StateReady {
			return p.PID, true
		}
	}
	return 0, false
}

// formatBytes shows resident memory in MiB; "unknown" when /proc had nothing.
func formatBytes(n int64) string {
	if n <= 0 {
		return "unknown"
	}
	return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
}

// formatAge shows a duration the way people read uptimes: 42s, 3m 12s, 5h 03m.
func formatAge(d time.Duration) string {
	d = max(d, 0).Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm %02ds", int(d.Minutes()), int(d.Seconds())%60)
	default:
		return fmt.Sprintf("%dh %02dm", int(d.Hours()), int(d.Minutes())%60)
	}
}
