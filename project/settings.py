"""Settings, read from the environment (twelve-factor).

Every variable has a default that runs on a fresh machine with nothing
installed: SQLite under var/ and this checkout's local MongoDB-compatible server
(SecantusDB, data under var/mongo/, started by ``scripts/mongo start`` or
``scripts/run``). Production sets DATABASE_URL, MONGODB_URI, SECRET_KEY,
ALLOWED_HOSTS and leaves DEBUG off.

Set-up (``scripts/run``, ``scripts/test``) writes a gitignored ``.env`` with a
generated SECRET_KEY (and DEBUG=1 for the development server), so every
``manage.py`` command runs on a fresh clone without exporting anything. The
environment wins over the file; ``PYINDEX_ENV_FILE`` names another file (empty:
none). Production has no ``.env``: with DEBUG off and no SECRET_KEY it refuses
to start.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from project import local_mongo

BASE_DIR = Path(__file__).resolve().parent.parent


def _read_env_file(path: Path) -> None:
    """KEY=VALUE lines (``#`` comments, optional quotes) into os.environ, unless set there."""
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        return
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = (part.strip() for part in line.split("=", 1))
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        os.environ.setdefault(key.removeprefix("export ").strip(), value)


_ENV_FILE = os.environ.get("PYINDEX_ENV_FILE", str(BASE_DIR / ".env"))
if _ENV_FILE:
    _read_env_file(Path(_ENV_FILE))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)

_DEV_SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"  # noqa: S105
SECRET_KEY = os.environ.get("SECRET_KEY") or (_DEV_SECRET_KEY if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set in the environment when DEBUG is off.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]" if DEBUG else "")

INSTALLED_APPS = [
    "project.apps.PyindexAdminConfig",  # django.contrib.admin, our site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_mongoengine",
    "catalog",
    "audit",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",  # static files, right after security
    "project.csp.ContentSecurityPolicyMiddleware",
    "project.input_guard.RejectNulMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "audit.middleware.AuditContextMiddleware",  # audit: actor, address, correlation id
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "project.urls"

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

WSGI_APPLICATION = "project.wsgi.application"

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "0")),
    )
}

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A page cache of 32 MB per connection (SQLite's default is 2 MB): a large
    # package's kept listing (catalog.services.listings) is a megabyte of
    # overflow pages, which the default cache evicted between two requests.
    DATABASES["default"].setdefault("OPTIONS", {})["init_command"] = "PRAGMA cache_size = -32000"

AUTH_USER_MODEL = "catalog.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
# The site is in English only; translation machinery off saves its per-lookup cost
# (every reverse() and date format asked for the active language).
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT") or BASE_DIR / "var" / "static")
# WhiteNoise serves the collected files (hashed names, gzip and Brotli copies,
# cached for ever) from the application server; with DEBUG on, runserver serves
# them from the apps as usual. Set-up runs collectstatic.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- MongoDB -----------------------------------------------------------------
# Always a server. By default this checkout's local one (project/local_mongo.py:
# SecantusDB on a port derived from the checkout's path, data under var/mongo/);
# production sets a mongodb:// URI (a replica set) and nothing else changes.
MONGODB_URI = os.environ.get("MONGODB_URI") or local_mongo.uri(BASE_DIR)
# True when the URI is the local default: a missing server is then reported
# within a second or two with the command that starts it (manage.py), instead
# of pymongo's 30-second server selection.
MONGODB_LOCAL = not os.environ.get("MONGODB_URI")
_local_timeout_ms = 1000
if MONGODB_LOCAL and not local_mongo.listening(local_mongo.HOST, local_mongo.port(BASE_DIR)):
    # Nothing listens (a refused connection answers at once): a command that
    # needs MongoDB fails right away with the command that starts the server.
    _local_timeout_ms = 100
MONGODB_DATABASES = {
    "default": {
        "host": MONGODB_URI,
        "tz_aware": True,
        "uuidRepresentation": "standard",
        **(
            {"serverSelectionTimeoutMS": _local_timeout_ms, "connectTimeoutMS": 1000}
            if MONGODB_LOCAL
            else {}
        ),
    }
}

# --- Catalog -----------------------------------------------------------------
CATALOG_READ_BACKEND = os.environ.get("CATALOG_READ_BACKEND", "sql")
if CATALOG_READ_BACKEND not in {"sql", "mongo"}:
    raise ImproperlyConfigured("CATALOG_READ_BACKEND must be 'sql' or 'mongo'.")

# Live sync of relational writes into MongoDB (on transaction commit), after the
# first migrate_to_mongo (set-up runs it). 0 for a site that does not mirror.
CATALOG_LIVE_SYNC = env_bool("CATALOG_LIVE_SYNC", True)

# --- Audit -------------------------------------------------------------------
# Proxies (addresses or networks) whose X-Forwarded-For / X-Request-ID headers
# are believed, e.g. "10.0.0.0/8,127.0.0.1". Empty: only REMOTE_ADDR counts.
AUDIT_TRUSTED_PROXIES = env_list("AUDIT_TRUSTED_PROXIES", "")
# Key of the entries' HMAC chain. With a key kept outside the database, someone
# who can edit the database cannot rebuild a consistent chain after tampering.
AUDIT_CHAIN_KEY = os.environ.get("AUDIT_CHAIN_KEY", "")
# Off only for an operator's deliberate unrecorded bulk work (and benchmarks).
AUDIT_ENABLED = env_bool("AUDIT_ENABLED", True)

# --- Security ----------------------------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0" if DEBUG else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")
# Sent on every response by project.csp. No inline script anywhere: the site's
# script and styles are static files. The one hash is the Django admin change
# list's own inline <style> (shown when a list has no actions, as the document
# admin's lists do); a Django upgrade that changes it shows up as a console
# violation in tests/e2e.
CONTENT_SECURITY_POLICY = os.environ.get("CONTENT_SECURITY_POLICY") or "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'sha256-blvLUW3UscWqsXGByNOqdBboM+ShWAuugp2mC/wbafU='",
        "img-src 'self' https: data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

# App code logs through module loggers (logging.getLogger(__name__)); one
# console handler (stderr) for everything, at LOG_LEVEL (DEBUG, INFO, WARNING, ...).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "{asctime} {levelname} {name}: {message}", "style": "{"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO").upper()},
}

# --- Public pages (issue 4) --------------------------------------------------
# Rendered pages are kept in Django's cache (per process by default): a package
# page until its stamp changes (on SQL, any change to the package, its releases,
# files or maintainers), lists such as home and search for a few seconds.
CATALOG_PAGE_CACHE = env_bool("CATALOG_PAGE_CACHE", True)
CATALOG_LIST_CACHE_SECONDS = int(os.environ.get("CATALOG_LIST_CACHE_SECONDS", "30"))
CATALOG_PACKAGE_CACHE_SECONDS = int(os.environ.get("CATALOG_PACKAGE_CACHE_SECONDS", "86400"))
# A package stamp just checked is trusted this long (0: check on every request).
CATALOG_STAMP_SECONDS = float(os.environ.get("CATALOG_STAMP_SECONDS", "1"))
# Packages with at least this many releases keep their release lists rendered
# (history, JSON API releases, Simple files: catalog.services.listings), rebuilt
# when their releases or files are written; smaller ones are read from the rows.
CATALOG_LISTING_MIN_RELEASES = int(os.environ.get("CATALOG_LISTING_MIN_RELEASES", "200"))
