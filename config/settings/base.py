"""Dissensus settings, read from the environment.

No insecure defaults: ``DJANGO_SECRET_KEY`` is required, ``DEBUG`` is off unless asked for, and
with ``DEBUG`` off the HTTPS and cookie protections are on. ``make demo`` sets what a local demo
needs; ``config.settings.test`` does the same for the test suite.
"""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from config.env import database_from_url, env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(env_str("DISSENSUS_VAR_DIR", str(BASE_DIR / "var")) or "var")

SECRET_KEY = env_str("DJANGO_SECRET_KEY", required=True)
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "core",
    "annotate",
    "analysis",
    "models_runtime",
]

MIDDLEWARE = [
    # First: a reused database connection's health check without a round trip while its
    # socket is quiet (CONN_HEALTH_CHECKS below).
    "core.middleware.DatabaseLivenessMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "core.request_guards.UnstorableQueryMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "core.middleware.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
            ],
        },
    },
]

DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'dissensus.sqlite3'}")
DATABASES = {"default": database_from_url(DATABASE_URL or "", base_dir=BASE_DIR)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Server-side prepared statements: psycopg prepares a statement after this many executions
    # on one (persistent) connection; the hot path's statements are sent with server-side
    # binding for it (issue 11). 0 turns it off (a pooler that cannot keep them).
    _prepare = env_int("DISSENSUS_DB_PREPARE_THRESHOLD", 2)
    DATABASES["default"]["OPTIONS"].setdefault("prepare_threshold", _prepare or None)
    # A reused connection is checked before a request's first query, so a dropped one fails
    # no request: by a look at its socket (core.middleware.DatabaseLivenessMiddleware), and
    # with SELECT 1 when something is waiting there. Off, a dropped connection fails one.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = env_bool("DISSENSUS_DB_HEALTH_CHECKS", True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("DJANGO_STATIC_ROOT", str(VAR_DIR / "staticfiles")) or "")
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("DJANGO_MEDIA_ROOT", str(VAR_DIR / "media")) or "")
# Media (item images): the local disk by default; "s3" puts them in an S3-compatible bucket
# (AWS, MinIO, Ceph, ...) that every web server and worker reads (SPEC 2.4), through
# django-storages. Credentials come from the usual AWS variables or the instance's role.
MEDIA_STORAGE = env_str("DISSENSUS_MEDIA_STORAGE", "filesystem")
if MEDIA_STORAGE == "s3":
    _media: dict[str, object] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env_str("DISSENSUS_S3_BUCKET", required=True),
            "endpoint_url": env_str("DISSENSUS_S3_ENDPOINT_URL"),
            "region_name": env_str("DISSENSUS_S3_REGION"),
            "access_key": env_str("AWS_ACCESS_KEY_ID"),
            "secret_key": env_str("AWS_SECRET_ACCESS_KEY"),
            "location": env_str("DISSENSUS_S3_PREFIX", "") or "",
            "default_acl": None,  # the bucket's own policy: private
            "querystring_auth": True,
            "file_overwrite": True,  # names are content hashes: the same name is the same bytes
        },
    }
elif MEDIA_STORAGE == "filesystem":
    _media = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
else:
    raise ImproperlyConfigured(
        f"DISSENSUS_MEDIA_STORAGE={MEDIA_STORAGE!r}: use filesystem (the default) or s3."
    )
STORAGES = {
    "default": _media,
    # Hashed, compressed files; without ``collectstatic`` it falls back to plain names and says
    # so (core/staticfiles.py) instead of answering 500 on every page.
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "core.staticfiles.StaticStorage"
    },
}
# Serve from the source folders too when nothing has been collected (or in development).
WHITENOISE_USE_FINDERS = DEBUG or not (STATIC_ROOT / "staticfiles.json").exists()

# Uploads above this size are spooled to disk, so imports stream from a file.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DISSENSUS_MAX_BODY_BYTES", 200 * 1024 * 1024)

# --- Security: on unless DEBUG, each overridable for a TLS-terminating proxy setup.
_secure = not DEBUG
SESSION_COOKIE_SECURE = env_bool("DJANGO_SESSION_COOKIE_SECURE", _secure)
CSRF_COOKIE_SECURE = env_bool("DJANGO_CSRF_COOKIE_SECURE", _secure)
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", _secure)
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 31536000 if _secure else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", _secure)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", _secure)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
if env_bool("DJANGO_BEHIND_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- REST API
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "core.pagination.IdCursorPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.api_errors.exception_handler",
    # ``format`` is the export's own parameter, not a renderer override.
    "URL_FORMAT_OVERRIDE": None,
    "DEFAULT_PARSER_CLASSES": [
        "core.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    # Rates: DISSENSUS_API_THROTTLE_RATES below (read per request; none = no limit).
    "DEFAULT_THROTTLE_CLASSES": [
        "core.throttling.ApiAnonThrottle",
        "core.throttling.ApiUserThrottle",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
}
# DRF rates ("120/minute", "5/second", ...): per address without a user, per signed-in user.
DISSENSUS_API_THROTTLE_RATES = {
    "anon": env_str("DISSENSUS_API_THROTTLE_ANON", "120/minute"),
    "user": env_str("DISSENSUS_API_THROTTLE_USER", "1200/minute"),
}
# The login form: this many failures for one username from one address lock it for the window.
DISSENSUS_LOGIN_MAX_FAILURES = env_int("DISSENSUS_LOGIN_MAX_FAILURES", 10)
DISSENSUS_LOGIN_FAILURE_WINDOW_SECONDS = env_int("DISSENSUS_LOGIN_FAILURE_WINDOW_SECONDS", 900)

SPECTACULAR_SETTINGS = {
    "TITLE": "Dissensus API",
    "DESCRIPTION": "Annotation projects, items, assignment, annotations and exports.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.openapi.error_responses_hook",
    ],
}

# --- Cache: throttle and login counters. Redis where several web processes serve, so they
# share the counts; else each process's memory.
CACHE_URL = env_str("DJANGO_CACHE_URL", "")
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
    if CACHE_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}

# --- Celery: Redis (or any kombu URL) when configured, else an embedded filesystem broker.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {}
if CELERY_BROKER_URL == "filesystem://":
    _broker_dir = VAR_DIR / "broker"
    for _folder in ("queue", "processed"):  # kombu does not create them
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
# The queue of tasks sent without one (CPU workers consume it); GPU work goes to "gpu".
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_TASK_DEFAULT_QUEUE", "celery") or "celery"
# Model runs: items per chunk (one Celery task); how long a worker's claim on a chunk lasts
# without a finished batch, and without a heartbeat (beaten every third of that while it
# predicts), before another worker takes the chunk over; beat's sweep of stalled runs.
DISSENSUS_MODEL_RUN_CHUNK_SIZE = env_int("DISSENSUS_MODEL_RUN_CHUNK_SIZE", 256)
DISSENSUS_MODEL_RUN_LEASE_SECONDS = env_int("DISSENSUS_MODEL_RUN_LEASE_SECONDS", 300)
DISSENSUS_MODEL_RUN_HEARTBEAT_SECONDS = env_int("DISSENSUS_MODEL_RUN_HEARTBEAT_SECONDS", 30)
DISSENSUS_MODEL_RUN_SWEEP_SECONDS = env_int("DISSENSUS_MODEL_RUN_SWEEP_SECONDS", 30)

# --- Dissensus
DISSENSUS_DEFAULT_RESERVATION_SECONDS = env_int("DISSENSUS_DEFAULT_RESERVATION_SECONDS", 1800)
DISSENSUS_IMPORT_BATCH_SIZE = env_int("DISSENSUS_IMPORT_BATCH_SIZE", 2000)
DISSENSUS_IMPORT_MAX_ERRORS = env_int("DISSENSUS_IMPORT_MAX_ERRORS", 1000)
# Item images (visual arguments): size and pixel limits, checked by content with Pillow.
DISSENSUS_IMAGE_MAX_BYTES = env_int("DISSENSUS_IMAGE_MAX_BYTES", 20 * 1024 * 1024)
DISSENSUS_IMAGE_MAX_PIXELS = env_int("DISSENSUS_IMAGE_MAX_PIXELS", 64_000_000)
# Off by default: when on, a lead's manifest makes the server fetch URLs of the lead's choosing.
DISSENSUS_IMAGE_FETCH_URLS = env_bool("DISSENSUS_IMAGE_FETCH_URLS", False)
DISSENSUS_IMAGE_FETCH_TIMEOUT = env_int("DISSENSUS_IMAGE_FETCH_TIMEOUT", 20)
# Counted in uncompressed bytes (the sum of the members' sizes), what extracting it costs.
DISSENSUS_IMPORT_ARCHIVE_MAX_BYTES = env_int("DISSENSUS_IMPORT_ARCHIVE_MAX_BYTES", 2 * 1024**3)
# Hostile input, refused before parsing: JSON nesting (API bodies, imports, predictions) and the
# length of one line of a JSON Lines or CSV upload (a zip's manifest included).
DISSENSUS_MAX_JSON_DEPTH = env_int("DISSENSUS_MAX_JSON_DEPTH", 64)
DISSENSUS_MAX_LINE_BYTES = env_int("DISSENSUS_MAX_LINE_BYTES", 10 * 1024 * 1024)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("DJANGO_LOG_LEVEL", "INFO")},
}
