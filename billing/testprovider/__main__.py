"""`python -m billing.testprovider`: run the test payment provider on 127.0.0.1."""

from __future__ import annotations

import argparse
import contextlib
import os

from .server import ProviderServer, State


def main() -> None:
    parser = argparse.ArgumentParser(description="The portal's test payment provider")
    parser.add_argument("--port", type=int, default=int(os.getenv("PAYMENT_PROVIDER_PORT", "8001")))
    parser.add_argument("--webhook-url", default=os.getenv("PAYMENT_WEBHOOK_URL", ""))
    parser.add_argument(
        "--webhook-secret", default=os.getenv("PAYMENT_WEBHOOK_SECRET", "whsec_portal_dev")
    )
    parser.add_argument("--api-key", default=os.getenv("PAYMENT_API_KEY", "sk_test_portal"))
    parser.add_argument("--webhook-delay", type=float, default=0.5)
    parser.add_argument("--slow-seconds", type=float, default=15.0)
    args = parser.parse_args()
    state = State(
        api_key=args.api_key,
        webhook_url=args.webhook_url,
        webhook_secret=args.webhook_secret,
        webhook_delay=args.webhook_delay,
        slow_seconds=args.slow_seconds,
    )
    server = ProviderServer(("127.0.0.1", args.port), state)
    print(
        f"Test payment provider at {server.url}/  (card form: {server.url}/card-form)", flush=True
    )
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":
    main()
