/* Small behaviours shared by every page: dialogs and the idle-session warning.
   No inline scripts anywhere (the CSP forbids them); pages opt in with data- attributes. */
(function () {
  "use strict";

  // Dialogs: <a|button data-dialog-open="id"> opens <dialog id="id"> as a modal (focus stays
  // inside, Escape closes); [data-dialog-close] closes; a click on the backdrop closes.
  var lastOpener = null;
  document.addEventListener("click", function (event) {
    var opener = event.target.closest("[data-dialog-open]");
    if (opener) {
      var dialog = document.getElementById(opener.getAttribute("data-dialog-open"));
      if (dialog && typeof dialog.showModal === "function") {
        event.preventDefault();
        lastOpener = opener;
        if (!dialog.open) dialog.showModal();
      }
      return;
    }
    var closer = event.target.closest("[data-dialog-close]");
    if (closer) {
      var open = closer.closest("dialog");
      if (open) { event.preventDefault(); open.close(); }
      return;
    }
    if (event.target.tagName === "DIALOG" && event.target.open) {
      var rect = event.target.getBoundingClientRect();
      var inside = event.clientX >= rect.left && event.clientX <= rect.right &&
                   event.clientY >= rect.top && event.clientY <= rect.bottom;
      if (!inside) event.target.close();
    }
  });
  document.addEventListener("close", function (event) {
    if (event.target.tagName === "DIALOG" && lastOpener && document.contains(lastOpener)) {
      lastOpener.focus();
    }
  }, true);
  // Content loaded by htmx into a dialog marked data-open-on-load is shown at once.
  document.addEventListener("htmx:afterSwap", function (event) {
    var dialog = event.target.closest && event.target.closest("dialog[data-open-on-load]");
    if (dialog && !dialog.open) dialog.showModal();
  });

  // Confirmations: <form data-confirm="message" data-confirm-title="…" data-confirm-action="…">
  // asks in a modal first (Cancel has the focus; Escape cancels). Without JavaScript the form is
  // simply sent.
  var confirmDialog = document.getElementById("confirm-dialog");
  var pendingForm = null;
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!confirmDialog || !form.hasAttribute || !form.hasAttribute("data-confirm")) return;
    event.preventDefault();
    pendingForm = form;
    lastOpener = event.submitter || form.querySelector("[type=submit]");
    confirmDialog.querySelector("[data-confirm-title]").textContent =
      form.getAttribute("data-confirm-title") || "Are you sure?";
    confirmDialog.querySelector("[data-confirm-message]").textContent = form.getAttribute("data-confirm");
    confirmDialog.querySelector("[data-confirm-accept]").textContent =
      form.getAttribute("data-confirm-action") || "Confirm";
    confirmDialog.showModal();
  }, true);
  if (confirmDialog) {
    confirmDialog.querySelector("[data-confirm-accept]").addEventListener("click", function () {
      var form = pendingForm;
      pendingForm = null;
      lastOpener = null;
      confirmDialog.close();
      if (form) form.submit();  // submit() does not fire "submit" again
    });
  }

  // Live sockets (htmx's ws extension) reconnect after a random back-off that doubles with each
  // failed try (0-1 s, 0-2 s … up to 64 s, so that a thousand pages do not all return at once).
  // A socket closed with 1012 "service restart" (CLOSE_SERVICE_RESTART in portal/consumers.py:
  // its web process is stopping) reconnects at once instead, within a quarter of a second: the
  // proxy sends it to another process, and the page catches up by the ids it holds.
  if (window.htmx && typeof window.htmx.createWebSocket === "function") {
    var lastCloseCode = 0;
    var createWebSocket = window.htmx.createWebSocket;
    window.htmx.createWebSocket = function (url) {
      var socket = createWebSocket(url);
      // Registered before the extension's onclose, so the code is known when it asks for a delay.
      socket.addEventListener("close", function (event) { lastCloseCode = event.code; });
      socket.addEventListener("open", function () { lastCloseCode = 0; });
      return socket;
    };
    window.htmx.config.wsReconnectDelay = function (retryCount) {
      if (lastCloseCode === 1012 && retryCount === 0) return Math.random() * 250;
      return 1000 * Math.pow(2, Math.min(retryCount, 6)) * Math.random();
    };

    // The extension retries only 1006, 1011, 1012 and 1013. A socket closed with 4503 (the
    // channel layer, Redis, is down: CLOSE_UNAVAILABLE) would stay closed and its page would
    // poll until reloaded: reconnect it too, after 0.5-1 s, 1-2 s, 2-4 s, then 2.5-5 s
    // (doubling, capped, half of it random: pages spread out, none hammers, and each is back
    // within about five seconds of Redis). The count starts again once a socket has heard
    // from its server (such a socket is accepted, then closed, so "open" proves nothing).
    var RETRIED_CLOSES = [4503];
    var unavailableTries = new WeakMap();
    document.addEventListener("htmx:wsClose", function (event) {
      var code = event.detail.event && event.detail.event.code;
      var wrapper = event.detail.socketWrapper;
      var elt = event.target;
      if (RETRIED_CLOSES.indexOf(code) === -1 || !wrapper || !wrapper.reconnect) return;
      var tries = unavailableTries.get(elt) || 0;
      unavailableTries.set(elt, tries + 1);
      var base = Math.min(5000, 1000 * Math.pow(2, tries));
      setTimeout(function () {
        if (document.body.contains(elt)) wrapper.reconnect();
      }, base / 2 + Math.random() * base / 2);
    });
    document.addEventListener("htmx:wsAfterMessage", function (event) {
      unavailableTries.delete(event.target);
    });
  }

  // A failed htmx request says so (it would otherwise change nothing on the page and leave the
  // user guessing). Forms keep what was typed; the chat form keeps its message id, so a retry
  // cannot send a message twice.
  var errorBox = document.querySelector("[data-request-error]");
  function requestFailed(status, xhr) {
    if (!errorBox) return;
    var text;
    // A refusal the server explains (control characters in a field): show its words.
    if (status === 400 && xhr && xhr.getResponseHeader("X-Refused-Reason")) text = xhr.responseText;
    else if (!status) text = "The portal could not be reached. Check your connection and try again.";
    else if (status === 413) text = "That is too large to send at once. Send the documents in more than one message.";
    else if (status === 429) text = "Too many attempts. Wait a minute, then try again.";
    else if (status === 403) text = "That was refused: you may no longer have access, or the page is out of date. Reload the page.";
    else if (status === 404) text = "That is no longer available. Reload the page.";
    else if (status === 503) text = "The portal is briefly unavailable. Nothing you sent was lost; try again in a few seconds.";
    else if (status >= 500) text = "Something went wrong on our side. Try again in a moment.";
    else text = "That could not be done. Reload the page and try again.";
    errorBox.querySelector("[data-request-error-text]").textContent = text;
    errorBox.hidden = false;
  }
  if (errorBox) {
    errorBox.querySelector("[data-request-error-close]").addEventListener("click", function () {
      errorBox.hidden = true;
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && !errorBox.hidden) errorBox.hidden = true;
    });
  }
  // Background requests (the chat's polling fallback, badge refreshes) retry by themselves and
  // interrupt nobody; they are marked with the X-Passive-Request header.
  function passive(event) {
    var config = event.detail.requestConfig;
    return !!(config && config.headers && config.headers["X-Passive-Request"]);
  }
  document.addEventListener("htmx:sendError", function (event) {
    if (!passive(event)) requestFailed(0);
  });
  document.addEventListener("htmx:responseError", function (event) {
    if (!passive(event)) requestFailed(event.detail.xhr.status, event.detail.xhr);
  });
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (errorBox && !passive(event)) errorBox.hidden = true;
  });
  // A session that ended elsewhere: htmx followed the redirect to the sign-in page; go there
  // instead of drawing it inside the page.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var url = event.detail.xhr && event.detail.xhr.responseURL;
    if (url && new URL(url).pathname === "/accounts/login/") {
      event.detail.shouldSwap = false;
      window.location.assign(url);
    }
  });

  // Main menu at phone width: a disclosure button. It opens and closes the list it controls
  // (aria-expanded says which), Escape closes it and puts the focus back on the button, and a
  // click elsewhere closes it. The CSS shows the button only at narrow widths; without
  // JavaScript the button stays hidden and the links wrap.
  var menuButton = document.querySelector("[data-menu-button]");
  var menuList = menuButton && document.getElementById(menuButton.getAttribute("aria-controls"));
  if (menuButton && menuList) {
    var menuNav = menuButton.closest("[data-menu]");
    var menuOpen = function () { return menuButton.getAttribute("aria-expanded") === "true"; };
    var setMenu = function (open) { menuButton.setAttribute("aria-expanded", open ? "true" : "false"); };
    menuNav.classList.add("mainnav--js");
    menuButton.hidden = false;
    menuButton.addEventListener("click", function () { setMenu(!menuOpen()); });
    document.addEventListener("keydown", function (event) {
      if (event.key !== "Escape" || !menuOpen()) return;
      setMenu(false);
      menuButton.focus();
    });
    document.addEventListener("click", function (event) {
      if (menuOpen() && !menuNav.contains(event.target)) setMenu(false);
    });
  }

  // Times on the reader's own clock: the server writes <time datetime="ISO" data-local="style">
  // in the portal's time zone (what shows without JavaScript); here each is rewritten in the
  // browser's zone, in the same format, with the zone named in its title. Chat messages
  // pushed over the websocket are rendered once for everyone, so this is where they get the
  // reader's zone. "short": 11/28/2026 2:47 AM; "long": Nov 28, 2026 2:47 AM; "date":
  // 11/28/2026. (The same three as portal/templatetags/times.py.)
  // The reader's zone: the one chosen in their profile (data-time-zone, also what the server
  // used), else the browser's, which is reported to the server in the "tz" cookie so that
  // pages, exports and the admin use it too (portal.middleware.TimeZoneMiddleware).
  var chosenZone = document.body.getAttribute("data-time-zone") || undefined;
  try {
    var browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (browserZone && document.cookie.indexOf("tz=" + encodeURIComponent(browserZone)) === -1) {
      document.cookie = "tz=" + encodeURIComponent(browserZone) + "; path=/; max-age=31536000; samesite=lax" +
        (location.protocol === "https:" ? "; secure" : "");
    }
    if (chosenZone) new Intl.DateTimeFormat("en-US", { timeZone: chosenZone });
  } catch (e) {
    chosenZone = undefined;  // a zone this browser does not know: use its own
  }
  var formats = {};
  function formatter(style) {
    if (!formats[style]) {
      var options = {
        long: { month: "short", day: "numeric", year: "numeric", hour: "numeric", minute: "2-digit" },
        short: { month: "2-digit", day: "2-digit", year: "numeric", hour: "numeric", minute: "2-digit" },
        date: { month: "2-digit", day: "2-digit", year: "numeric" },
      }[style];
      if (!options) return null;
      options.timeZone = chosenZone;
      formats[style] = new Intl.DateTimeFormat("en-US", options);
    }
    return formats[style];
  }
  var zoneName = new Intl.DateTimeFormat("en-US", { timeZoneName: "short", timeZone: chosenZone });
  function localTimes(root) {
    if (!root || !root.querySelectorAll) return;
    var times = Array.prototype.slice.call(root.querySelectorAll("time[data-local]"));
    if (root.matches && root.matches("time[data-local]")) times.push(root);
    times.forEach(function (el) {
      var when = new Date(el.getAttribute("datetime"));
      if (isNaN(when.getTime())) return;
      var style = el.getAttribute("data-local");
      if (!formatter(style)) return;
      var part = {};
      formatter(style).formatToParts(when).forEach(function (p) { part[p.type] = p.value; });
      var day = style === "long"
        ? part.month + " " + part.day + ", " + part.year
        : part.month + "/" + part.day + "/" + part.year;
      el.textContent = style === "date" ? day : day + " " + part.hour + ":" + part.minute + " " + part.dayPeriod;
      var zone = zoneName.formatToParts(when).filter(function (p) { return p.type === "timeZoneName"; });
      el.title = el.textContent + (zone.length ? " " + zone[0].value : "");
    });
  }
  window.portalLocalTimes = localTimes;  // for rows that scripts build (chat.js)
  localTimes(document.body);
  document.addEventListener("htmx:load", function (event) { localTimes(event.detail.elt); });

  // A tab bar that scrolls sideways (the Clinic and Billing bars on a phone) shows its current
  // tab: scrolled, not the page, so that the tab is in view without a jump.
  Array.prototype.forEach.call(document.querySelectorAll(".clinic-subnav"), function (bar) {
    var current = bar.querySelector("[aria-current]");
    if (current && bar.scrollWidth > bar.clientWidth) {
      bar.scrollLeft = current.offsetLeft - bar.offsetLeft - (bar.clientWidth - current.offsetWidth) / 2;
    }
  });

  // Idle warning: the server ends idle sessions; this only warns first and lets people stay.
  var body = document.body;
  var idleSeconds = parseInt(body.getAttribute("data-idle-seconds") || "0", 10);
  var warnSeconds = parseInt(body.getAttribute("data-idle-warning-seconds") || "120", 10);
  var idleDialog = document.getElementById("idle-dialog");
  if (!idleSeconds || !idleDialog) return;
  var lastActivity = Date.now();
  var countdown = idleDialog.querySelector("[data-idle-countdown]");
  function resetIdle() { lastActivity = Date.now(); }
  document.addEventListener("htmx:afterRequest", resetIdle);
  function keepAlive() {
    var token = JSON.parse(body.getAttribute("hx-headers") || "{}")["x-csrftoken"];
    fetch("/accounts/session/keep-alive/", {
      method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": token },
    }).then(function (response) {
      if (response.ok) { resetIdle(); idleDialog.close(); }
      else { window.location.assign("/accounts/login/"); }
    });
  }
  idleDialog.querySelector("[data-idle-stay]").addEventListener("click", keepAlive);
  setInterval(function () {
    var left = idleSeconds - (Date.now() - lastActivity) / 1000;
    if (left <= 0) { window.location.assign("/accounts/login/?timeout=1"); return; }
    if (left <= warnSeconds) {
      if (countdown) {
        var minutes = Math.floor(left / 60), seconds = Math.floor(left % 60);
        countdown.textContent = minutes + ":" + (seconds < 10 ? "0" : "") + seconds;
      }
      if (!idleDialog.open) idleDialog.showModal();
    }
  }, 1000);
})();
