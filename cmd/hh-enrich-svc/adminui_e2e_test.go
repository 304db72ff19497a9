package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// The operator console end to end: the real service binary, real plugins and
// Redis, driven by headless Chromium (Debian's chromium package, which .ci/run
// installs) as an operator would drive it. Each page is saved as a PNG.

const (
	consoleToken   = "console-e2e-admin-token-0123456789abcdef"
	chromiumPath   = "/usr/bin/chromium"
	browserTimeout = 30 * time.Second
	// screenshotCopyDir keeps the screenshots after the test, for people to look at.
	screenshotCopyDir = "/tmp/hh-enrich-ui-screenshots"
)

func TestOperatorConsole(t *testing.T) {
	t.Parallel()
	// Test faults let the jobs of the restart step take a while in the plugins.
	s := startService(t, "ENRICH_ADMIN_TOKEN="+consoleToken, "ENRICH_TEST_FAULTS=1")
	ui := newConsoleBrowser(t, s)

	t.Run("AWrongOrMissingCredentialReachesNoPageAndNoAction", func(t *testing.T) {
		pids := s.pluginPIDs()
		for _, path := range []string{"/admin/ui", "/admin/ui/overview", "/admin/ui/pool", "/admin/ui/jobs", "/admin/ui/tenants"} {
			for name, cookie := range map[string]string{"none": "", "forged": "eyJzaWQiOiJ4Iiwib3AiOnRydWV9.c2ln"} {
				if resp := consoleRequest(t, s, http.MethodGet, path, cookie, nil); resp.StatusCode != http.StatusSeeOther ||
					!strings.HasPrefix(resp.Header.Get("Location"), "/admin/ui/signin") {
					t.Errorf("GET %s with %s cookie: %d %q", path, name, resp.StatusCode, resp.Header.Get("Location"))
				}
			}
		}
		for path, form := range map[string]url.Values{
			"/admin/ui/pool/restart": {"target": {"all"}, "confirm": {"yes"}},
			"/admin/ui/jobs/requeue": {"tenant": {"tenant-alpha"}, "job": {"0123456789abcdef0123456789abcdef"}},
		} {
			if resp := consoleRequest(t, s, http.MethodPost, path, "", form); resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("POST %s without a session: %d, want 401", path, resp.StatusCode)
			}
		}
		// In the browser: sent to the sign-in form, where a wrong token is refused.
		loc := ui.navigate("/admin/ui/pool", "#credential")
		if !strings.Contains(loc, "/admin/ui/signin?next=%2Fadmin%2Fui%2Fpool") {
			t.Fatalf("an anonymous visit to the pool page landed on %s", loc)
		}
		ui.screenshot("01-signin")
		ui.do(chromedp.SendKeys(chromedp.CSS("#credential"), "wrong-token"), chromedp.Click(chromedp.CSS("button[type=submit]")),
			chromedp.WaitVisible(chromedp.CSS(".flash.error")))
		if msg := ui.text(".flash.error"); !strings.Contains(msg, "refused") {
			t.Fatalf("wrong token: the form says %q", msg)
		}
		ui.screenshot("02-signin-refused")
		if loc := ui.navigate("/admin/ui/overview", "#credential"); !strings.Contains(loc, "/admin/ui/signin") {
			t.Fatalf("after a refused sign-in the overview is at %s", loc)
		}
		if after := s.pluginPIDs(); !slices.Equal(slices.Sorted(slices.Values(pids)), slices.Sorted(slices.Values(after))) {
			t.Fatalf("plugin pids changed without a session: %v → %v", pids, after)
		}
	})

	t.Run("SignsInAndShowsEveryPluginProcess", func(t *testing.T) {
		ui.navigate("/admin/ui/pool", "#credential")
		ui.do(chromedp.SendKeys(chromedp.CSS("#credential"), consoleToken), chromedp.Click(chromedp.CSS("button[type=submit]")),
			chromedp.WaitVisible(chromedp.CSS("#processes")))
		if loc := ui.location(); !strings.HasSuffix(loc, "/admin/ui/pool") {
			t.Fatalf("after sign-in the browser is at %s, want back on the pool page", loc)
		}
		cookie := ui.sessionCookie()
		if !cookie.HTTPOnly || cookie.SameSite != network.CookieSameSiteStrict || cookie.Path != "/admin/ui" {
			t.Fatalf("session cookie: HttpOnly %v, SameSite %v, Path %q", cookie.HTTPOnly, cookie.SameSite, cookie.Path)
		}
		if shown, running := ui.readyPIDs(), s.pluginPIDs(); !slices.Equal(shown, slices.Sorted(slices.Values(running))) || len(shown) != 2 {
			t.Fatalf("the pool page shows pids %v, the plugin processes are %v", shown, running)
		}
		ui.screenshot("03-pool")
	})

	t.Run("RestartAllWhileJobsRunChangesEveryPIDAndFailsNoJob", func(t *testing.T) {
		before := ui.readyPIDs()
		ids := submitSlow(s, "tenant-alpha", 500, 10) // ~2.5 s of work for two processes
		s.waitForTerminal("tenant-alpha", ids[0])
		ui.do(chromedp.Click(chromedp.CSS("#restart-all")), chromedp.WaitVisible(chromedp.CSS("#confirm-restart")))
		ui.screenshot("04-confirm-restart")
		ui.do(chromedp.Click(chromedp.CSS("#confirm-restart")), chromedp.WaitVisible(chromedp.CSS("#restart-status")))
		if waiting := storeWaiting(t, s); waiting == 0 {
			t.Fatal("every job had finished when the restart began: the test proves nothing")
		}
		ui.screenshot("05-pool-restart-started")
		// The rows refresh on their own while the processes are replaced.
		eventuallyTrue(t, "the pool page shows two new pids", func() bool {
			now := ui.readyPIDs()
			return len(now) == 2 && !slices.ContainsFunc(now, func(pid int) bool { return slices.Contains(before, pid) })
		})
		eventuallyTrue(t, "the page says the restart is done", func() bool {
			return strings.Contains(ui.text("#restart-status"), "done")
		})
		ui.screenshot("06-pool-restarted")
		for _, id := range ids {
			if job := s.waitForTerminal("tenant-alpha", id); job["status"] != "completed" {
				t.Fatalf("job %s = %v: a rolling restart must fail no job", id, job)
			}
		}
		if shown, running := ui.readyPIDs(), s.pluginPIDs(); !slices.Equal(shown, slices.Sorted(slices.Values(running))) {
			t.Fatalf("the page shows %v, the plugin processes are %v", shown, running)
		}
	})

	failedID := s.submit("tenant-alpha", map[string]any{"candidateId": "console-no-payload"})
	t.Run("FindsAFailedJobByIDAndReadsItsCode", func(t *testing.T) {
		if job := s.waitForTerminal("tenant-alpha", failedID); job["errorCode"] != "candidate_not_found" {
			t.Fatalf("the job meant to fail is %v", job)
		}
		ui.navigate("/admin/ui/jobs", "#job-id")
		ui.do(chromedp.SendKeys(chromedp.CSS("#job-id"), failedID), chromedp.Click(chromedp.CSS("#lookup")),
			chromedp.WaitVisible(chromedp.CSS(`[data-field="errorCode"]`)))
		if code := ui.text(`[data-field="errorCode"]`); code != "candidate_not_found" {
			t.Fatalf("the console shows code %q", code)
		}
		if tenant := ui.text(`[data-field="tenant"]`); tenant != "tenant-alpha" {
			t.Fatalf("the console shows tenant %q", tenant)
		}
		ui.screenshot("07-job-lookup")
	})

	t.Run("RequeuesADeadLetterAndTheJobRunsAgain", func(t *testing.T) {
		row := fmt.Sprintf(`#dead-letters tr[data-job="%s"]`, failedID)
		ui.navigate("/admin/ui/jobs?tenant=tenant-alpha", row)
		ui.screenshot("08-dead-letters")
		failedBefore := storeFailures(t, s)
		ui.do(chromedp.Click(chromedp.CSS(row+" button")), chromedp.WaitVisible(chromedp.CSS(".flash.ok")))
		if msg := ui.text(".flash.ok"); !strings.Contains(msg, "back on its tenant's queue") {
			t.Fatalf("after requeue the page says %q", msg)
		}
		if status := ui.text(`[data-field="status"]`); !slices.Contains([]string{"queued", "processing", "failed"}, status) {
			t.Fatalf("the requeued job's status is %q", status)
		}
		ui.screenshot("09-requeued")
		// It ran again: it fails once more (it still has no payload), a second final failure.
		eventuallyTrue(t, "the requeued job ran again", func() bool { return storeFailures(t, s) == failedBefore+1 })
	})

	t.Run("APostWithoutTheCSRFTokenIsRefused", func(t *testing.T) {
		cookie := ui.sessionCookie().Value
		restart := url.Values{"target": {"all"}, "confirm": {"yes"}}
		if resp := consoleRequest(t, s, http.MethodPost, "/admin/ui/pool/restart", cookie, restart); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("restart without the CSRF token: %d, want 403", resp.StatusCode)
		}
		restart.Set("csrf", "not-the-token")
		if resp := consoleRequest(t, s, http.MethodPost, "/admin/ui/pool/restart", cookie, restart); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("restart with a wrong CSRF token: %d, want 403", resp.StatusCode)
		}
		// The real token passes the gate (to the confirmation step, which changes nothing).
		page := consoleRequest(t, s, http.MethodGet, "/admin/ui/pool", cookie, nil)
		token := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page.body)
		if token == nil {
			t.Fatal("no CSRF token on the pool page")
		}
		ask := url.Values{"target": {"all"}, "csrf": {token[1]}}
		if resp := consoleRequest(t, s, http.MethodPost, "/admin/ui/pool/restart", cookie, ask); resp.StatusCode != http.StatusOK ||
			!strings.Contains(resp.body, "confirm-restart") {
			t.Fatalf("restart request with the token: %d", resp.StatusCode)
		}
		status := s.admin(http.MethodGet, "/admin/pool", consoleToken)
		if restarts, _ := status.Body["restarts"].(map[string]any); restarts["operator"] != 2.0 {
			t.Fatalf("operator restarts = %v, want the 2 of the rolling restart only", status.Body["restarts"])
		}
	})

	t.Run("OverviewAndTenantsRender", func(t *testing.T) {
		ui.navigate("/admin/ui/overview", "#chart-jobs-title")
		// The charts draw a line from the second sample on (one every 10 s): the
		// page refreshes itself until then.
		ui.do(chromedp.WaitNotPresent(chromedp.CSS("#charts-filling")))
		if legend := ui.text("#overview-live .legend"); !strings.Contains(legend, "completed:") || strings.Contains(legend, "completed: no data") {
			t.Errorf("the jobs chart has no completion rate: %q", legend)
		}
		ui.screenshot("10-overview")
		ui.navigate("/admin/ui/tenants", `#tenants tr[data-tenant="tenant-alpha"]`)
		ui.screenshot("11-tenants")
		ui.do(chromedp.EmulateViewport(375, 812, chromedp.EmulateMobile))
		ui.navigate("/admin/ui/pool", "#processes")
		ui.screenshot("12-pool-phone")
		ui.navigate("/admin/ui/overview", "#chart-jobs-title")
		ui.screenshot("13-overview-phone")
	})
	t.Logf("screenshots: %s (copies in %s)", ui.shots, screenshotCopyDir)
}

func TestOperatorConsoleIsOffWithoutAnAdminCredential(t *testing.T) {
	t.Parallel()
	s := startService(t) // AUTH_MODE=none and no ENRICH_ADMIN_TOKEN: no admin at all
	for _, tc := range []struct {
		method, path string
		form         url.Values
	}{
		{http.MethodGet, "/admin/ui/pool", nil},
		{http.MethodGet, "/admin/ui/signin", nil},
		{http.MethodPost, "/admin/ui/signin", url.Values{"credential": {"anything"}}},
	} {
		resp := consoleRequest(t, s, tc.method, tc.path, "", tc.form)
		if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Set-Cookie") != "" || strings.Contains(resp.body, `name="credential"`) {
			t.Errorf("%s %s with the admin API off: %d", tc.method, tc.path, resp.StatusCode)
		}
	}
}

// consoleBrowser is one headless Chromium tab on the service.
type consoleBrowser struct {
	t     *testing.T
	s     *service
	ctx   context.Context
	shots string
}

func newConsoleBrowser(t *testing.T, s *service) *consoleBrowser {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("the console test needs Chromium at %s (apt-get install chromium; .ci/run installs it): %v", chromiumPath, err)
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 800),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true), chromedp.Flag("disable-default-apps", true))
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	// The first Run starts the browser; it must not carry a timeout (it would
	// bound the browser's whole life).
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	ui := &consoleBrowser{t: t, s: s, ctx: ctx, shots: screenshotDir(t)}
	ui.do(chromedp.EmulateViewport(1280, 800))
	return ui
}

// screenshotDir is $TEST_ARTIFACTS/hh-enrich-ui-screenshots, or the copy
// folder itself when TEST_ARTIFACTS is unset.
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := screenshotCopyDir
	if artifacts := os.Getenv("TEST_ARTIFACTS"); artifacts != "" {
		dir = filepath.Join(artifacts, "hh-enrich-ui-screenshots")
	}
	for _, d := range []string{dir, screenshotCopyDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func (ui *consoleBrowser) do(steps ...chromedp.Action[chromedp.Void]) {
	ui.t.Helper()
	ctx, cancel := context.WithTimeout(ui.ctx, browserTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		ui.t.Fatalf("browser: %v (at %s)", err, ui.location())
	}
}

// navigate opens path and waits until selector is visible; it returns where
// the browser ended up (after redirects).
func (ui *consoleBrowser) navigate(path, selector string) string {
	ui.t.Helper()
	ui.do(chromedp.Navigate(ui.s.baseURL+path), chromedp.WaitVisible(chromedp.CSS(selector)))
	return ui.location()
}

func (ui *consoleBrowser) location() string {
	ctx, cancel := context.WithTimeout(ui.ctx, browserTimeout)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	return loc
}

func (ui *consoleBrowser) text(selector string) string {
	ui.t.Helper()
	ctx, cancel := context.WithTimeout(ui.ctx, browserTimeout)
	defer cancel()
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(selector)))
	if err != nil {
		ui.t.Fatalf("read %s: %v", selector, err)
	}
	return strings.TrimSpace(text)
}

// readyPIDs are the pids of the ready processes the pool page shows, sorted.
func (ui *consoleBrowser) readyPIDs() []int {
	ui.t.Helper()
	ctx, cancel := context.WithTimeout(ui.ctx, browserTimeout)
	defer cancel()
	pids, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](
		`Array.from(document.querySelectorAll('#processes tr[data-state="ready"]')).map(tr => Number(tr.dataset.pid))`))
	if err != nil {
		ui.t.Fatalf("read the pids: %v", err)
	}
	return slices.Sorted(slices.Values(pids))
}

func (ui *consoleBrowser) sessionCookie() *network.Cookie {
	ui.t.Helper()
	ctx, cancel := context.WithTimeout(ui.ctx, browserTimeout)
	defer cancel()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{ui.s.baseURL + "/admin/ui/"}})
	if err != nil {
		ui.t.Fatal(err)
	}
	for _, c := range res.Cookies {
		if c.Name == "hh_enrich_console" {
			return c
		}
	}
	ui.t.Fatalf("no session cookie in the browser: %v", res.Cookies)
	return nil
}

// screenshot saves the whole page as name.png, and a copy for people.
func (ui *consoleBrowser) screenshot(name string) {
	ui.t.Helper()
	ctx, cancel := context.WithTimeout(ui.ctx, browserTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		ui.t.Fatalf("screenshot %s: %v", name, err)
	}
	for _, dir := range slices.Compact([]string{ui.shots, screenshotCopyDir}) {
		if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
			ui.t.Fatal(err)
		}
	}
}

type consoleResponse struct {
	*http.Response
	body string
}

// consoleRequest is a plain HTTP client (no browser) with the given session
// cookie, which follows no redirect.
func consoleRequest(t *testing.T, s *service, method, path, cookie string, form url.Values) consoleResponse {
	t.Helper()
	req, err := http.NewRequest(method, s.baseURL+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: "hh_enrich_console", Value: cookie})
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return consoleResponse{Response: resp, body: string(body)}
}

// submitSlow submits n jobs (cycling through the test candidates) from 8
// clients, each asking its plugin call to sleep ms first (a test fault).
func submitSlow(s *service, tenant string, n, ms int) []string {
	s.t.Helper()
	docs := candidates(s.t, 200)
	ids := make([]string, n)
	var wg sync.WaitGroup
	const clients = 8
	for c := range clients {
		wg.Go(func() {
			for i := c; i < n; i += clients {
				payload := maps.Clone(docs[i%len(docs)])
				payload["_fault"] = fmt.Sprintf("sleep:%d", ms)
				ids[i] = s.submit(tenant, map[string]any{"candidateId": fmt.Sprintf("console-%05d", i), "payload": payload})
			}
		})
	}
	wg.Wait()
	return ids
}

// storeWaiting is the store's count of jobs queued, delayed or running.
func storeWaiting(t *testing.T, s *service) float64 {
	t.Helper()
	resp := s.admin(http.MethodGet, "/admin/queue", consoleToken)
	var n float64
	for _, field := range []string{"queued", "delayed", "processing"} {
		v, _ := resp.Body[field].(float64)
		n += v
	}
	return n
}

// storeFailures is the store's count of jobs failed for good.
func storeFailures(t *testing.T, s *service) float64 {
	t.Helper()
	resp := s.admin(http.MethodGet, "/admin/queue", consoleToken)
	totals, _ := resp.Body["totals"].(map[string]any)
	n, _ := totals["failed"].(float64)
	return n
}
