"""Orbit settings. Everything secret or site-specific comes from the environment."""

import os
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

from orbit.embedded import read_env_file

BASE_DIR = Path(__file__).resolve().parent.parent

_embedded = read_env_file()


def env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(name) or _embedded.get(name) or default


TESTING = env("ORBIT_TESTING") == "1"
DEBUG = env("ORBIT_DEBUG", "0") == "1"
SECRET_KEY = env("ORBIT_SECRET_KEY") or ("insecure-dev-key-only-for-local-runs" if not env("ORBIT_PRODUCTION") else None)
if not SECRET_KEY:
    raise RuntimeError("ORBIT_SECRET_KEY must be set in production")

ORBIT_BASE_DOMAIN = env("ORBIT_BASE_DOMAIN", "localhost")
# Hosts that serve the platform (public schema): the operator's admin.
ORBIT_PLATFORM_HOSTS = [h for h in (env("ORBIT_PLATFORM_HOSTS", "") or "").split(",") if h] + [
    ORBIT_BASE_DOMAIN,
    "127.0.0.1",
]
# Tenant routing is the host allow-list: an unknown host gets a 404 page.
ALLOWED_HOSTS = ["*"]

if not env("DATABASE_URL"):
    raise RuntimeError(
        "No database configured: set DATABASE_URL or start the embedded services with "
        "`python -m orbit.embedded up` (make run / make test do it for you)."
    )
REDIS_URL = env("REDIS_URL")

SHARED_APPS = [
    # tenants first: its migrate_schemas (which also migrates the template) wins.
    "tenants",
    "django_tenants",
    "billing",
    "branding",  # public schema: brands are inherited partner → client without reading other schemas
    "accounts",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.admin",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
]
TENANT_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.admin",
    "accounts",
    "chat",
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenants.Organization"
TENANT_DOMAIN_MODEL = "tenants.Domain"
# The migrated, empty schema new tenants are cloned from (see tenants/provisioning).
ORBIT_TEMPLATE_SCHEMA = "orbit_template"
ORBIT_POOL_SIZE = int(env("ORBIT_POOL_SIZE", "3"))
PUBLIC_SCHEMA_URLCONF = "orbit.urls_public"
ROOT_URLCONF = "orbit.urls_tenants"
DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]
# Send `SET search_path` only when the schema changes, not before every query.
TENANT_LIMIT_SET_CALLS = True

MIDDLEWARE = [
    "orbit.middleware.HealthCheckMiddleware",
    "tenants.middleware.TenantRoutingMiddleware",
    "billing.ratelimit.RateLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.UserLanguageMiddleware",  # a logged-in person's own language wins
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "orbit.lib.errors.OrbitErrorMiddleware",  # an OrbitError escaping an /api/ view: the API envelope
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "branding.context_processors.brand",
            ],
        },
    }
]

WSGI_APPLICATION = None
ASGI_APPLICATION = "orbit.asgi.application"

_db = dj_database_url.parse(env("DATABASE_URL"), conn_max_age=0)
_db["ENGINE"] = "django_tenants.postgresql_backend"
# ORBIT_TEST_SLOT lets several suites run side by side on one machine, each on its own
# test database and Redis databases.
TEST_SLOT = int(env("ORBIT_TEST_SLOT", "0"))
_db.setdefault("TEST", {})["NAME"] = f"test_{_db['NAME']}" + (f"_{TEST_SLOT}" if TEST_SLOT else "")
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "accounts:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Redis: one server, separate logical databases, tests on their own numbers.
_redis_db = (
    {"cache": 1, "celery": 2, "results": 3}
    if not TESTING
    else {"cache": 11 + 3 * TEST_SLOT, "celery": 12 + 3 * TEST_SLOT, "results": 13 + 3 * TEST_SLOT}
)
CACHES = {
    # Tenant-scoped: django-tenants' key function prefixes every key with the schema.
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": f"{REDIS_URL}/{_redis_db['cache']}",
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
        "OPTIONS": {"socket_timeout": 5, "socket_connect_timeout": 5},
    },
    # Platform-wide entries (host routing, explicit per-tenant keys such as rate limits):
    # keys are built in one place each and carry the tenant themselves.
    "shared": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": f"{REDIS_URL}/{_redis_db['cache']}",
        "KEY_PREFIX": "shared",
        "OPTIONS": {"socket_timeout": 5, "socket_connect_timeout": 5},
    },
}
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env("ORBIT_SECURE_COOKIES", "0") == "1"
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# Links in e-mails (password reset, invitations) go to the tenant's primary domain, never to the
# request's Host: https behind TLS (ORBIT_SECURE_COOKIES), on this port if not the scheme's default.
ORBIT_PUBLIC_PORT = env("ORBIT_PUBLIC_PORT", "") or ""

# Channels: the pub/sub layer (~0.35 ms a send here, against ~2.1 ms for the core layer),
# with orbit.lib.channel_layer's lock-free and batched publishes.
# redis-py 8 kills idle sockets after 5 s and caps the pool at 100 as channels-redis
# ships it, so both are set explicitly.
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "orbit.lib.channel_layer.OrbitPubSubChannelLayer",
        "CONFIG": {
            "hosts": [{"address": f"{REDIS_URL}/0", "socket_timeout": None, "max_connections": 20000}],
            "prefix": f"orbit_test{TEST_SLOT}" if TESTING else "orbit",
        },
    }
}

CELERY_BROKER_URL = f"{REDIS_URL}/{_redis_db['celery']}"
CELERY_RESULT_BACKEND = f"{REDIS_URL}/{_redis_db['results']}"
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
# Keep Django's JSON logging (with the tenant) in workers instead of Celery's own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE = {
    "refill-schema-pool": {"task": "tenants.tasks.schema_pool_refill", "schedule": 60.0},
}

LANGUAGE_CODE = "pt-br"
LANGUAGES = [("pt-br", _("Português (Brasil)")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "America/Sao_Paulo"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": BASE_DIR / "var" / "media"}},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

EMAIL_BACKEND = env("ORBIT_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env("ORBIT_DEFAULT_FROM_EMAIL", "Orbit <no-reply@orbit.localhost>")

X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"tenant": {"()": "orbit.lib.logging.TenantFilter"}},
    "formatters": {
        "json": {
            "()": "orbit.lib.logging.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(tenant)s",
        }
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["tenant"]},
    },
    "root": {"handlers": ["console"], "level": env("ORBIT_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django.request": {"level": "ERROR"},
    },
}

# --- billing: metering, limits and rate limits (billing/README.md) ---------------------
# Billing periods are calendar months in TIME_ZONE; a period stays "closing" this long
# after its end (meters still recomputed) before it becomes final.
BILLING_PERIOD_GRACE_SECONDS = int(env("ORBIT_BILLING_GRACE_SECONDS", "3600"))
# Cached usage counters (shared cache) live this long before they are re-read from the ledger.
BILLING_COUNTER_TTL = 600
# Rate limits: django-ratelimit on the shared cache; billing builds every key with the tenant.
RATELIMIT_USE_CACHE = "shared"
RATELIMIT_CACHE_PREFIX = "rl:"
RATELIMIT_FAIL_OPEN = True  # a Redis hiccup must not lock every tenant out
BILLING_BURST_WINDOW_SECONDS = 10
# Widget endpoints: per tenant and visitor IP (long window, burst window).
BILLING_WIDGET_RATE = "120/m"
BILLING_WIDGET_BURST = "30/10s"
# Login attempts (POST) per tenant and account, and per tenant and IP.
BILLING_LOGIN_ACCOUNT_RATE = "10/5m"
BILLING_LOGIN_IP_RATE = "30/5m"
BILLING_LOGIN_PATHS = ("/accounts/login/", "/admin/login/")
# Token-API calls (/api/… but the widget's) whose credential was refused, per tenant and client IP:
# they never spend the tenant's API quota (billing.ratelimit.bad_credentials_rule).
BILLING_API_BAD_CREDENTIALS_RATE = "30/5m"
# Human-facing views, limited by django-ratelimit decorators (billing.ratelimit.throttle; keys
# with the tenant): password-reset requests per tenant and IP / e-mail asked for, invitations
# per tenant and IP / inviting person, widget sessions per tenant and IP / visitor identity.
BILLING_PASSWORD_RESET_IP_RATE = "20/h"
BILLING_PASSWORD_RESET_ACCOUNT_RATE = "5/h"
BILLING_INVITE_IP_RATE = "60/h"
BILLING_INVITE_ACCOUNT_RATE = "30/h"
BILLING_WIDGET_SESSION_IP_RATE = "30/m"
BILLING_WIDGET_SESSION_ACCOUNT_RATE = "10/m"
# Behind a reverse proxy (docker/nginx.conf): the header carrying the client's address for
# the per-IP limits (login, widget; billing.ratelimit.client_ip). Unset: REMOTE_ADDR, and
# any such header a client sends is ignored. "X-Forwarded-For": its right-most address not
# in ORBIT_TRUSTED_PROXIES (comma-separated IPs or CIDRs of proxies in front of the one
# that connects to Orbit); any other name (X-Real-IP): its value. Set it only when every
# request reaches Orbit through that proxy.
ORBIT_TRUSTED_PROXY_IP_HEADER = env("ORBIT_TRUSTED_PROXY_IP_HEADER") or None
# Every proxy in front of Orbit (IPs/CIDRs): uvicorn believes X-Forwarded-For/-Proto only from
# these (orbit/run.py proxy_flags), and X-Forwarded-For's right-most address not listed is the client.
ORBIT_TRUSTED_PROXIES = [p.strip() for p in (env("ORBIT_TRUSTED_PROXIES", "") or "").split(",") if p.strip()]
# Websocket frames per connection (chat.consumers.base.FrameLimiter defaults).
BILLING_WS_FRAMES_PER_SECOND = 10.0
BILLING_WS_FRAME_BURST = 30
# Cached usage counters fed by hot-path ledger rows (chat messages) are updated in one
# Redis round trip per this many seconds per process, not one per message (0: at once).
BILLING_COUNTER_DEFER_SECONDS = 0 if TESTING else float(env("ORBIT_BILLING_COUNTER_DEFER_SECONDS", "0.2"))
# Invoicing (billing/README.md, "Invoices"): the platform's name and number prefix on its
# invoices, days to pay, partners' default wholesale discount, and the dunning clock.
BILLING_ISSUER_NAME = env("ORBIT_BILLING_ISSUER_NAME", "Orbit Atendimento Ltda")
BILLING_INVOICE_PREFIX = env("ORBIT_BILLING_INVOICE_PREFIX", "ORB")
BILLING_DUE_DAYS = int(env("ORBIT_BILLING_DUE_DAYS", "7"))
BILLING_WHOLESALE_DISCOUNT = env("ORBIT_BILLING_WHOLESALE_DISCOUNT", "40")
BILLING_DUNNING_PAST_DUE_DAYS = int(env("ORBIT_BILLING_DUNNING_PAST_DUE_DAYS", "3"))
BILLING_DUNNING_GRACE_DAYS = int(env("ORBIT_BILLING_DUNNING_GRACE_DAYS", "7"))
CELERY_BEAT_SCHEDULE |= {
    "billing-meters-recompute": {"task": "billing.tasks.meters_recompute_open", "schedule": 300.0},
    "billing-periods-advance": {"task": "billing.tasks.periods_advance", "schedule": 900.0},
    # idempotent: each runs over what is due and does each thing once
    "billing-period-close": {"task": "billing.tasks.period_close_last", "schedule": 3600.0},
    "billing-subscriptions-advance": {"task": "billing.tasks.subscriptions_advance", "schedule": 3600.0},
    "billing-dunning": {"task": "billing.tasks.dunning_advance", "schedule": 3600.0},
    "billing-notices": {"task": "tenants.tasks.billing_notices_send", "schedule": 60.0},
}

# --- Stripe (optional; billing/stripe, billing/README.md "Stripe") ----------------------
# Without ORBIT_STRIPE_SECRET_KEY nothing Stripe runs and dj-stripe is not even installed:
# invoices are paid by hand. With it, Orbit's open invoices are pushed to Stripe to collect
# and dj-stripe's webhook endpoint (/stripe/webhook/<uuid>/ on the platform host) reports
# the outcome. dj-stripe lives in the public schema only (SHARED_APPS).
ORBIT_STRIPE_SECRET_KEY = env("ORBIT_STRIPE_SECRET_KEY", "") or ""
# The endpoint's signing secret (whsec_…, from the Stripe dashboard or `stripe listen`).
ORBIT_STRIPE_WEBHOOK_SECRET = env("ORBIT_STRIPE_WEBHOOK_SECRET", "") or ""
# Another API server (development: localstripe). Unset: Stripe's own.
ORBIT_STRIPE_API_BASE = env("ORBIT_STRIPE_API_BASE", "") or ""
# How invoices may be paid: "card" (charged off-session with the saved card) and, where the
# account has them enabled, "boleto" and "pix" (the customer pays the PaymentIntent).
ORBIT_STRIPE_PAYMENT_METHOD_TYPES = [
    t.strip() for t in (env("ORBIT_STRIPE_PAYMENT_METHOD_TYPES", "card") or "card").split(",") if t.strip()
]
if ORBIT_STRIPE_SECRET_KEY or TESTING:
    SHARED_APPS.append("djstripe")
    INSTALLED_APPS.append("djstripe")
    DJSTRIPE_FOREIGN_KEY_TO_FIELD = "id"
    STRIPE_LIVE_MODE = ORBIT_STRIPE_SECRET_KEY.startswith(("sk_live_", "rk_live_"))
    STRIPE_LIVE_SECRET_KEY = ORBIT_STRIPE_SECRET_KEY if STRIPE_LIVE_MODE else ""
    STRIPE_TEST_SECRET_KEY = "" if STRIPE_LIVE_MODE else ORBIT_STRIPE_SECRET_KEY
    if ORBIT_STRIPE_API_BASE:
        STRIPE_API_HOST = ORBIT_STRIPE_API_BASE  # dj-stripe's own calls go there too
if ORBIT_STRIPE_SECRET_KEY:
    # Orbit handles each verified event from its payload (billing.stripe.webhooks says why).
    DJSTRIPE_WEBHOOK_EVENT_CALLBACK = "billing.stripe.webhooks.webhook_trigger_process"
    CELERY_BEAT_SCHEDULE |= {
        # plans → Products/Plans and the webhook endpoint's row; idempotent
        "billing-stripe-sync": {"task": "billing.tasks.stripe_sync", "schedule": 3600.0},
    }
if TESTING:
    # dj-stripe's own migrations cost minutes of CPU on every fresh test database; the suite
    # builds the same tables from one migration generated from the same models
    # (tests/billing/stripe/test_djstripe_schema.py keeps the two equal).
    MIGRATION_MODULES = {"djstripe": "tests.billing.stripe.djstripe_schema.migrations"}
    if not ORBIT_STRIPE_API_BASE:
        STRIPE_API_HOST = "http://127.0.0.1:9"  # a test never reaches api.stripe.com (refused at once)
        SILENCED_SYSTEM_CHECKS = ["djstripe.W002"]  # "STRIPE_API_HOST is set": on purpose, above

# --- branding, custom domains, support access (issue 5) ---------------------------------
# Custom-domain ownership is proven by a DNS TXT record; tests inject their own resolver.
ORBIT_DNS_RESOLVER = env("ORBIT_DNS_RESOLVER", "tenants.dns.DnsPythonResolver")

# --- chat (issue 3) ---------------------------------------------------------------------
# Database connections come from a pool (psycopg_pool through Django's OPTIONS["pool"]).
# Under ASGI each HTTP request runs its sync code on a thread of its own, so Django's
# persistent connections (CONN_MAX_AGE) would mean a new PostgreSQL connection — a new
# server process — per request (bench/noisy_neighbour.py: p50 51 → 30 ms). The websocket
# consumers' database threads keep the connection they take (orbit.lib.tenancy), so a
# message costs no checkout and no `SET search_path`. Tests use plain connections
# (CONN_MAX_AGE 0): their threads come and go with each test.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env("ORBIT_DB_CONN_HEALTH_CHECKS", "1") == "1"
if TESTING or env("ORBIT_DB_POOL", "1") != "1":
    DATABASES["default"]["CONN_MAX_AGE"] = 0 if TESTING else int(env("ORBIT_DB_CONN_MAX_AGE", "60"))
else:
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # pooling replaces persistent connections
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 4,  # a web process's websocket database threads hold one each
        "max_size": int(env("ORBIT_DB_POOL_MAX", "16")),  # per process: web workers, Celery worker, beat
        "timeout": 10,
    }
# The websocket send statement's own connections (orbit.lib.adb), per web process, beside the pool above.
ORBIT_DB_ASYNC_POOL_MAX = int(env("ORBIT_DB_ASYNC_POOL_MAX", "8"))
# Largest single upload (the plan's storage quota is checked separately, by billing.limits).
ORBIT_CHAT_MAX_UPLOAD_BYTES = int(env("ORBIT_CHAT_MAX_UPLOAD_BYTES", str(10 * 1024 * 1024)))
# An agent with no live socket stays online this long (a reload is not "offline").
ORBIT_CHAT_PRESENCE_GRACE = int(env("ORBIT_CHAT_PRESENCE_GRACE", "30"))
CELERY_BEAT_SCHEDULE |= {
    "chat-auto-resolve": {"task": "chat.tasks.conversations_auto_resolve", "schedule": 300.0},
}

# --- tenant data: storage, backups, exports, LGPD (issue 15) -----------------------------
# Files (attachments, brand assets, backups, exports) go through Django's default storage:
# the local filesystem (var/media) unless ORBIT_S3_BUCKET is set, then S3 (or any
# S3-compatible server at ORBIT_S3_ENDPOINT_URL) through django-storages. Objects are
# private; a URL to one is presigned for ORBIT_S3_SIGNED_URL_SECONDS and handed out only
# after Orbit checked the viewer (orbit.lib.storage.signed_url).
ORBIT_S3_BUCKET = env("ORBIT_S3_BUCKET", "") or ""
ORBIT_S3_ENDPOINT_URL = env("ORBIT_S3_ENDPOINT_URL", "") or None
ORBIT_S3_REGION = env("ORBIT_S3_REGION", "us-east-1")
ORBIT_S3_ACCESS_KEY_ID = env("ORBIT_S3_ACCESS_KEY_ID", "") or None
ORBIT_S3_SECRET_ACCESS_KEY = env("ORBIT_S3_SECRET_ACCESS_KEY", "") or None
ORBIT_S3_ADDRESSING_STYLE = env("ORBIT_S3_ADDRESSING_STYLE", "path")  # path | virtual
ORBIT_S3_SIGNED_URL_SECONDS = int(env("ORBIT_S3_SIGNED_URL_SECONDS", "300"))


def s3_storage_options(bucket: str) -> dict:
    """django-storages' S3Storage options for `bucket` (the storage migration command builds
    its target from this too)."""
    return {
        "bucket_name": bucket,
        "endpoint_url": ORBIT_S3_ENDPOINT_URL,
        "region_name": ORBIT_S3_REGION,
        "access_key": ORBIT_S3_ACCESS_KEY_ID,
        "secret_key": ORBIT_S3_SECRET_ACCESS_KEY,
        "addressing_style": ORBIT_S3_ADDRESSING_STYLE,
        "signature_version": "s3v4",
        "default_acl": "private",
        "querystring_auth": True,
        "querystring_expire": ORBIT_S3_SIGNED_URL_SECONDS,
        "file_overwrite": False,
        "object_parameters": {"CacheControl": "private"},
    }


if ORBIT_S3_BUCKET:
    STORAGES["default"] = {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": s3_storage_options(ORBIT_S3_BUCKET)}

# Backups and exports are encrypted (AES-256-GCM) with ORBIT_BACKUP_KEY: 32 random bytes,
# base64 (`python -c "import os,base64;print(base64.b64encode(os.urandom(32)).decode())"`).
# ORBIT_BACKUP_OLD_KEYS (comma-separated) still decrypt after a key change. Without a key,
# development derives one from the secret key; production refuses to back up without one.
ORBIT_BACKUP_KEY = env("ORBIT_BACKUP_KEY", "") or ""
ORBIT_BACKUP_OLD_KEYS = [k.strip() for k in (env("ORBIT_BACKUP_OLD_KEYS", "") or "").split(",") if k.strip()]
ORBIT_PRODUCTION = env("ORBIT_PRODUCTION", "") == "1"
# Scheduled backups kept per kind ("daily=7,weekly=4,monthly=12"), and per plan code
# ("starter:daily=3,weekly=2,monthly=3;enterprise:daily=14,weekly=8,monthly=24").
ORBIT_BACKUP_RETENTION = env("ORBIT_BACKUP_RETENTION", "daily=7,weekly=4,monthly=12")
ORBIT_BACKUP_RETENTION_PLANS = env("ORBIT_BACKUP_RETENTION_PLANS", "") or ""
# PostgreSQL client tools (pg_dump, pg_restore, psql) matching the server; unset: found
# by the server's version (tenants.data.pgtools).
ORBIT_PG_BIN = env("ORBIT_PG_BIN", "") or ""
# Chat's LGPD settings (per-tenant conversation retention) live in a tenant app of their own.
TENANT_APPS.append("chat.privacy")
INSTALLED_APPS.append("chat.privacy")
CELERY_BEAT_SCHEDULE |= {
    # one backup a day per tenant (kind by calendar: monthly, weekly, daily), then retention
    "tenants-backup-daily": {"task": "tenants.tasks.backups_daily", "schedule": 3600.0},
    # per-tenant conversation retention (chat privacy settings), audited
    "chat-retention": {"task": "chat.tasks.retention_apply_all", "schedule": 3600.0 * 6},
}

# --- security: 2FA, audit, secrets at rest, sessions (issue 12, "Also build") -----------
# Stored secrets (inbox HMAC secrets, TOTP seeds, any credential kept in a row) are encrypted
# with ORBIT_SECRETS_KEY (a Fernet key: `python manage.py secrets generate-key`). To rotate:
# set the new key, move the old one to ORBIT_SECRETS_OLD_KEYS (comma-separated: still read),
# run `python manage.py secrets rotate`, then drop the old key. Without a key, development and
# tests derive one from SECRET_KEY (accounts.crypto.development_key); production refuses.
ORBIT_SECRETS_KEY = env("ORBIT_SECRETS_KEY", "") or ""
ORBIT_SECRETS_OLD_KEYS = [k.strip() for k in (env("ORBIT_SECRETS_OLD_KEYS", "") or "").split(",") if k.strip()]
ORBIT_SECRETS_KEY_REQUIRED = env("ORBIT_PRODUCTION", "") == "1"
if ORBIT_SECRETS_KEY_REQUIRED and not ORBIT_SECRETS_KEY:
    raise RuntimeError("ORBIT_SECRETS_KEY must be set when ORBIT_PRODUCTION=1 (python manage.py secrets generate-key)")
# Two-factor authentication (accounts.twofactor): operators on the platform host always need it.
# Only the test suite may turn that off (other apps' tests log operators in with a password
# alone; tests/accounts turn it back on); production refuses.
ORBIT_2FA_OPERATORS = env("ORBIT_2FA_OPERATORS", "0" if TESTING else "1") == "1"
if ORBIT_SECRETS_KEY_REQUIRED and not ORBIT_2FA_OPERATORS:
    raise RuntimeError("ORBIT_2FA_OPERATORS=0 is refused when ORBIT_PRODUCTION=1")
ORBIT_2FA_ISSUER = env("ORBIT_2FA_ISSUER", "Orbit") or "Orbit"
ORBIT_2FA_MAX_ATTEMPTS = 5  # wrong codes in one login before it starts over from the password
ORBIT_2FA_PENDING_SECONDS = 300  # between the password and the code
ORBIT_2FA_RECOVERY_CODES = 10
SHARED_APPS.append("accounts.platform")  # public-schema tables only (2FA policies)
INSTALLED_APPS.append("accounts.platform")
MIDDLEWARE.insert(
    MIDDLEWARE.index("accounts.middleware.UserLanguageMiddleware"), "accounts.middleware.AccountSecurityMiddleware"
)
# The second login step is limited per IP like the password step (billing.ratelimit).
BILLING_LOGIN_PATHS = (*BILLING_LOGIN_PATHS, "/accounts/login/verify/", "/accounts/login/setup/", "/admin/login/verify/",
                       "/admin/login/setup/")

# --- operator dashboard (issue 14) --------------------------------------------------------
# Daily snapshots in the public schema (tenants.dashboard): the admin index reads only these.
# Agents' and visitors' activity is gathered per process and written this often (seconds;
# negative: only when the snapshot refresh asks, as in the test suite).
ORBIT_DASHBOARD_ACTIVITY_FLUSH_SECONDS = float(env("ORBIT_DASHBOARD_ACTIVITY_FLUSH_SECONDS", "-1" if TESTING else "10"))
CELERY_BEAT_SCHEDULE |= {
    "tenants-dashboard-snapshots": {"task": "tenants.tasks.dashboard_snapshots_refresh", "schedule": 900.0},
}
