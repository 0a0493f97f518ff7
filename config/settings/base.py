"""Settings shared by every environment; each value can be overridden from the environment.

Sections: core, apps and middleware, data (database, cache, sessions), sign-in, files,
REST API, Celery, NeuronJudge (one block per concern), logging. Every NEURONJUDGE_* setting
is declared here with its default and a one-line comment; code reads `settings.NAME` and
never supplies a default of its own.
"""

from pathlib import Path

import dj_database_url

from config.env import envbool, envint, envlist, envnetworks, envsecret, envstr

# --- Core ------------------------------------------------------------------------------------
BASE_DIR = Path(__file__).resolve().parent.parent.parent
SECRET_KEY = envsecret("SECRET_KEY", "dev-insecure-neuronjudge-key-change-me")
DEBUG = envbool("DEBUG", "false")
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True
ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Apps and middleware ---------------------------------------------------------------------
DJANGO_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
]
THIRD_PARTY_APPS = [
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI / Redoc served locally, no CDN
]
LOCAL_APPS = ["annotate", "evaluation"]
INSTALLED_APPS = DJANGO_APPS + THIRD_PARTY_APPS + LOCAL_APPS

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "annotate.api.login_throttle.LoginThrottleMiddleware",
    "annotate.api.faults.ServiceUnavailableMiddleware",
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
            ]
        },
    }
]

# --- Data: database, cache, sessions ---------------------------------------------------------
DATABASES = {
    "default": dj_database_url.parse(
        envsecret("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/neuronjudge"),
        conn_max_age=envint("DB_CONN_MAX_AGE", "60"),
    )
}
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": envstr("CACHE_URL", "redis://127.0.0.1:6379/2"),
    }
}
# Sessions in PostgreSQL only: a primary-key lookup per request, and a Redis outage neither
# logs anyone out nor resurrects a session whose logout could not reach the cache.
SESSION_ENGINE = "django.contrib.sessions.backends.db"

# --- Sign-in: passwords, the throttle (kept in PostgreSQL), client addresses ---------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# Failed sign-ins per (username, client address) before each further one must wait.
NEURONJUDGE_LOGIN_MAX_FAILURES = envint("NEURONJUDGE_LOGIN_MAX_FAILURES", "10")
# The first wait after those; it doubles with every further failure.
NEURONJUDGE_LOGIN_BACKOFF_SECONDS = envint("NEURONJUDGE_LOGIN_BACKOFF_SECONDS", "30")
# The longest wait one failure can cause.
NEURONJUDGE_LOGIN_MAX_WAIT_SECONDS = envint("NEURONJUDGE_LOGIN_MAX_WAIT_SECONDS", "900")
# A pair's failures are forgotten this long after its last one (or at its next sign-in).
NEURONJUDGE_LOGIN_FORGET_SECONDS = envint("NEURONJUDGE_LOGIN_FORGET_SECONDS", "86400")
# Reverse proxies (addresses or networks) whose X-Forwarded-For names the client; from any
# other peer the header is ignored and REMOTE_ADDR is the client.
NEURONJUDGE_TRUSTED_PROXIES = envnetworks("NEURONJUDGE_TRUSTED_PROXIES", "")

# --- Files: static, media, uploads -----------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(envstr("STATIC_ROOT", str(BASE_DIR / "var" / "static")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(envstr("MEDIA_ROOT", str(BASE_DIR / "var" / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Upload limits: imports stream to disk above 2.5 MB; refuse request bodies over this size.
DATA_UPLOAD_MAX_MEMORY_SIZE = envint("DATA_UPLOAD_MAX_MEMORY_SIZE", str(10 * 1024 * 1024))
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
# One image file over this size is refused.
NEURONJUDGE_MAX_IMAGE_BYTES = envint("NEURONJUDGE_MAX_IMAGE_BYTES", str(20 * 1024 * 1024))
# One image over this many pixels is refused (Pillow's decompression-bomb guard).
NEURONJUDGE_MAX_IMAGE_PIXELS = envint("NEURONJUDGE_MAX_IMAGE_PIXELS", str(40_000_000))
# A zip of images over this size is refused before it is opened.
NEURONJUDGE_MAX_UPLOAD_BYTES = envint("NEURONJUDGE_MAX_UPLOAD_BYTES", str(2 * 1024**3))
# Import files (labels, manifests, concept sets) over this size are refused before parsing.
NEURONJUDGE_MAX_IMPORT_FILE_BYTES = envint(
    "NEURONJUDGE_MAX_IMPORT_FILE_BYTES", str(256 * 1024 * 1024)
)
# Where the import pages keep a refused import's files for the retry (cleared after a day).
NEURONJUDGE_KEPT_UPLOADS_DIR = Path(
    envstr("NEURONJUDGE_KEPT_UPLOADS_DIR", str(BASE_DIR / "var" / "kept-uploads"))
)

# --- REST API --------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "annotate.api.pagination.Pagination",
    "PAGE_SIZE": 100,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "annotate.api.faults.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "NeuronJudge API",
    "DESCRIPTION": "Rate neuron labels with humans and models, and measure their agreement.",
    "VERSION": "0.1.0",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Several resources have a `kind`: each choice set gets its own schema name.
    "ENUM_NAME_OVERRIDES": {"InviteKindEnum": "annotate.models.Invite.Kind"},
}

# --- Celery: Redis broker; model work on the "gpu" queue, everything else on "default" -------
CELERY_BROKER_URL = envsecret("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
CELERY_RESULT_BACKEND = envstr("CELERY_RESULT_BACKEND", CELERY_BROKER_URL)
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {"tasks.evaluation.*": {"queue": "gpu"}}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = envint("CELERY_TASK_TIME_LIMIT", str(6 * 3600))
CELERY_TASK_SOFT_TIME_LIMIT = envint("CELERY_TASK_SOFT_TIME_LIMIT", str(6 * 3600 - 60))
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": envint("CELERY_VISIBILITY_TIMEOUT", str(7 * 3600))
}
CELERY_TASK_ALWAYS_EAGER = envbool("CELERY_TASK_ALWAYS_EAGER", "false")
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- NeuronJudge: models and raters ----------------------------------------------------------
# Where weights are looked for. Nothing is downloaded unless the hub is reachable.
NEURONJUDGE_MODEL_DIR = Path(envstr("NEURONJUDGE_MODEL_DIR", str(BASE_DIR / "var" / "models")))
# The device raters run on when a run does not say: auto, cpu, cuda, cuda:1, ...
NEURONJUDGE_DEVICE = envstr("NEURONJUDGE_DEVICE", "auto")
# Hosts an OpenAI-compatible VQA rater may call (with its NEURONJUDGE_VQA_* key); others refused.
NEURONJUDGE_VQA_ALLOWED_HOSTS = envlist("NEURONJUDGE_VQA_ALLOWED_HOSTS", "127.0.0.1,localhost")

# --- NeuronJudge: runs -----------------------------------------------------------------------
# Pairs per chunk of a run: the unit of work one worker claims at a time.
NEURONJUDGE_CHUNK_PAIRS = envint("NEURONJUDGE_CHUNK_PAIRS", "5000")
# Neurons per dense chunk (each scored on every probe-set image; option dense_neurons).
NEURONJUDGE_DENSE_CHUNK_NEURONS = envint("NEURONJUDGE_DENSE_CHUNK_NEURONS", "512")
# A chunk whose worker has not reported for this long is taken to be dead and is re-queued.
NEURONJUDGE_STALE_CHUNK_SECONDS = envint("NEURONJUDGE_STALE_CHUNK_SECONDS", "300")
# How often the beat process looks for such chunks, whatever their worker was called.
NEURONJUDGE_REQUEUE_STALE_EVERY_SECONDS = envint("NEURONJUDGE_REQUEUE_STALE_EVERY_SECONDS", "60")
CELERY_BEAT_SCHEDULE = {
    "requeue-stale-chunks": {
        "task": "tasks.maintenance.requeue_stale_chunks",
        "schedule": float(NEURONJUDGE_REQUEUE_STALE_EVERY_SECONDS),
    }
}

# --- NeuronJudge: human annotation -----------------------------------------------------------
# How long a claimed unit stays an annotator's before it may go to someone else.
NEURONJUDGE_LEASE_SECONDS = envint("NEURONJUDGE_LEASE_SECONDS", "900")
# How long after submitting an annotator may take an answer back.
NEURONJUDGE_UNDO_SECONDS = envint("NEURONJUDGE_UNDO_SECONDS", "60")

# --- NeuronJudge: reports --------------------------------------------------------------------
# Connections that read a study's judgments for a report at once (evaluation/reports/read_arrays).
NEURONJUDGE_REPORT_READERS = envint("NEURONJUDGE_REPORT_READERS", "2")
# How long rendered report fragments live; their key changes with every judgment anyway.
NEURONJUDGE_REPORT_FRAGMENT_SECONDS = envint("NEURONJUDGE_REPORT_FRAGMENT_SECONDS", "86400")

# --- Logging ---------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": envstr("LOG_LEVEL", "INFO")},
}
