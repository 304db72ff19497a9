package adminui

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// pageNames are the templates that each make a whole page with the layout.
var pageNames = []string{"signin", "overview", "pool", "confirm", "jobs", "tenants", "error"}

// renderer holds one parsed template set per page, each layout + partials +
// the page, so that every page defines its own "content".
type renderer struct{ pages map[string]*template.Template }

func newRenderer() (*renderer, error) {
	base, err := template.New("base").Funcs(template.FuncMap{"tone": tone, "dict": dict}).
		ParseFS(templateFiles, "templates/layout.html", "templates/partials.html")
	if err != nil {
		return nil, fmt.Errorf("adminui: parse layout: %w", err)
	}
	r := &renderer{pages: map[string]*template.Template{}}
	for _, name := range pageNames {
		t, err := base.Clone()
		if err == nil {
			t, err = t.ParseFS(templateFiles, "templates/"+name+".html")
		}
		if err != nil {
			return nil, fmt.Errorf("adminui: parse page %s: %w", name, err)
		}
		r.pages[name] = t
	}
	return r, nil
}

// view is what every page template gets.
type view struct {
	Title   string
	Active  string // the nav entry of this page
	Session *session
	CSRF    string // the session's CSRF token, for every form
	Flash   *flash
	Refresh int // seconds; without script the page reloads itself this often
	Data    any
}

// flash is a one-line outcome shown at the top of a page. Only fixed texts are
// shown: a query parameter picks one, and is never echoed.
type flash struct {
	Kind string // ok, warn, error
	Text string
}

var flashes = map[string]flash{
	"restart-started": {"ok", "Restart started. The rows below update as each process is replaced."},
	"restart-busy":    {"warn", "A restart is already running: wait for it to finish."},
	"no-process":      {"error", "No ready process has that id; it may just have been replaced."},
	"requeued":        {"ok", "The dead letter is back on its tenant's queue, its attempts reset."},
	"requeue-missing": {"error", "That job is not a dead letter of that tenant (any more)."},
	"signedout":       {"ok", "You are signed out."},
}

func flashFor(r *http.Request) *flash {
	if f, ok := flashes[r.URL.Query().Get("done")]; ok {
		return &f
	}
	return nil
}

// newView starts a page's view for s (nil on the sign-in form).
func (c *Console) newView(r *http.Request, s *session, title, active string, data any) *view {
	v := &view{Title: title, Active: active, Session: s, Flash: flashFor(r), Data: data}
	if s != nil {
		v.CSRF = c.codec.csrfToken(s)
	}
	return v
}

// render writes page name, or only its block when the request asks for part
// of the page (?partial=1, the refresh script). It renders into a buffer first,
// so a template error becomes a clean 500.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, v *view) {
	t, ok := c.pages.pages[name]
	if !ok {
		c.log.Error("console page template missing", "page", name)
		writeInternalError(w)
		return
	}
	block := "layout"
	if r.URL.Query().Get("partial") != "" && t.Lookup("live") != nil {
		block = "live"
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, block, v); err != nil {
		c.log.Error("console page failed to render", "page", name, "error", err, "request_id", c.requestID(w))
		writeInternalError(w)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes()) // the browser went away: nothing left to tell it
}

// writeInternalError is the answer when a page cannot be rendered at all: plain
// text, since the templates are what failed. The log says why.
func writeInternalError(w http.ResponseWriter) {
	http.Error(w, "The console could not render this page; the service log says why.", http.StatusInternalServerError)
}

// tone is the badge class of a state: ok, warn or bad. The state's name is
// always shown too, so colour is never the only sign.
func tone(state string) string {
	switch state {
	case "ready", "closed", "completed", "no", "upserted":
		return "ok"
	case "open", "failed", "retired", "degraded":
		return "bad"
	case "off", "unknown":
		return "muted"
	default: // recycling, draining, half_open, queued, processing, off, …
		return "warn"
	}
}

// dict builds a map from key, value pairs, to pass several values to a
// template; an odd or non-string key is skipped.
func dict(pairs ...any) map[string]any {
	m := make(map[string]any, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		if key, ok := pairs[i].(string); ok {
			m[key] = pairs[i+1]
		}
	}
	return m
}

// errorPage is the error template's data.
type errorPage struct{ Heading, Message string }

// renderError shows an HTML error page: the console's pages are not the JSON
// API, so they do not go through router's error table.
func (c *Console) renderError(w http.ResponseWriter, r *http.Request, s *session, status int, heading, message string) {
	v := c.newView(r, s, heading, "", errorPage{Heading: heading, Message: message})
	v.Flash = nil
	c.render(w, withoutPartial(r), status, "error", v)
}

// withoutPartial makes an error answer a whole page even to the refresh script,
// which only looks at its status.
func withoutPartial(r *http.Request) *http.Request {
	if r.URL.Query().Get("partial") == "" {
		return r
	}
	r2 := r.Clone(r.Context())
	q := r2.URL.Query()
	q.Del("partial")
	r2.URL.RawQuery = q.Encode()
	return r2
}

// staticTypes are the content types of the embedded assets.
var staticTypes = map[string]string{".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8",
	".svg": "image/svg+xml"}

// serveStatic serves the embedded stylesheet and script. They hold nothing
// secret, and the sign-in form needs them before any session exists.
func serveStatic(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	ctype, ok := staticTypes[path.Ext(name)]
	body, err := fs.ReadFile(staticFiles, "static/"+name)
	if !ok || err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(body) // the browser went away: nothing left to tell it
}
