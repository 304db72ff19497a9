package adminui

import (
	"context"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// authorizeTimeout bounds a sign-in's credential check (a JWT may need its
// issuer's keys fetched).
const authorizeTimeout = 10 * time.Second

// signInPage is the sign-in template's data.
type signInPage struct {
	Lasts     string // how long a session lasts
	Next      string
	Refused   bool
	Empty     bool
	Throttled string // how long to wait, when this address failed too often
}

// handleSignInForm shows the sign-in form; an admin already signed in goes on.
func (c *Console) handleSignInForm(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	next := safeNext(r.URL.Query().Get("next"))
	if c.session(r) != nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	c.render(w, r, http.StatusOK, "signin", c.newView(r, nil, "Sign in", "", c.signInPage(next, "")))
}

// handleSignIn checks the credential and starts a session. The credential is
// never logged, stored or shown again; the session cookie holds only who
// signed in.
func (c *Console) handleSignIn(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil || !sameOrigin(r) {
		c.renderError(w, r, nil, http.StatusBadRequest, "Bad sign-in request", "Sign in from the console's own sign-in page.")
		return
	}
	next := safeNext(r.PostFormValue("next"))
	credential := strings.TrimSpace(r.PostFormValue("credential"))
	if credential == "" {
		c.render(w, r, http.StatusUnauthorized, "signin", c.newView(r, nil, "Sign in", "", c.signInPage(next, "empty")))
		return
	}
	if c.throttled(w, r, next) {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), authorizeTimeout)
	defer cancel()
	admin, err := c.cfg.Authorize(ctx, credential)
	if err != nil {
		c.log.Warn("console sign-in refused", "remote", r.RemoteAddr, "error", err, "request_id", c.requestID(w))
		if c.cfg.Guard != nil {
			c.cfg.Guard.Fail(r, "console sign-in")
		}
		c.render(w, r, http.StatusUnauthorized, "signin", c.newView(r, nil, "Sign in", "", c.signInPage(next, "refused")))
		return
	}
	s, err := c.codec.newSession(admin, c.cfg.SessionTTL)
	var value string
	if err == nil {
		value, err = c.codec.encode(s)
	}
	if err != nil {
		c.log.Error("console session could not be made", "error", err)
		c.renderError(w, r, nil, http.StatusInternalServerError, "Sign-in failed", "The session could not be made; try again.")
		return
	}
	c.setSessionCookie(w, r, value, time.Unix(s.ExpiresAt, 0))
	c.log.Info("console sign-in", "subject", s.Subject, "operator", s.Operator, "tenant", s.Tenant,
		"session", shortID(s.ID), "expires", time.Unix(s.ExpiresAt, 0).UTC(), "remote", r.RemoteAddr, "request_id", c.requestID(w))
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// throttled answers 429 with Retry-After, without checking the credential,
// when the client's address failed to sign in too often.
func (c *Console) throttled(w http.ResponseWriter, r *http.Request, next string) bool {
	if c.cfg.Guard == nil {
		return false
	}
	wait := c.cfg.Guard.Wait(r)
	if wait <= 0 {
		return false
	}
	secs := max(1, int(math.Ceil(wait.Seconds())))
	c.log.Warn("console sign-in refused unchecked: too many failed ones from this address", "remote", r.RemoteAddr,
		"retry_after_s", secs, "request_id", c.requestID(w))
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	page := c.signInPage(next, "")
	page.Throttled = formatAge(time.Duration(secs) * time.Second)
	c.render(w, r, http.StatusTooManyRequests, "signin", c.newView(r, nil, "Sign in", "", page))
	return true
}

// handleSignOut ends the session: the cookie is cleared, and this instance
// refuses the session from now on should a copy of the cookie turn up.
func (c *Console) handleSignOut(w http.ResponseWriter, r *http.Request, s *session) {
	c.revoked.add(s.ID, time.Unix(s.ExpiresAt, 0), c.cfg.Now())
	c.clearSessionCookie(w, r)
	c.log.Info("console sign-out", "subject", s.Subject, "session", shortID(s.ID), "request_id", c.requestID(w))
	http.Redirect(w, r, Prefix+"/signin?done=signedout", http.StatusSeeOther)
}

// signInPage is the form's data; problem is "", "empty" or "refused".
func (c *Console) signInPage(next, problem string) signInPage {
	return signInPage{Lasts: formatTTL(c.cfg.SessionTTL), Next: next, Empty: problem == "empty", Refused: problem == "refused"}
}

// formatTTL says how long a session lasts: "8 hours", or an uptime-like "1h 30m".
func formatTTL(d time.Duration) string {
	if d >= time.Hour && d%time.Hour == 0 {
		if d == time.Hour {
			return "1 hour"
		}
		return strconv.Itoa(int(d.Hours())) + " hours"
	}
	return formatAge(d)
}
