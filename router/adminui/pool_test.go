package adminui

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestPoolPage(t *testing.T) {
	t.Parallel()

	t.Run("ShowsOneRowPerProcessWithItsNumbersAndStatesAsText", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		br := b.browser(t)
		br.signIn(operatorToken)
		p := br.get("/admin/ui/pool")
		for _, want := range []string{`data-pid="100"`, `data-pid="101"`, `<td data-label="Jobs served" class="num">42</td>`,
			`<td data-label="Failures" class="num">3</td>`, "30.0 MiB", `<span class="badge warn">half_open</span>`,
			`<span class="badge ok">ready</span>`, "error (details withheld)", `aria-label="Restart process 1 (pid 101)…"`} {
			if !strings.Contains(p.body, want) {
				t.Errorf("pool page lacks %s", want)
			}
		}
		if strings.Contains(p.body, "boom") {
			t.Error("the pool page shows a process error's text, which may quote a candidate")
		}
	})

	t.Run("RestartAllAsksForConfirmationFirst", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		br := b.browser(t)
		br.signIn(operatorToken)
		p := br.post("/admin/ui/pool/restart", url.Values{"target": {"all"}, "csrf": {br.csrf()}})
		if p.status != http.StatusOK || !strings.Contains(p.body, "Yes, restart all processes") || !strings.Contains(p.body, `name="confirm" value="yes"`) {
			t.Fatalf("first step: %d\n%s", p.status, p.body)
		}
		if got := b.pool.restarts(); len(got) != 0 {
			t.Fatalf("restarted before confirmation: %v", got)
		}
	})

	t.Run("ConfirmedRestartAllReplacesEveryProcessAndSaysSo", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		br := b.browser(t)
		br.signIn(operatorToken)
		p := br.post("/admin/ui/pool/restart", url.Values{"target": {"all"}, "confirm": {"yes"}, "csrf": {br.csrf()}})
		if p.status != http.StatusSeeOther || p.location != "/admin/ui/pool?done=restart-started" {
			t.Fatalf("confirmed restart: %d %q", p.status, p.location)
		}
		eventually(t, "both processes restarted", func() bool { return len(b.pool.restarts()) == 2 })
		eventually(t, "the page says done", func() bool { return strings.Contains(br.get("/admin/ui/pool?partial=1").body, "done in") })
		page := br.get("/admin/ui/pool")
		for _, want := range []string{`data-pid="1100"`, `data-pid="1101"`, `<td data-label="Replacements seen" class="num">1</td>`,
			"Restarts: operator"} {
			if !strings.Contains(page.body, want) {
				t.Errorf("after the restart the page lacks %s", want)
			}
		}
	})

	t.Run("RestartsOneProcess", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		br := b.browser(t)
		br.signIn(operatorToken)
		csrf := br.csrf()
		if p := br.post("/admin/ui/pool/restart", url.Values{"target": {"1"}, "csrf": {csrf}}); !strings.Contains(p.body, "(pid 101)") {
			t.Fatalf("confirmation lacks the pid: %d\n%s", p.status, p.body)
		}
		br.post("/admin/ui/pool/restart", url.Values{"target": {"1"}, "confirm": {"yes"}, "csrf": {csrf}})
		eventually(t, "process 1 restarted", func() bool { return strings.Join(b.pool.restarts(), ",") == "1" })
	})

	t.Run("AnUnknownOrMalformedProcessIsRefused", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		br := b.browser(t)
		br.signIn(operatorToken)
		csrf := br.csrf()
		if p := br.post("/admin/ui/pool/restart", url.Values{"target": {"7"}, "confirm": {"yes"}, "csrf": {csrf}}); p.location != "/admin/ui/pool?done=no-process" {
			t.Errorf("unknown process: %d %q", p.status, p.location)
		}
		if p := br.post("/admin/ui/pool/restart", url.Values{"target": {"-1"}, "confirm": {"yes"}, "csrf": {csrf}}); p.status != http.StatusBadRequest {
			t.Errorf("malformed process id: %d", p.status)
		}
		if got := b.pool.restarts(); len(got) != 0 {
			t.Fatalf("restarted: %v", got)
		}
	})

	t.Run("RunsOneRestartAtATime", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.pool.block = make(chan struct{})
		br := b.browser(t)
		br.signIn(operatorToken)
		csrf := br.csrf()
		all := url.Values{"target": {"all"}, "confirm": {"yes"}, "csrf": {csrf}}
		if p := br.post("/admin/ui/pool/restart", all); p.location != "/admin/ui/pool?done=restart-started" {
			t.Fatalf("first restart: %q", p.location)
		}
		if p := br.post("/admin/ui/pool/restart", all); p.location != "/admin/ui/pool?done=restart-busy" {
			t.Fatalf("second restart while the first runs: %q", p.location)
		}
		if p := br.get("/admin/ui/pool?partial=1"); !strings.Contains(p.body, "running…") || strings.Contains(p.body, "<html") {
			t.Fatalf("partial page while running:\n%s", p.body)
		}
		close(b.pool.block)
		eventually(t, "both restarted", func() bool { return len(b.pool.restarts()) == 2 })
	})
}
