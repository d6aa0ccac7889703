/* Accounts pages: a dialog marked data-open-on-page-load (registration errors, a form that came
   back with errors) opens as a modal when the page loads. */
(function () {
  "use strict";
  document.querySelectorAll("dialog[data-open-on-page-load]").forEach(function (dialog) {
    if (!dialog.open && typeof dialog.showModal === "function") dialog.showModal();
  });
})();
