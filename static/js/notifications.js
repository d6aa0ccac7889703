/* The notification bell (a disclosure: Enter/Space opens, Escape closes and returns focus,
   a click outside closes) and small helpers for the notifications pages. Live updates arrive
   over the websocket as htmx out-of-band swaps; this file only keeps the button's label right. */
(function () {
  "use strict";

  // Buttons that only matter without JavaScript (e.g. "Save preferences", "Filter").
  document.querySelectorAll("[data-js-hide]").forEach(function (el) { el.hidden = true; });

  // Unread badges of the Requests list arrive over the same socket, on every page of the user:
  // drop them where the page has no such badge (htmx would report a missing swap target). On
  // the Requests list, new messages in a request that is not among its rows (another page, a
  // search, a new request) offer to show the latest instead.
  var notice = document.querySelector("[data-list-notice]");
  document.addEventListener("htmx:wsBeforeMessage", function (event) {
    var text = event.detail.message || "";
    var match = /^\s*<span id="(unread-request-\d+)"[^>]*data-unread="(\d+)"/.exec(text);
    if (!match || document.getElementById(match[1])) return;
    event.preventDefault();
    if (notice && parseInt(match[2], 10) > 0) notice.hidden = false;
  });
  if (notice) {
    notice.querySelector("[data-list-refresh]").addEventListener("click", function () {
      notice.hidden = true;
      window.htmx.ajax("GET", window.location.pathname + window.location.search, {
        target: "#request-results", swap: "outerHTML",
      });
    });
  }

  var bell = document.querySelector("[data-bell]");
  if (!bell) return;
  var button = bell.querySelector("#notification-bell-button");
  var panel = bell.querySelector("#notification-panel");

  function setOpen(open, returnFocus) {
    panel.hidden = !open;
    button.setAttribute("aria-expanded", open ? "true" : "false");
    if (!open && returnFocus) button.focus();
  }

  button.addEventListener("click", function () { setOpen(panel.hidden, false); });
  bell.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && !panel.hidden) {
      event.preventDefault();
      setOpen(false, true);
    }
  });
  document.addEventListener("click", function (event) {
    if (!panel.hidden && !bell.contains(event.target)) setOpen(false, false);
  });
  bell.addEventListener("focusout", function (event) {
    if (!panel.hidden && event.relatedTarget && !bell.contains(event.relatedTarget)) {
      setOpen(false, false);
    }
  });

  // The count badge is swapped by the server; mirror it into the button's accessible name.
  function syncLabel() {
    var badge = document.getElementById("notification-count");
    var count = badge ? parseInt(badge.getAttribute("data-count") || "0", 10) : 0;
    button.setAttribute("aria-label", "Notifications, " + count + " unread");
    bell.setAttribute("data-unread", String(count));
  }
  // Expose the socket's state (tests wait for it; CSS could dim a stale bell).
  // After a reconnect, fetch what arrived while the socket was down (a passive request: it
  // must not keep an idle session alive).
  var opened = false;
  bell.addEventListener("htmx:wsOpen", function () {
    bell.setAttribute("data-live", "open");
    if (opened && window.htmx) {
      window.htmx.ajax("GET", bell.getAttribute("data-refresh-url"), {
        swap: "none", headers: { "X-Passive-Request": "1" },
      });
    }
    opened = true;
  });
  bell.addEventListener("htmx:wsClose", function (event) {
    bell.setAttribute("data-live", "closed");
    // 4401: the session ended (signed out in another tab, or the password changed).
    if (event.detail.event && event.detail.event.code === 4401) window.location.assign("/accounts/login/");
  });

  new MutationObserver(syncLabel).observe(button, { childList: true, subtree: true });
  syncLabel();
})();
