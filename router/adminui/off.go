package adminui

import (
	"net/http"

	"github.com/hashicorp/go-hclog"
)

// Off returns the handler to mount at Prefix while the admin API is off (no
// ENRICH_ADMIN_TOKEN and no admin scope): every page answers 403 and says how
// to turn the console on; there is no sign-in form to try tokens on.
func Off() (http.Handler, error) {
	pages, err := newRenderer()
	if err != nil {
		return nil, err
	}
	c := &Console{cfg: Config{}.withDefaults(), log: hclog.NewNullLogger(), pages: pages}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+Prefix+"/static/{file}", serveStatic)
	mux.HandleFunc(Prefix, c.handleOff)
	mux.HandleFunc(Prefix+"/", c.handleOff)
	c.mux = mux
	return c, nil
}

func (c *Console) handleOff(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	c.renderError(w, r, nil, http.StatusForbidden, "The operator console is off",
		"The admin API is off on this instance: set ENRICH_ADMIN_TOKEN, or use an auth mode with an admin scope, to enable it.")
}
