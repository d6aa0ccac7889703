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

  // "Filters (n)": a disclosure button over the filters panel. Folded by default on phones,
  // open on wider screens; once the person opens or folds it, that choice survives the htmx
  // swaps of the results (which re-render the button and the panel).
  var phone = window.matchMedia("(max-width: 720px)");
  var filtersOpen = null;
  var toggles = [];

  function showFilters(toggle, open) {
    var panel = document.getElementById(toggle.getAttribute("aria-controls"));
    toggle.setAttribute("aria-expanded", String(open));
    if (panel) panel.hidden = !open;
  }

  function setUpFiltersToggle(toggle) {
    if (toggle.hasAttribute("data-ready")) return;
    toggle.setAttribute("data-ready", "");
    toggle.hidden = false;
    toggles = toggles.filter(function (t) { return document.contains(t); }).concat([toggle]);
    showFilters(toggle, filtersOpen === null ? !phone.matches : filtersOpen);
    toggle.addEventListener("click", function () {
      filtersOpen = toggle.getAttribute("aria-expanded") !== "true";
      showFilters(toggle, filtersOpen);
    });
  }

  phone.addEventListener("change", function () {
    if (filtersOpen !== null) return;
    toggles.forEach(function (t) { if (document.contains(t)) showFilters(t, !phone.matches); });
  });

  function setUp(root) {
    var scope = root.querySelectorAll ? root : document;
    scope.querySelectorAll("[data-filter-form]").forEach(setUpFilterForm);
    scope.querySelectorAll("[data-filters-toggle]").forEach(setUpFiltersToggle);
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
