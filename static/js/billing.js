// Billing's "Add a card" page: the payment processor's card form (framed, on its own origin)
// hands back a payment-method token with postMessage. Only a message from that origin is
// believed, and only the token (never a card number) is posted to the portal.
(function () {
  "use strict";
  const form = document.getElementById("card-token-form");
  if (!form) return;
  const origin = form.dataset.providerOrigin;
  const status = document.getElementById("card-status");
  let sent = false;
  window.addEventListener("message", function (event) {
    if (event.origin !== origin || sent) return;
    const data = event.data || {};
    if (data.type !== "payment-method" || typeof data.id !== "string" || !/^pm_[A-Za-z0-9_]{6,90}$/.test(data.id)) return;
    sent = true;
    form.elements.token.value = data.id;
    if (status) status.textContent = "Saving your card…";
    form.submit();
  });
})();
