/* Messages (patient inbox, clinic inbox, a thread): rows pushed by the socket arrive as
   out-of-band "afterbegin" swaps into #thread-list; keep one row per thread (the newest, on
   top). A list that is filtered or not on its first page does not take pushed rows: it says
   "New messages have arrived" instead. The open thread itself is driven by chat.js. */
(function () {
  "use strict";
  var list = document.getElementById("thread-list");
  var known = {};
  if (list) {
    list.querySelectorAll(":scope > [id^='thread-']").forEach(function (row) { known[row.id] = true; });
  }

  function tidy() {
    if (!list) return;
    var live = list.getAttribute("data-live-list") === "1";
    var seen = {};
    var arrived = false;
    Array.prototype.slice.call(list.querySelectorAll(":scope > [id^='thread-']")).forEach(function (row) {
      if (seen[row.id]) { row.remove(); return; }
      seen[row.id] = true;
      if (!known[row.id]) {
        arrived = true;
        if (!live) { row.remove(); return; }
        known[row.id] = true;
      }
    });
    if (arrived) {
      var empty = document.querySelector("[data-thread-empty]");
      if (empty && live) empty.remove();
      var notice = document.querySelector("[data-new-notice]");
      if (notice && !live) notice.hidden = false;
    }
    if (window.portalLocalTimes) window.portalLocalTimes(list);
  }
  document.addEventListener("htmx:wsAfterMessage", tidy);
  document.addEventListener("htmx:oobAfterSwap", tidy);
})();
