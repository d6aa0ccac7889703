/* Request Details on small screens: open at the conversation, as messaging apps do. The chat
   card is one screen tall there (portal.css), so scrolling it into view puts the newest
   messages and the composer on screen; the page header is one swipe up. Nothing happens on
   wide screens, after a jump to an anchor, or when the browser restored a scroll position. */
(function () {
  "use strict";

  var chat = document.querySelector("[data-chat]");
  if (!chat || !window.matchMedia("(max-width: 900px)").matches) return;
  if (window.location.hash || window.scrollY > 0) return;
  chat.scrollIntoView({ block: "end" });
})();
