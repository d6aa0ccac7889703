/* Clinic invites: "+ Invite Another Patient" rows and the confirmation pop-up.
   Without JavaScript both still work: the add-row button posts and the server adds a row, and
   the confirmation renders as an open (non-modal) dialog. */
(function () {
  "use strict";

  var form = document.getElementById("invite-form");
  if (form) {
    var rows = document.getElementById("invite-rows");
    var template = document.getElementById("invite-row-template");
    var total = form.querySelector("input[name='patients-TOTAL_FORMS']");
    var addButton = form.querySelector("[data-add-invite-row]");
    if (rows && template && total && addButton) {
      addButton.addEventListener("click", function (event) {
        event.preventDefault();
        var index = parseInt(total.value, 10) || 0;
        var html = template.innerHTML
          .replace(/__prefix__/g, String(index))
          .replace(/__number__/g, String(index + 1));
        var holder = document.createElement("div");
        holder.innerHTML = html.trim();
        var row = holder.firstElementChild;
        rows.appendChild(row);
        total.value = String(index + 1);
        var first = row.querySelector("input");
        if (first) first.focus();
      });
    }
  }

  // The server renders the confirmation as <dialog open data-show-modal>: make it modal, so
  // focus stays inside and Escape closes it.
  var confirmDialog = document.querySelector("dialog[data-show-modal]");
  if (confirmDialog && typeof confirmDialog.showModal === "function") {
    confirmDialog.close();
    confirmDialog.showModal();
    var confirmButton = confirmDialog.querySelector("button[type='submit']");
    if (confirmButton) confirmButton.focus();
  }
})();
