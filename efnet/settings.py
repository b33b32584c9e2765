"""Settings for the EF-net back office.

Everything comes from the environment (django-environ). With DEBUG on (development) or EFNET_DEMO on (the
`make run` demo: DEBUG off, so it shows the portal's own error pages), a secret key and a field-encryption
key are generated into the ignored ``var/`` folder on first run. Otherwise (production) start-up fails unless
they are given, and the system checks in efnet/checks.py refuse an incomplete configuration.
"""

import os
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from efnet.devkeys import dev_secret

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("EFNET_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False) if (BASE_DIR / ".env").exists() else None

DEBUG = env.bool("DEBUG", default=False)
# The demo `make run` serves: DEBUG off, but development keys, plain HTTP on 127.0.0.1 and mail to the console.
# Never for real members' data.
DEMO = env.bool("EFNET_DEMO", default=False) and not DEBUG
DEV_KEYS = DEBUG or DEMO

if DEV_KEYS:
    SECRET_KEY = env.str("SECRET_KEY", default="") or dev_secret(VAR_DIR, "secret_key")
    # "dev:<key>": one generated development key for the encrypted fields.
    FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[]) or [
        "dev:" + dev_secret(VAR_DIR, "field_key", nbytes=32)
    ]
else:
    # No defaults: a production start without these fails here, loudly.
    SECRET_KEY = env.str("SECRET_KEY")
    FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEV_KEYS else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "efnet.admin_site.EfnetAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "efnet.third_party_apps.OtpConfig",
    "efnet.third_party_apps.OtpTotpConfig",
    "efnet.third_party_apps.AxesConfig",
    "efnet.third_party_apps.CspConfig",
    "django_htmx",
    "efnet",
    "members",
    "mailaddresses",
    "tracking",
    "documents",
    "notices",
    "faxreplies",
    "imports",
]

MIDDLEWARE = [
    "efnet.middleware.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "efnet.cache_control.NoStoreMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "efnet.middleware.RequestContextMiddleware",
    "efnet.middleware.StaffLoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "efnet.middleware.SessionLifetimeMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "efnet.urls"
WSGI_APPLICATION = "efnet.wsgi.application"

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
                "efnet.context_processors.staff",
                "efnet.context_processors.demo",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'efnet.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several processes (web, worker threads, beat) write to one file. WAL lets readers go on while one writes;
    # IMMEDIATE transactions take the write lock at BEGIN, where SQLite waits for it (the busy timeout), instead
    # of upgrading a read lock mid-transaction, where it fails at once with "database is locked" whatever the
    # timeout. synchronous=NORMAL is safe with WAL (a power cut may lose the last commits, never corrupt).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": env.int("SQLITE_TIMEOUT_SECONDS", default=20),
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
        }
    )
# A write that must not be lost (a sent message being recorded) is tried again on a new connection for this
# long when the database connection drops (efnet/db.py); well under NOTICES_SENDING_TIMEOUT_SECONDS.
EFNET_DB_RECONNECT_SECONDS = env.int("EFNET_DB_RECONNECT_SECONDS", default=120)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "efnet.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "members:search"
LOGOUT_REDIRECT_URL = "login"

# Sessions: idle timeout (every request pushes the expiry forward).
SESSION_COOKIE_AGE = env.int("SESSION_IDLE_SECONDS", default=30 * 60)
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
# ... and an absolute lifetime: a session ends this long after its login, however active
# (efnet.middleware.SessionLifetimeMiddleware).
SESSION_ABSOLUTE_SECONDS = env.int("SESSION_ABSOLUTE_SECONDS", default=12 * 60 * 60)
# Revealing a stored password asks for the login password again after this long.
REAUTH_MAX_AGE_SECONDS = env.int("REAUTH_MAX_AGE_SECONDS", default=5 * 60)

# django-axes: lock a username (not an IP: offices share NAT addresses) after repeated failures.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=30))
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "efnet.auth_views.lockout_response"
AXES_VERBOSE = False
# Locking by username is deliberate: an office's staff share one NAT address, so an IP lock would lock
# out the whole office; rotating user agents does not help an attacker against a username lock.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]

OTP_TOTP_ISSUER = "EF-net 事務局"

LANGUAGE_CODE = "ja"
# The portal speaks Japanese only: with one language, LocaleMiddleware cannot switch Django's own strings and
# date formats to the browser's language (an en-US browser saw "11/27/2026 2:49 a.m." before).
LANGUAGES = [("ja", "日本語")]
# One date format per purpose (efnet/formats/__init__.py).
FORMAT_MODULE_PATH = ["efnet.formats"]
TIME_ZONE = "Asia/Tokyo"
USE_I18N = True
USE_TZ = True
LOCALE_PATHS = [BASE_DIR / "locale"]

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEV_KEYS
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# Development and demo serve the static files straight from the apps (no collectstatic needed).
WHITENOISE_USE_FINDERS = DEV_KEYS

# Security headers. Cookies are secure unless explicitly served over plain HTTP in development.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
_https = env.bool("HTTPS", default=not DEV_KEYS)
SESSION_COOKIE_SECURE = _https
CSRF_COOKIE_SECURE = _https
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=_https)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if _https else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = _https
SECURE_HSTS_PRELOAD = _https
# Behind our own reverse proxy: trust its X-Forwarded-Proto, and the address it appends to X-Forwarded-For
# (audit IPs and the self-report rate limit per IP).
BEHIND_PROXY = env.bool("BEHIND_PROXY", default=False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_PROXY else None
# A load balancer may probe a web server over plain HTTP: /healthz answers rather than redirecting.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        # No plugins; no <base> to re-point relative URLs; forms post only to the portal itself (a redirect
        # after a POST stays on this origin: the login's next is checked by _safe_next).
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Mail. EMAIL_URL picks the SMTP server (smtp://user:pass@host:port, smtp+tls://…).
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://" if DEV_KEYS else "smtp://127.0.0.1:25")
vars().update(EMAIL_CONFIG)
# Seconds to wait for the mail server (connecting, its greeting, each reply): a server that does not answer is
# an outage (sending waits, no attempt charged), never a worker blocked for good.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="EFネット事務局 <efnet@example.jp>")
EFNET_REPLY_TO = env.str("EFNET_REPLY_TO", default="efnet@example.jp")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Celery. Embedded default: kombu's filesystem transport in var/ (no broker server);
# REDIS_URL switches to Redis.
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
else:
    _q = VAR_DIR / "celery"
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_q / "queue"),
        "data_folder_out": str(_q / "queue"),
        "processed_folder": str(_q / "processed"),
        # Exchange tables (broadcasts, worker remote control): kombu's default is "control" in the current
        # directory, which put them in whatever folder a worker or a test happened to start from.
        "control_folder": str(_q / "control"),
        "store_processed": False,
    }
    for _folder in ("queue", "processed", "control"):
        (_q / _folder).mkdir(parents=True, exist_ok=True)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE = {"efnet-heartbeat": {"task": "efnet.heartbeat", "schedule": 30.0}}
# /healthz (efnet/health.py) fails when beat's heartbeat is older than this, or when a due delivery has waited
# longer than this to be sent.
HEALTHZ_BEAT_MAX_AGE_SECONDS = env.int("HEALTHZ_BEAT_MAX_AGE_SECONDS", default=180)
HEALTHZ_QUEUE_MAX_AGE_SECONDS = env.int("HEALTHZ_QUEUE_MAX_AGE_SECONDS", default=1800)
# One scheduler: beat runs as a process of its own (make worker, make run, production), and its scheduler
# sends the periodic tasks only while it holds a lock row in the database (efnet/beat.py); a second beat stands
# by and takes over once the lock has not been renewed for EFNET_BEAT_LOCK_SECONDS. The schedule file (when
# each task last ran) is kept in the var dir and opened only by the beat that holds the lock.
CELERY_BEAT_SCHEDULER = "efnet.beat:GuardedScheduler"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
EFNET_BEAT_LOCK_SECONDS = env.int("EFNET_BEAT_LOCK_SECONDS", default=60)
# Beat wakes at least this often, so the lock is renewed well within its lifetime.
CELERY_BEAT_MAX_LOOP_INTERVAL = max(EFNET_BEAT_LOCK_SECONDS // 3, 1)

# Logs go to stderr (systemd's journal, a container's log): LOG_FORMAT=plain (default) or json, one object a
# line. Every line carries the request id (efnet.middleware.RequestLogMiddleware), "-" outside a request.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json, not {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "no_secrets": {"()": "efnet.logging.SecretMaskingFilter"},
        "request_id": {"()": "efnet.logging.RequestIdFilter"},
    },
    "formatters": {
        "plain": {
            "()": "efnet.logging.PlainFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
        },
        "json": {"()": "efnet.logging.JsonFormatter"},
    },
    "handlers": {
        # Every handler carries no_secrets (tests/efnet/test_logging.py holds them to it).
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["no_secrets", "request_id"]},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "axes": {"level": "WARNING"},
        # Django's own handlers for these loggers (console in DEBUG, runserver's access lines, mail to ADMINS)
        # would bypass the filter above: everything goes through the root handler instead.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.server": {"handlers": [], "level": "INFO", "propagate": True},
    },
}

# --- notices ---
# The site's origin, for links in notices (the member self-report link). Required in production, https
# (efnet/checks.py); development and the demo default to the local server on PORT.
NOTICES_BASE_URL = env.str(
    "EFNET_BASE_URL", default=f"http://127.0.0.1:{env.int('PORT', default=8000)}" if DEV_KEYS else ""
)
NOTICES_MESSAGE_ID_DOMAIN = env.str("NOTICES_MESSAGE_ID_DOMAIN", default="efnet.example.jp")
# Messages a second per worker process (0: no limit), and deliveries per task (one SMTP connection each).
NOTICES_RATE_PER_SECOND = env.float("NOTICES_RATE_PER_SECOND", default=20.0)
NOTICES_BATCH_SIZE = env.int("NOTICES_BATCH_SIZE", default=50)
# Transient SMTP failures (4xx, dropped connections) retry with backoff: base * 2^(attempt-1) seconds.
NOTICES_MAX_ATTEMPTS = env.int("NOTICES_MAX_ATTEMPTS", default=5)
NOTICES_RETRY_BASE_SECONDS = env.int("NOTICES_RETRY_BASE_SECONDS", default=60)
# A delivery in "sending" longer than this belongs to a dead worker: it becomes "unknown" (never re-sent).
NOTICES_SENDING_TIMEOUT_SECONDS = env.int("NOTICES_SENDING_TIMEOUT_SECONDS", default=600)
# The periodic re-dispatch re-queues rows whose last dispatch is older than this (a lost Redis queue).
NOTICES_REDISPATCH_AFTER_SECONDS = env.int("NOTICES_REDISPATCH_AFTER_SECONDS", default=300)
CELERY_BEAT_SCHEDULE["notices-redispatch"] = {"task": "notices.redispatch", "schedule": 60.0}

# --- documents (member cards, address lists, batch reissue) ---
# A batch PDF waiting for download is deleted after this many hours, or at its first download.
DOCUMENTS_BATCH_EXPIRY_HOURS = env.int("DOCUMENTS_BATCH_EXPIRY_HOURS", default=24)
DOCUMENTS_BATCH_DELETE_AFTER_DOWNLOAD = env.bool("DOCUMENTS_BATCH_DELETE_AFTER_DOWNLOAD", default=True)
# Cards rendered per WeasyPrint document: bigger is faster per card, smaller keeps memory flatter.
DOCUMENTS_BATCH_CHUNK_SIZE = env.int("DOCUMENTS_BATCH_CHUNK_SIZE", default=50)
# Batches with more cards than this are delivered as a ZIP of chunk PDFs instead of one combined PDF.
DOCUMENTS_BATCH_ZIP_THRESHOLD = env.int("DOCUMENTS_BATCH_ZIP_THRESHOLD", default=500)
DOCUMENTS_BATCH_MAX_CARDS = env.int("DOCUMENTS_BATCH_MAX_CARDS", default=5000)
# Render processes a batch's chunks are spread over (efnet/pdf_pool.py); 0 or 1 renders in the worker itself.
DOCUMENTS_RENDER_PROCESSES = env.int("DOCUMENTS_RENDER_PROCESSES", default=os.cpu_count() or 1)
# A running batch whose worker has not written its heartbeat (once per chunk) for this long is failed and its
# file deleted by documents.tasks.reap_dead_batches (every minute). Longer than a chunk takes to render.
DOCUMENTS_BATCH_HEARTBEAT_SECONDS = env.int("DOCUMENTS_BATCH_HEARTBEAT_SECONDS", default=300)
CELERY_BEAT_SCHEDULE["documents-reap-dead-batches"] = {"task": "documents.tasks.reap_dead_batches", "schedule": 60.0}
CELERY_BEAT_SCHEDULE["documents-purge-expired-batches"] = {
    "task": "documents.tasks.purge_expired_batches",
    "schedule": 15 * 60,
}
# Exports (call list, member export) with more rows than this are written by a worker into an encrypted file
# with a progress bar and a one-time download (documents/exports.py) instead of streamed by the request.
EXPORT_BACKGROUND_ROWS = env.int("EXPORT_BACKGROUND_ROWS", default=20000)
# WeasyPrint logs every rendering step at INFO.
LOGGING["loggers"]["weasyprint"] = {"level": "WARNING"}
LOGGING["loggers"]["fontTools"] = {"level": "WARNING"}

# --- FAX replies (inbound FAX import) ---
# A page kept as evidence of a recorded status is deleted this many days after it was confirmed; a page nobody
# confirmed (or dismissed) after this many days since the upload.
FAXREPLIES_RETENTION_DAYS = env.int("FAXREPLIES_RETENTION_DAYS", default=400)
FAXREPLIES_UNCONFIRMED_DAYS = env.int("FAXREPLIES_UNCONFIRMED_DAYS", default=14)
FAXREPLIES_MAX_UPLOAD_MB = env.int("FAXREPLIES_MAX_UPLOAD_MB", default=100)
FAXREPLIES_MAX_PAGES = env.int("FAXREPLIES_MAX_PAGES", default=500)
CELERY_BEAT_SCHEDULE["faxreplies-purge"] = {"task": "faxreplies.tasks.purge_expired_pages", "schedule": 60 * 60}

# --- tracking ---
# Member self-report links: how long a link works, and how many requests per link and per client address are
# accepted in each window (counted in the database, so the limit holds across processes and servers).
TRACKING_SELF_REPORT_MAX_AGE_DAYS = env.int("TRACKING_SELF_REPORT_MAX_AGE_DAYS", default=60)
TRACKING_SELF_REPORT_WINDOW_SECONDS = env.int("TRACKING_SELF_REPORT_WINDOW_SECONDS", default=3600)
TRACKING_SELF_REPORT_LINK_LIMIT = env.int("TRACKING_SELF_REPORT_LINK_LIMIT", default=20)
TRACKING_SELF_REPORT_IP_LIMIT = env.int("TRACKING_SELF_REPORT_IP_LIMIT", default=60)

# --- imports ---
# Rows per preview lookup and per apply transaction; an uploaded file is deleted after apply or after this long.
IMPORTS_CHUNK_SIZE = env.int("IMPORTS_CHUNK_SIZE", default=5000)
# PostgreSQL: chunks of new members an apply runs side by side, each in a thread with its own connection.
IMPORTS_THREADS = env.int("IMPORTS_THREADS", default=2)
IMPORTS_FILE_EXPIRY_HOURS = env.int("IMPORTS_FILE_EXPIRY_HOURS", default=24)
# A preview or apply with no committed chunk for this long lost its worker: it is queued again.
IMPORTS_STALLED_SECONDS = env.int("IMPORTS_STALLED_SECONDS", default=300)
CELERY_BEAT_SCHEDULE["imports-resume-stalled"] = {"task": "imports.tasks.resume_stalled", "schedule": 60.0}
CELERY_BEAT_SCHEDULE["imports-purge-expired-files"] = {"task": "imports.tasks.purge_expired_files", "schedule": 15 * 60}
