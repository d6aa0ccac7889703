"""Settings for the specialty-pharmacy care portal.

One module. A fresh checkout runs with no environment variables (SQLite, in-memory channel
layer, local files, console email/SMS); production differs only through the environment
(see .env.example and README.md).
"""

import ipaddress
import os
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.getenv(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.getenv(name)
    return int(value) if value not in (None, "") else default


def env_secret(name: str, default: str = "") -> str:
    """Read NAME, or the file named by NAME_FILE (Docker secrets)."""
    if path := os.getenv(f"{name}_FILE"):
        return Path(path).read_text().strip()
    return os.getenv(name) or default


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.getenv(name, default).split(",") if item.strip()]


# Core
PLACEHOLDER_SECRET_KEY = "dev-only-insecure-secret-key-change-me"
DEBUG = env_bool("DEBUG", True)
SECRET_KEY = env_secret("SECRET_KEY", PLACEHOLDER_SECRET_KEY)
if not DEBUG and SECRET_KEY == PLACEHOLDER_SECRET_KEY:
    raise ImproperlyConfigured("Set SECRET_KEY (or SECRET_KEY_FILE) when DEBUG is off.")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SITE_URL = os.getenv("SITE_URL", "http://127.0.0.1:8000")
SUPPORT_EMAIL = os.getenv("SUPPORT_EMAIL", "portal-support@example.com")
PRODUCT_NAME = os.getenv("PRODUCT_NAME", "CareLink Specialty Portal")

INSTALLED_APPS = [
    # daphne first: its runserver serves ASGI (HTTP and websockets) in development.
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "channels",
    "django_htmx",
    "template_partials",
    "django_filters",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "csp",
    "django_tasks",
    # Before django_tasks_db: portal's `db_worker` (heartbeats, retries, time limits) wins.
    "portal",
    "django_tasks_db",
    "accounts",
    "audit",
    "prescriptions",
    "requests_chat",
    "notifications",
    "invites",
    "patient_portal",
    "questionnaires",
    "scheduling",
    "billing",
    "instructions",
    "records",
    "messaging",
]

MIDDLEWARE = [
    # /healthz and /readyz, before the HTTPS redirect, sessions, MFA and everything else.
    "portal.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Hardening: Cache-Control no-store on every dynamic response (above all that may answer),
    # then control characters refused before the session, auth or any view reads the input.
    "portal.middleware.NoStoreMiddleware",
    # Framing and CSP headers on every response, also those answered by the middlewares below
    # (a control-character 400, a role gate's 404), not only those of views.
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "portal.middleware.ControlCharacterMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "portal.middleware.TimeZoneMiddleware",
    "prescriptions.middleware.AccessCacheMiddleware",
    "accounts.middleware.MFARequiredMiddleware",
    "accounts.middleware.IdleTimeoutMiddleware",
    "portal.middleware.RoleGateMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # django-axes must be last: it turns lock-outs raised by authenticate() into responses.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = None
ASGI_APPLICATION = "portal.asgi.application"

TEMPLATES: list[dict[str, Any]] = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.portal",
            ],
            "builtins": ["portal.templatetags.times"],
        },
    },
]

# Database: SQLite by default, DATABASE_URL (postgres://…, psycopg 3) in production and CI.
DATABASES: dict[str, Any] = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": BASE_DIR / "db.sqlite3",
        # A file (not :memory:) so that ASGI server subprocesses in browser tests share it.
        "TEST": {"NAME": BASE_DIR / "test_db.sqlite3"},
        "OPTIONS": {"timeout": 20},
    }
}
if database_url := os.getenv("DATABASE_URL"):
    # Under ASGI every request runs in its own thread, so persistent connections (CONN_MAX_AGE)
    # pile up until PostgreSQL refuses more, and opening one per request costs more than the
    # dashboard query itself. psycopg's pool (Django ≥ 5.1) fixes both: a bounded set of
    # connections per process, borrowed per request. DB_POOL=false falls back to CONN_MAX_AGE.
    DATABASES = {
        "default": dj_database_url.parse(
            database_url, conn_max_age=env_int("DB_CONN_MAX_AGE", 0), conn_health_checks=True
        )
    }
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env_bool(
        "DB_POOL", True
    ):
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        # Django's backend, telling a busy pool (wait in line) from a database that is out
        # (fail fast): portal/postgresql/base.py.
        DATABASES["default"]["ENGINE"] = "portal.postgresql"
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            # Connections kept open: a new one starts with cold caches (its first queries are slow).
            "min_size": env_int("DB_POOL_MIN_SIZE", 4),
            "max_size": env_int("DB_POOL_MAX_SIZE", 10),
            "timeout": env_int("DB_POOL_TIMEOUT_SECONDS", 2),
        }

# Outages: fail fast while a service is out, recover by itself when it is back (portal/health.py).
# A database that does not answer costs a request DB_CONNECT_TIMEOUT_SECONDS (a new connection)
# or DB_POOL_TIMEOUT_SECONDS above (waiting for a pooled one), then the page is a 503 with
# Retry-After. A pool that is only busy (the database answers, every connection is in use) is a
# line, not an outage: a request waits up to DB_POOL_QUEUE_SECONDS for its turn
# (portal/postgresql/base.py). Pooled connections are checked before use (CONN_HEALTH_CHECKS),
# and the pool retries a lost server every DB_POOL_RECONNECT_SECONDS (psycopg's own back-off
# doubles up to minutes: pages kept failing long after the server was back; see portal.asgi).
DB_CONNECT_TIMEOUT_SECONDS = env_int("DB_CONNECT_TIMEOUT_SECONDS", 2)
DB_POOL_RECONNECT_SECONDS = float(os.getenv("DB_POOL_RECONNECT_SECONDS") or 0.25)
DB_POOL_QUEUE_SECONDS = float(os.getenv("DB_POOL_QUEUE_SECONDS") or 20)
if DATABASES["default"]["ENGINE"] in {"django.db.backends.postgresql", "portal.postgresql"}:
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = DB_CONNECT_TIMEOUT_SECONDS
# A web process's GIL switch interval (portal/warmup.py): a view's thread running Python hands
# the interpreter to the event loop (websocket pushes) after at most this long. Python's 5 ms
# held a chat push's fan-out behind the sending view's after-push work.
GIL_SWITCH_INTERVAL_MS = float(os.getenv("GIL_SWITCH_INTERVAL_MS") or 1)
# Readiness (/readyz): each check's deadline.
READINESS_TIMEOUT_SECONDS = float(os.getenv("READINESS_TIMEOUT_SECONDS") or 2)
# S3: a store that does not answer fails an upload within seconds (a clear message, nothing
# stored), instead of botocore's 60 s timeouts and its retries: see "Outbound calls" below.

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Channel layer and cache: in-process by default, Redis when REDIS_URL is set.
REDIS_URL = os.getenv("REDIS_URL", "")
CHANNEL_LAYERS: dict[str, Any] = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": os.getenv("CHANNEL_PREFIX", "asgi")},
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.getenv("CACHE_PREFIX", "portal"),
        }
    }

# Authentication: email login, strong passwords, lock-out (django-axes), mandatory TOTP.
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "accounts.validators.CharacterClassValidator"},
]
LOGIN_URL = "accounts:login"
# "home" sends each user on to the first page their role can use.
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"
OTP_TOTP_ISSUER = PRODUCT_NAME
OTP_TOTP_TOLERANCE = 1

# Client address and sign-in lock-out (accounts; portal/security.py). X-Forwarded-For is
# believed only from TRUSTED_PROXIES (addresses or CIDRs of our own proxy: nginx in compose);
# the client is the right-most hop that is not one of them. Unset = no proxy, REMOTE_ADDR.
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES")
for _proxy in TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_proxy, strict=False)
    except ValueError as _error:
        raise ImproperlyConfigured(f"TRUSTED_PROXIES: {_error}") from None
AXES_CLIENT_IP_CALLABLE = "portal.security.client_ip"
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_int("AXES_COOLOFF_MINUTES", 30) / 60  # hours
# By account from any address: rotating addresses buys no guesses. (The account+address rule
# adds nothing under one shared limit; axes' check W006 asks for an address rule.) The real
# user is not shut out meanwhile: the lock-out page offers a sign-in link by email, and the
# second factor is still asked.
AXES_LOCKOUT_PARAMETERS = ["username", ["username", "ip_address"]]
AXES_USERNAME_FORM_FIELD = "username"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_VERBOSE = False
# Email sign-in links (while the password is locked): lifetime, and requests per window.
SIGN_IN_LINK_MINUTES = env_int("SIGN_IN_LINK_MINUTES", 15)
SIGN_IN_LINK_REQUESTS_PER_EMAIL = env_int("SIGN_IN_LINK_REQUESTS_PER_EMAIL", 3)
SIGN_IN_LINK_REQUESTS_PER_CLIENT = env_int("SIGN_IN_LINK_REQUESTS_PER_CLIENT", 10)
# Sudo mode: security actions (new recovery codes, email change, …) ask for the password or
# a fresh code again unless the user gave one within this many minutes.
SUDO_MINUTES = env_int("SUDO_MINUTES", 5)

# Sessions: idle sessions end server-side after SESSION_IDLE_MINUTES (warning shown first).
SESSION_IDLE_MINUTES = env_int("SESSION_IDLE_MINUTES", 15)
SESSION_IDLE_WARNING_SECONDS = env_int("SESSION_IDLE_WARNING_SECONDS", 120)
SESSION_COOKIE_AGE = SESSION_IDLE_MINUTES * 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Sessions live in the database. `cached_db` on Redis saves one query per request, but then a
# Redis outage fails every page (the session read raises; measured: 500s on the chat during a
# Redis restart) and a sign-out during the outage cannot delete the cached copy, which comes
# back with Redis. So it is only an opt-in (SESSION_ENGINE), never with the per-process
# local-memory cache (another process would keep a deleted session).
SESSION_ENGINE = os.getenv("SESSION_ENGINE", "django.contrib.sessions.backends.db")

# Security headers; HTTPS-only cookies and HSTS when not in DEBUG.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Nothing is framed except the PDF document view (it uses @xframe_options_sameorigin).
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# Content Security Policy (django-csp): no inline script, no third-party origin.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        # 'self' covers ws(s):// to this host (CSP Level 3); no other host may be reached.
        "connect-src": ["'self'"],
        "frame-src": ["'self'", "blob:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'self'"],
    }
}

# Outbound calls: every call to another service has a deadline. A provider that accepts the
# connection and never answers then costs one task attempt at most this long (the worker
# retries it with backoff, see portal/worker.py) instead of holding the worker for good.
# The payment provider gets the same treatment (PAYMENT_TIMEOUT_SECONDS, under "Billing" below;
# no client-side retries: a retry reuses the payment's idempotency key); see "Billing" in
# docs/ARCHITECTURE.md.
EMAIL_TIMEOUT = env_int(
    "EMAIL_TIMEOUT_SECONDS", 10
)  # Django's SMTP backend: connect and each reply
SMS_TIMEOUT = env_int("SMS_TIMEOUT_SECONDS", 10)  # invites.sms.HTTPSMSBackend (urllib)
S3_CONNECT_TIMEOUT = env_int("S3_CONNECT_TIMEOUT_SECONDS", 2)
S3_READ_TIMEOUT = env_int("S3_READ_TIMEOUT_SECONDS", 10)
S3_MAX_ATTEMPTS = env_int("S3_MAX_ATTEMPTS", 2)  # botocore's own retries, first try included
# A task attempt that outlives this is interrupted and retried (the backstop for a call that has
# no deadline of its own); attempts per task and the backoff before each retry.
TASK_TIME_LIMIT = env_int("TASK_TIME_LIMIT_SECONDS", 120)
TASK_MAX_ATTEMPTS = env_int("TASK_MAX_ATTEMPTS", 5)
TASK_RETRY_BACKOFF = env_int("TASK_RETRY_BACKOFF_SECONDS", 15)  # doubled after each failure
# Workers beat every TASK_HEARTBEAT seconds; a task whose worker has not beaten for
# TASK_WORKER_LOST seconds (at most 60) is queued again by any other worker.
TASK_HEARTBEAT = env_int("TASK_HEARTBEAT_SECONDS", 10)
TASK_WORKER_LOST = min(env_int("TASK_WORKER_LOST_SECONDS", 30), 60)
# Create POSTs answered again from their first answer for this long (portal/idempotency.py).
IDEMPOTENCY_KEY_HOURS = env_int("IDEMPOTENCY_KEY_HOURS", 24)

# Static files (WhiteNoise) and uploaded documents (local disk, or S3 when S3_BUCKET is set).
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise warns at start-up when it is missing
MEDIA_ROOT = Path(os.getenv("MEDIA_ROOT", BASE_DIR / "media"))
# No MEDIA_URL route exists: documents are only served by access-checked views.
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": MEDIA_ROOT, "base_url": "/no-public-media/"},
    },
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
if s3_bucket := os.getenv("S3_BUCKET"):
    from botocore.config import Config as BotoConfig

    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": s3_bucket,
            "endpoint_url": os.getenv("S3_ENDPOINT_URL") or None,
            "region_name": os.getenv("S3_REGION", "us-east-1"),
            "access_key": env_secret("S3_ACCESS_KEY_ID") or None,
            "secret_key": env_secret("S3_SECRET_ACCESS_KEY") or None,
            "default_acl": "private",
            "querystring_auth": True,
            "querystring_expire": env_int("S3_URL_EXPIRE_SECONDS", 60),
            "file_overwrite": False,
            "addressing_style": os.getenv("S3_ADDRESSING_STYLE", "path"),
            "signature_version": "s3v4",
            # A client config replaces django-storages' own: addressing style and signature
            # version must be repeated in it.
            "client_config": BotoConfig(
                s3={"addressing_style": os.getenv("S3_ADDRESSING_STYLE", "path")},
                signature_version="s3v4",
                connect_timeout=S3_CONNECT_TIMEOUT,
                read_timeout=S3_READ_TIMEOUT,
                retries={"total_max_attempts": S3_MAX_ATTEMPTS, "mode": "standard"},
            ),
            "object_parameters": {"ServerSideEncryption": "AES256"}
            if env_bool("S3_SSE", False)
            else {},
        },
    }
DOCUMENT_MAX_BYTES = env_int("DOCUMENT_MAX_MB", 20) * 1024 * 1024
# All the documents of one message together (keep the proxy's client_max_body_size above it).
DOCUMENT_MAX_TOTAL_BYTES = env_int("DOCUMENT_MAX_TOTAL_MB", 50) * 1024 * 1024
# Requests (chat): on S3 the PDF viewer frames a presigned URL, so allow that origin to be framed.
if os.getenv("S3_BUCKET"):
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["frame-src"].append(
        os.getenv("S3_ENDPOINT_URL") or "https://*.amazonaws.com"
    )
# Channels over Redis pub/sub: a group message is published once and each process hands it to
# its own sockets (the core layer writes one Redis list entry per socket and each process pops
# them one by one). Faster fan-out, measured in "Chat delivery" in docs/PERFORMANCE.md. Pub/sub
# is at-most-once; pages catch up by last seen id on reconnect and poll when the socket is down.
# CHANNEL_LAYER=core goes back to channels_redis' list-based core layer.
if REDIS_URL and (os.getenv("CHANNEL_LAYER") or "pubsub") == "pubsub":
    CHANNEL_LAYERS["default"]["BACKEND"] = "channels_redis.pubsub.RedisPubSubChannelLayer"
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# Email and SMS: console by default; SMTP and an HTTP SMS provider from the environment.
EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = os.getenv("DEFAULT_FROM_EMAIL", "CareLink Portal <no-reply@example.com>")
if email_host := os.getenv("EMAIL_HOST"):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = email_host
    EMAIL_PORT = env_int("EMAIL_PORT", 587)
    EMAIL_HOST_USER = os.getenv("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = env_secret("EMAIL_HOST_PASSWORD")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
SMS_BACKEND = os.getenv("SMS_BACKEND", "invites.sms.ConsoleSMSBackend")
SMS_PROVIDER_URL = os.getenv("SMS_PROVIDER_URL", "")
SMS_PROVIDER_TOKEN = env_secret("SMS_PROVIDER_TOKEN")

# Background tasks (Django's tasks API): run inline in development and tests, a database queue
# and `manage.py db_worker` in production.
TASKS = {
    "default": {
        "BACKEND": os.getenv("TASKS_BACKEND", "django_tasks.backends.immediate.ImmediateBackend")
    }
}

# Product rules
INVITE_EXPIRY_DAYS = env_int("INVITE_EXPIRY_DAYS", 14)
DELEGATE_INVITE_MAX_AGE_DAYS = env_int("DELEGATE_INVITE_MAX_AGE_DAYS", 7)

# Accounts: second-factor lock-out, registration identity-check limits, file email for tests.
MFA_FAILURE_LIMIT = env_int("MFA_FAILURE_LIMIT", 5)
REGISTRATION_VERIFY_MAX_ATTEMPTS = env_int("REGISTRATION_VERIFY_MAX_ATTEMPTS", 3)
REGISTRATION_VERIFY_MAX_ATTEMPTS_PER_CLIENT = env_int(
    "REGISTRATION_VERIFY_MAX_ATTEMPTS_PER_CLIENT", 10
)
REGISTRATION_VERIFY_WINDOW_MINUTES = env_int("REGISTRATION_VERIFY_WINDOW_MINUTES", 24 * 60)
if email_file_path := os.getenv("EMAIL_FILE_PATH"):
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = email_file_path
DASHBOARD_PAGE_SIZE = env_int("DASHBOARD_PAGE_SIZE", 25)

# Billing: the payment provider ("test": billing/testprovider on 127.0.0.1; "stripe": the
# stripe package, whose api_base is the same loopback server unless PAYMENT_API_BASE says
# otherwise), its card form's origin (framed by the Add card page only), webhook signing,
# and the deadline of every provider call.
PAYMENT_PROVIDER = os.getenv("PAYMENT_PROVIDER", "test")
PAYMENT_PROVIDER_ORIGIN = os.getenv("PAYMENT_PROVIDER_ORIGIN", "http://127.0.0.1:8001")
PAYMENT_API_BASE = os.getenv("PAYMENT_API_BASE", PAYMENT_PROVIDER_ORIGIN)
PAYMENT_API_KEY = env_secret("PAYMENT_API_KEY", "sk_test_portal")
PAYMENT_WEBHOOK_SECRET = env_secret("PAYMENT_WEBHOOK_SECRET", "whsec_portal_dev")
PAYMENT_WEBHOOK_TOLERANCE_SECONDS = env_int("PAYMENT_WEBHOOK_TOLERANCE_SECONDS", 300)
PAYMENT_TIMEOUT_SECONDS = env_int("PAYMENT_TIMEOUT_SECONDS", 10)
BILLING_CURRENCY = "usd"

# Internationalisation
LANGUAGE_CODE = "en-us"
TIME_ZONE = os.getenv("TIME_ZONE", "America/New_York")
USE_I18N = True
USE_TZ = True

# Logging: to stderr, one line per record. Query strings are redacted (search parameters hold
# patient names and birth dates): on the console handler, and on the servers' request-line
# loggers by portal.http.configure_logging (SAFE_PARAMETERS such as page and sort keep values).
LOGGING_CONFIG = "portal.http.configure_logging"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_query": {"()": "portal.http.RedactQueryStrings"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["redact_query"]}},
    "root": {"handlers": ["console"], "level": os.getenv("LOG_LEVEL", "WARNING")},
    # Django's own default config gives the "django" logger a console handler of its own, so
    # each of its records (the development server's request lines, the reloader) would also
    # reach the root handler and print twice. Here they print once, through the root; the
    # development server shows its request lines, a production process what LOG_LEVEL lets by.
    "loggers": {
        "django": {
            "handlers": [],
            "level": "INFO" if DEBUG else os.getenv("LOG_LEVEL", "WARNING"),
            "propagate": True,
        },
    },
}
