"""The test payment provider: a small loopback HTTP server (standard library only).

It plays both sides a real provider has:

- its **hosted card form** (`GET /card-form?origin=<portal origin>`), a page on its own port
  that the portal frames; the browser posts the card number here, and the page hands the
  portal a payment-method token with `postMessage` — the number never reaches the portal;
- the small part of **Stripe's API** the portal uses (form-encoded, `Authorization: Bearer`,
  `Idempotency-Key` on POSTs answered again with the first answer): customers,
  payment_methods (retrieve, attach, detach), payment_intents (create with confirm),
  refunds. Both `billing.provider.TestProvider` and the `stripe` package talk to it;
- **webhooks**: each charge's outcome is signed (`Stripe-Signature: t=…,v1=…`) and POSTed to
  `--webhook-url` after `--webhook-delay` seconds (kept in `/_test/events` for tests).

Test cards (any future expiry, any CVC): 4242 4242 4242 4242 Visa and 5555 5555 5555 4444
Mastercard succeed; 4000 0000 0000 0002 is declined, 4000 0000 0000 9995 has insufficient
funds, 4000 0000 0000 0069 is expired; 4000 0000 0000 0119 succeeds but answers only after
`--slow-seconds` (longer than the portal waits: a timeout whose charge went through).

    python -m billing.testprovider --port 8001 --webhook-url http://127.0.0.1:8000/billing/webhooks/provider/
"""

from __future__ import annotations

import html
import json
import secrets
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from billing.provider import sign_webhook

CARDS: dict[str, tuple[str, str]] = {
    # number -> (brand, behaviour)
    "4242424242424242": ("visa", "succeed"),
    "5555555555554444": ("mastercard", "succeed"),
    "4000000000000002": ("visa", "generic_decline"),
    "4000000000009995": ("visa", "insufficient_funds"),
    "4000000000000069": ("visa", "expired_card"),
    "4000000000000119": ("visa", "slow"),
}


def luhn_ok(number: str) -> bool:
    digits = [int(d) for d in number]
    odd = digits[-1::-2]
    even = [sum(divmod(2 * d, 10)) for d in digits[-2::-2]]
    return (sum(odd) + sum(even)) % 10 == 0


@dataclass
class State:
    api_key: str = "sk_test_portal"
    webhook_url: str = ""
    webhook_secret: str = "whsec_portal_dev"
    webhook_delay: float = 0.5
    slow_seconds: float = 15.0
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    methods: dict[str, dict[str, Any]] = field(default_factory=dict)
    intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    answers: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def flat_form(body: bytes) -> dict[str, str]:
    return {
        k: v[-1] for k, v in urllib.parse.parse_qs(body.decode(), keep_blank_values=True).items()
    }


def nested(form: dict[str, str], name: str) -> dict[str, str]:
    """`metadata[payment_id]=7` -> {"payment_id": "7"}."""
    prefix = f"{name}["
    return {
        k[len(prefix) : -1]: v for k, v in form.items() if k.startswith(prefix) and k.endswith("]")
    }


def card_error(code: str, intent: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
    messages = {
        "generic_decline": "Your card was declined.",
        "insufficient_funds": "Your card has insufficient funds.",
        "expired_card": "Your card has expired.",
    }
    error: dict[str, Any] = {
        "type": "card_error",
        "code": "expired_card" if code == "expired_card" else "card_declined",
        "decline_code": code,
        "message": messages.get(code, "Your card was declined."),
    }
    if intent is not None:
        error["payment_intent"] = intent
    return 402, {"error": error}


class Handler(BaseHTTPRequestHandler):
    server: ProviderServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        # Quiet: request lines of the card form would show nothing secret, but keep stderr clean.
        return

    @property
    def state(self) -> State:
        return self.server.state

    # Plumbing ----------------------------------------------------------------------------------

    def _send(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, body: dict[str, Any]) -> None:
        self._send(status, json.dumps(body).encode(), "application/json")

    def _body(self) -> bytes:
        length = min(int(self.headers.get("Content-Length") or 0), 65536)
        return self.rfile.read(length) if length else b""

    def _authorised(self) -> bool:
        if self.headers.get("Authorization", "") != f"Bearer {self.state.api_key}":
            self._json(
                401, {"error": {"type": "invalid_request_error", "message": "Invalid API key"}}
            )
            return False
        return True

    # Routes ---------------------------------------------------------------------------------------

    def do_GET(self) -> None:  # noqa: N802
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/card-form":
            query = dict(urllib.parse.parse_qsl(url.query))
            return self._card_form(query.get("origin", ""), error="")
        if url.path == "/_test/events":
            with self.state.lock:
                return self._json(200, {"data": list(self.state.events)})
        if url.path.startswith("/v1/payment_methods/") and self._authorised():
            method = self.state.methods.get(url.path.rsplit("/", 1)[-1])
            if method is None:
                return self._json(
                    404, {"error": {"type": "invalid_request_error", "code": "resource_missing"}}
                )
            return self._json(200, method)
        if url.path == "/healthz":
            return self._send(200, b"ok", "text/plain")
        if not url.path.startswith("/v1/"):
            self._send(404, b"Not found", "text/plain")

    def do_POST(self) -> None:  # noqa: N802
        url = urllib.parse.urlsplit(self.path)
        body = self._body()
        if url.path == "/card-form":
            return self._card_submit(flat_form(body))
        if not self._authorised():
            return
        form = flat_form(body)
        key = self.headers.get("Idempotency-Key", "")
        if key:
            with self.state.lock:
                stored = self.state.answers.get(key)
            if stored is not None:
                return self._json(*stored)
        status, answer = self._api(url.path, form)
        slow = status == -1  # a slow charge: done, but answered late (the client times out)
        status = 200 if slow else status
        if key and status != 401:
            with self.state.lock:
                self.state.answers.setdefault(key, (status, answer))
        if slow:
            time.sleep(self.state.slow_seconds)
        self._json(status, answer)

    def _api(self, path: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        parts = path.strip("/").split("/")
        with self.state.lock:
            if parts == ["v1", "customers"]:
                customer: dict[str, Any] = {
                    "id": new_id("cus"),
                    "object": "customer",
                    "email": form.get("email", ""),
                    "metadata": nested(form, "metadata"),
                }
                self.state.customers[customer["id"]] = customer
                return 200, customer
            if (
                len(parts) == 4
                and parts[:2] == ["v1", "payment_methods"]
                and parts[3] in {"attach", "detach"}
            ):
                method = self.state.methods.get(parts[2])
                if method is None:
                    return 404, {
                        "error": {
                            "type": "invalid_request_error",
                            "code": "resource_missing",
                            "message": "No such payment method",
                        }
                    }
                if parts[3] == "attach":
                    if form.get("customer") not in self.state.customers:
                        return 400, {
                            "error": {
                                "type": "invalid_request_error",
                                "code": "resource_missing",
                                "message": "No such customer",
                            }
                        }
                    if method.get("customer") not in (None, form["customer"]):
                        return 400, {
                            "error": {
                                "type": "invalid_request_error",
                                "message": "Already attached",
                            }
                        }
                    method["customer"] = form["customer"]
                else:
                    method["customer"] = None
                return 200, method
            if parts == ["v1", "payment_intents"]:
                return self._create_intent(form)
            if parts == ["v1", "refunds"]:
                intent = self.state.intents.get(form.get("payment_intent", ""))
                if intent is None or intent["status"] != "succeeded":
                    return 400, {
                        "error": {"type": "invalid_request_error", "message": "Nothing to refund"}
                    }
                amount = int(form.get("amount") or intent["amount"])
                if amount <= 0 or intent["amount_refunded"] + amount > intent["amount"]:
                    return 400, {
                        "error": {
                            "type": "invalid_request_error",
                            "code": "amount_too_large",
                            "message": "Refund exceeds the charge",
                        }
                    }
                intent["amount_refunded"] += amount
                refund = {
                    "id": new_id("re"),
                    "object": "refund",
                    "amount": amount,
                    "payment_intent": intent["id"],
                    "status": "succeeded",
                }
                self.state.refunds[refund["id"]] = refund
                return 200, refund
        return 404, {"error": {"type": "invalid_request_error", "message": "Unknown endpoint"}}

    def _create_intent(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        try:
            amount = int(form.get("amount", "0"))
        except ValueError:
            amount = 0
        method = self.state.methods.get(form.get("payment_method", ""))
        if amount <= 0 or method is None or method.get("customer") != form.get("customer"):
            return 400, {
                "error": {"type": "invalid_request_error", "message": "Bad payment request"}
            }
        behaviour = method["_behaviour"]
        intent: dict[str, Any] = {
            "id": new_id("pi"),
            "object": "payment_intent",
            "amount": amount,
            "amount_refunded": 0,
            "currency": form.get("currency", "usd"),
            "customer": form.get("customer"),
            "payment_method": method["id"],
            "metadata": nested(form, "metadata"),
            "status": "succeeded",
            "last_payment_error": None,
        }
        self.state.intents[intent["id"]] = intent
        if behaviour in {"succeed", "slow"}:
            self._queue_event("payment_intent.succeeded", intent)
            return (-1 if behaviour == "slow" else 200), intent
        intent["status"] = "requires_payment_method"
        intent["last_payment_error"] = {"code": "card_declined", "decline_code": behaviour}
        self._queue_event("payment_intent.payment_failed", intent)
        return card_error(behaviour, intent)

    # Webhooks ---------------------------------------------------------------------------------

    def _queue_event(self, kind: str, obj: dict[str, Any]) -> None:
        event = {
            "id": new_id("evt"),
            "object": "event",
            "type": kind,
            "created": int(time.time()),
            "data": {"object": dict(obj)},
        }
        self.state.events.append(event)
        if self.state.webhook_url:
            timer = threading.Timer(self.state.webhook_delay, deliver, args=(self.state, event))
            timer.daemon = True
            timer.start()

    # The hosted card form -----------------------------------------------------------------------

    def _card_form(self, origin: str, *, error: str, values: dict[str, str] | None = None) -> None:
        values = values or {}
        e = html.escape
        page = CARD_FORM.format(
            origin=e(origin),
            error=f'<p class="error" role="alert">{e(error)}</p>' if error else "",
            exp=e(values.get("exp", "")),
            postal=e(values.get("postal", "")),
        )
        self._send(
            200,
            page.encode(),
            "text/html; charset=utf-8",
            {
                "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; form-action 'self'; frame-ancestors http://127.0.0.1:* http://localhost:*"
            },
        )

    def _card_submit(self, form: dict[str, str]) -> None:
        origin = form.get("origin", "")
        number = "".join(ch for ch in form.get("number", "") if ch.isdigit())
        month, _, year = form.get("exp", "").replace(" ", "").partition("/")
        kept = {"exp": form.get("exp", "")[:7], "postal": form.get("postal", "")[:10]}
        if not (13 <= len(number) <= 19) or not luhn_ok(number):
            return self._card_form(
                origin, error="That card number is not valid. Check it and try again.", values=kept
            )
        try:
            exp_month, exp_year = int(month), int(year)
        except ValueError:
            return self._card_form(origin, error="Enter the expiry date as MM/YY.", values=kept)
        exp_year += 2000 if exp_year < 100 else 0
        now = time.localtime()
        if not 1 <= exp_month <= 12 or (exp_year, exp_month) < (now.tm_year, now.tm_mon):
            return self._card_form(origin, error="That expiry date has passed.", values=kept)
        if not form.get("cvc", "").isdigit() or len(form.get("cvc", "")) not in (3, 4):
            return self._card_form(
                origin, error="Enter the 3 or 4 digit security code.", values=kept
            )
        brand, behaviour = CARDS.get(
            number, ("visa" if number[0] == "4" else "mastercard", "succeed")
        )
        method: dict[str, Any] = {
            "id": new_id("pm"),
            "object": "payment_method",
            "type": "card",
            "customer": None,
            "card": {
                "brand": brand,
                "last4": number[-4:],
                "exp_month": exp_month,
                "exp_year": exp_year,
            },
            "_behaviour": behaviour,
        }
        with self.state.lock:
            self.state.methods[method["id"]] = method
        page = CARD_DONE.format(
            origin_json=json.dumps(origin),
            token_json=json.dumps(method["id"]),
            last4=html.escape(number[-4:]),
        )
        self._send(
            200,
            page.encode(),
            "text/html; charset=utf-8",
            {
                "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'"
            },
        )


def deliver(state: State, event: dict[str, Any], attempts: int = 3) -> None:
    """POST the signed event to the portal; a few tries, as a provider retries."""
    payload = json.dumps(event).encode()
    for attempt in range(attempts):
        request = urllib.request.Request(  # noqa: S310 - loopback URL from the command line
            state.webhook_url,
            data=payload,
            headers={
                "Content-Type": "application/json",
                "Stripe-Signature": sign_webhook(payload, state.webhook_secret),
            },
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                if response.status < 300:
                    return
        except OSError:
            pass
        time.sleep(1 + attempt)


CARD_FORM = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Card details</title>
<style>
body {{ font: 16px/1.4 system-ui, sans-serif; margin: 0; padding: 12px; color: #1b2733; background: #fff; }}
label {{ display: block; font-weight: 600; margin: 10px 0 4px; }}
input {{ box-sizing: border-box; width: 100%; font: inherit; padding: 10px; border: 1px solid #6b7785; border-radius: 6px; }}
.row {{ display: flex; gap: 10px; }} .row > div {{ flex: 1; }}
button {{ margin-top: 14px; width: 100%; font: inherit; font-weight: 600; padding: 11px; border: 0; border-radius: 6px; background: #0b5cad; color: #fff; }}
.error {{ color: #a4161a; font-weight: 600; }} .note {{ color: #4a5663; font-size: 13px; }}
</style></head>
<body>
<form method="post" action="/card-form" autocomplete="on">
{error}
<input type="hidden" name="origin" value="{origin}">
<label for="number">Card number</label>
<input id="number" name="number" inputmode="numeric" autocomplete="cc-number" maxlength="23" required>
<div class="row">
<div><label for="exp">Expiry (MM/YY)</label><input id="exp" name="exp" value="{exp}" inputmode="numeric" autocomplete="cc-exp" maxlength="7" required></div>
<div><label for="cvc">Security code</label><input id="cvc" name="cvc" inputmode="numeric" autocomplete="cc-csc" maxlength="4" required></div>
</div>
<label for="postal">ZIP code</label>
<input id="postal" name="postal" value="{postal}" autocomplete="postal-code" maxlength="10">
<button type="submit">Save card</button>
<p class="note">Test payment provider: card details stay with the provider.</p>
</form>
</body></html>
"""

CARD_DONE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Card saved</title>
<style>body {{ font: 16px/1.4 system-ui, sans-serif; margin: 0; padding: 12px; color: #1b2733; }}</style></head>
<body><p role="status">Card ending {last4} accepted. Finishing…</p>
<script>window.parent.postMessage({{type: "payment-method", id: {token_json}}}, {origin_json});</script>
</body></html>
"""


class ProviderServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up waiting (the slow card's timeout) is expected, not an error.
        return

    def __init__(self, address: tuple[str, int], state: State) -> None:
        super().__init__(address, Handler)
        self.state = state

    @property
    def url(self) -> str:
        port = self.server_address[1]
        return f"http://127.0.0.1:{port}"


def start_in_thread(state: State | None = None, port: int = 0) -> ProviderServer:
    """Serve on 127.0.0.1 (a free port by default) from a daemon thread (tests)."""
    server = ProviderServer(("127.0.0.1", port), state or State())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
