package adminui

import (
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"
)

// sessionCookie names the console's session cookie; its path keeps it off
// every other route of the service.
const sessionCookie = "hh_enrich_console"

// maxFormBytes caps a console form: a job id, a tenant and a token.
const maxFormBytes = 16 << 10

// csrfField is the hidden field that carries the CSRF token on every form.
const csrfField = "csrf"

// pageHandler serves a request of a signed-in admin.
type pageHandler func(w http.ResponseWriter, r *http.Request, s *session)

// page admits a request with a valid session. Without one a page load is sent
// to the sign-in form (and back afterwards), a refresh of part of a page gets
// 401 (its script then reloads the page), and anything else gets 401.
func (c *Console) page(next pageHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s := c.session(r)
		if s == nil {
			c.refuseAnonymous(w, r)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		next(w, r, s)
	}
}

// action admits a state-changing POST: a valid session, a same-origin Origin
// or Referer when the browser sends one, and the session's CSRF token.
func (c *Console) action(next pageHandler) http.HandlerFunc {
	return c.page(func(w http.ResponseWriter, r *http.Request, s *session) {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := r.ParseForm(); err != nil {
			c.renderError(w, r, s, http.StatusBadRequest, "Bad form", "The form could not be read.")
			return
		}
		if !sameOrigin(r) || !c.codec.validCSRF(s, r.PostFormValue(csrfField)) {
			c.log.Warn("console action refused: missing or wrong CSRF token or cross-origin request",
				"path", r.URL.Path, "subject", s.Subject, "session", shortID(s.ID), "request_id", c.requestID(w))
			c.renderError(w, r, s, http.StatusForbidden, "Action refused",
				"This action did not come from a console page of this session. Reload the page and try again.")
			return
		}
		next(w, r, s)
	})
}

func (c *Console) refuseAnonymous(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if r.Method == http.MethodGet && r.URL.Query().Get("partial") == "" {
		http.Redirect(w, r, Prefix+"/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return
	}
	c.renderError(w, r, nil, http.StatusUnauthorized, "Sign in first", "Your session has ended or you have not signed in.")
}

// session returns the request's valid, unrevoked session, or nil.
func (c *Console) session(r *http.Request) *session {
	cookie, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	s, err := c.codec.decode(cookie.Value)
	if err != nil || c.revoked.has(s.ID) {
		return nil
	}
	return s
}

// setSessionCookie sends s; Secure when the request came over TLS, directly or
// through a proxy that says so.
func (c *Console) setSessionCookie(w http.ResponseWriter, r *http.Request, value string, expires time.Time) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: value, Path: Prefix, Expires: expires,
		MaxAge: max(1, int(expires.Sub(c.cfg.Now()).Seconds())), HttpOnly: true, Secure: isTLS(r), SameSite: http.SameSiteStrictMode})
}

func (c *Console) clearSessionCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: Prefix, MaxAge: -1,
		HttpOnly: true, Secure: isTLS(r), SameSite: http.SameSiteStrictMode})
}

func isTLS(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// sameOrigin checks Origin, else Referer, against the request's own host (or
// the host a proxy says the browser asked for). A request with neither passes:
// the CSRF token still has to match, and some privacy tools strip both. A form
// on another site can set neither header, so trusting X-Forwarded-Host lets
// nothing cross-site through.
func sameOrigin(r *http.Request) bool {
	source := r.Header.Get("Origin")
	if source == "" {
		source = r.Header.Get("Referer")
	}
	if source == "" {
		return true
	}
	u, err := url.Parse(source)
	if err != nil || u.Host == "" {
		return false
	}
	forwarded, _, _ := strings.Cut(r.Header.Get("X-Forwarded-Host"), ",")
	return strings.EqualFold(u.Host, r.Host) || (forwarded != "" && strings.EqualFold(u.Host, strings.TrimSpace(forwarded)))
}

// safeNext returns next when it is a console page, else the console's home: the
// sign-in form must not redirect anywhere else (an open redirect).
func safeNext(next string) string {
	const home = Prefix
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" ||
		strings.ContainsAny(next, "\\\r\n") || strings.HasPrefix(next, "//") {
		return home
	}
	// Cleaning removes "..": the path must stay a console page once resolved.
	if clean := path.Clean(u.Path); clean != u.Path || !strings.HasPrefix(clean, Prefix+"/") ||
		strings.HasPrefix(clean, Prefix+"/signin") || strings.HasPrefix(clean, Prefix+"/static/") {
		return home
	}
	return u.RequestURI()
}

func (c *Console) requestID(w http.ResponseWriter) string {
	return w.Header().Get(c.cfg.RequestIDHeader)
}

// shortID is enough of a session id to follow one session through the log
// without making the log a key to it (the id alone cannot forge a cookie).
func shortID(id string) string { return id[:min(8, len(id))] }

// revocations remembers signed-out sessions until they would have expired, so
// a copied cookie stops working on this instance at sign-out. Other instances
// honour it only until expiry (sessions are not stored anywhere shared).
type revocations struct {
	mu  sync.Mutex
	ids map[string]time.Time // session id → its expiry
}

// maxRevocations bounds the set; past it the ones closest to expiry go first.
const maxRevocations = 10_000

func newRevocations() *revocations { return &revocations{ids: map[string]time.Time{}} }

func (v *revocations) add(id string, expires, now time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for other, exp := range v.ids {
		if !exp.After(now) {
			delete(v.ids, other)
		}
	}
	if len(v.ids) >= maxRevocations {
		v.dropSoonestLocked()
	}
	v.ids[id] = expires
}

func (v *revocations) dropSoonestLocked() {
	var soonest string
	var at time.Time
	for id, exp := range v.ids {
		if soonest == "" || exp.Before(at) {
			soonest, at = id, exp
		}
	}
	delete(v.ids, soonest)
}

func (v *revocations) has(id string) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	_, ok := v.ids[id]
	return ok
}
