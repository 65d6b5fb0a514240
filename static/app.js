// Sends the CSRF token with every htmx request, pauses polling while the tab
// is hidden, and shows a banner while requests to the server fail.
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRFToken"] = csrfToken();
  });

  // A hidden tab skips its polls, so it costs the board nothing and does not
  // keep an idle session alive.
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (document.hidden && event.detail.elt.hasAttribute("data-poll")) {
      event.preventDefault();
    }
  });

  document.addEventListener("visibilitychange", function () {
    if (document.hidden || !window.htmx) {
      return;
    }
    document.querySelectorAll("[data-poll]").forEach(function (tile) {
      window.htmx.trigger(tile, "refresh");
    });
  });

  function setConnectionLost(lost) {
    var banner = document.getElementById("connection-lost");
    if (banner) {
      banner.hidden = !lost;
    }
  }

  document.addEventListener("htmx:sendError", function () {
    setConnectionLost(true);
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    if (event.detail.successful) {
      setConnectionLost(false);
    }
  });
})();
