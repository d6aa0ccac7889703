/* Dashboard and patient profile: the "Select Field" filter picker, toggle chips that act as
   buttons, and pop-ups whose content htmx loads. Everything works without this file too: the
   filter form then shows every field, chips and pop-up links are plain links. */
(function () {
  "use strict";

  // "Select Field" shows only the value control of the chosen field; the others are disabled
  // so that they are not submitted.
  function setUpFilterForm(form) {
    var picker = form.querySelector("[data-filter-field]");
    if (!picker || form.hasAttribute("data-ready")) return;
    form.setAttribute("data-ready", "");
    form.querySelectorAll("[data-js-only]").forEach(function (el) { el.hidden = false; });
    var submit = form.querySelector(".filter-form__submit");
    function sync() {
      form.querySelectorAll("[data-filter-value]").forEach(function (box) {
        var chosen = box.getAttribute("data-filter-value") === picker.value;
        box.hidden = !chosen;
        box.querySelectorAll("input, select").forEach(function (input) { input.disabled = !chosen; });
      });
      if (submit) submit.disabled = !picker.value;
    }
    picker.addEventListener("change", function () {
      sync();
      var box = form.querySelector('[data-filter-value="' + picker.value + '"]');
      var input = box && box.querySelector("input, select");
      if (input) input.focus();
    });
    sync();
  }

  function setUp(root) {
    (root.querySelectorAll ? root : document).querySelectorAll("[data-filter-form]").forEach(setUpFilterForm);
  }
  document.addEventListener("DOMContentLoaded", function () { setUp(document); });
  document.addEventListener("htmx:load", function (event) { setUp(event.target); });

  // Links with role="button" (the quick-filter toggles) also answer the Space key.
  document.addEventListener("keydown", function (event) {
    var el = event.target;
    if (event.key === " " && el.matches && el.matches('a[role="button"]')) {
      event.preventDefault();
      el.click();
    }
  });

  // Pop-ups filled by htmx: remember what opened them, and give focus back when they close.
  var opener = null;
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("[data-opens-dialog]");
    if (link) opener = link;
  });
  document.addEventListener("close", function (event) {
    if (event.target.tagName === "DIALOG" && opener && document.contains(opener)) {
      opener.focus();
      opener = null;
    }
  }, true);
})();
