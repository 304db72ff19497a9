// hh-enrich operator console: refreshes the parts of a page marked
// data-refresh="URL" every data-every seconds. Every page works without it
// (they reload themselves through a <noscript> refresh instead).
(function () {
  "use strict";

  function schedule(el) {
    var seconds = Number(el.getAttribute("data-every")) || 10;
    window.setTimeout(function () { refresh(el); }, seconds * 1000);
  }

  function refresh(el) {
    // Do not pull the rug from under a keyboard user: skip a round while focus
    // is inside the region, and while the tab is hidden.
    var active = document.activeElement;
    if (document.hidden || (active && active !== document.body && el.contains(active))) {
      schedule(el);
      return;
    }
    el.setAttribute("aria-busy", "true");
    window.fetch(el.getAttribute("data-refresh"), { credentials: "same-origin", cache: "no-store" })
      .then(function (res) {
        if (res.status === 401) {
          window.location.reload(); // the session ended: the server sends the sign-in form
          return null;
        }
        return res.ok ? res.text() : null;
      })
      .then(function (html) {
        if (html !== null) {
          el.innerHTML = html;
          el.setAttribute("data-refreshed", String(Date.now()));
        }
      })
      .catch(function () { /* offline for a moment: the next round tries again */ })
      .then(function () {
        el.removeAttribute("aria-busy");
        schedule(el);
      });
  }

  document.querySelectorAll("[data-refresh]").forEach(schedule);
})();
