"""Configuration classes.

Every setting can be overridden from the environment with the ``VIGIE_`` prefix
(``VIGIE_DATABASE_URL``, ``VIGIE_SOURCE``...), see README.md.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


class BaseConfig:
    """Safe defaults for a single-process, embedded installation."""

    ENV = "development"  # VIGIE_ENV: development | production
    DATABASE_URL: str | None = None  # default: sqlite in the instance folder
    SECRET_KEY: str | None = None  # default: generated once, kept in the instance folder
    SOURCE = "demo"  # VIGIE_SOURCE: demo | zabbix
    ZABBIX_URL = "http://127.0.0.1:8080/api_jsonrpc.php"
    ZABBIX_TOKEN: str | None = None
    ZABBIX_USER: str | None = None
    ZABBIX_PASSWORD: str | None = None
    ZABBIX_TIMEOUT = 10.0
    ZABBIX_GROUPS_PREFIX: str | None = None  # only host groups starting with this are read
    ZABBIX_CACHE_TTL = 300.0  # seconds to keep dependencies and probe counts
    DEMO_SEED = 42
    DEMO_MEMBERS = 8  # the six small members, then the ~150- and ~500-device ones
    DEMO_ITEMS: int | None = None  # total items when scaling the demo estate
    DEMO_STATE_FILE: str | None = None  # default: instance/demo-state.json
    # Seconds between two reads of the source: zabbix_sender -> browser p95 < 2 s (make bench);
    # a quiet cycle costs two cheap calls, see README.md for the load.
    POLL_INTERVAL = 1.0
    # embedded: a background task of `flask vigie serve`; external: `flask vigie poll`
    POLLER = "embedded"
    SNAPSHOT_STORE_URL: str | None = None  # redis://…: the poller shares its snapshot with workers
    POLLER_LOCK_TIMEOUT = 15.0  # seconds a poller waits between two tries to become the active one
    SOCKETIO_MESSAGE_QUEUE: str | None = (
        None  # e.g. redis://127.0.0.1:6379/0 with several processes
    )
    SOCKETIO_CHANNEL = "vigie"
    SOCKETIO_ASYNC_MODE: str | None = None  # auto: gevent under a gevent worker, else threading
    SOCKETIO_ALLOWED_ORIGINS: str | None = None  # None: same origin only
    FULL_RESYNC_INTERVAL = 60.0  # seconds between two full reads; only changes in between
    WALL_ROTATE_SECONDS = 15  # the wall shows each member's map this long when rotating
    # Data older than this many intervals (since the last successful read) is shown as stale:
    # 2 s at 1 s, so that a silent source is said within two poll intervals (issue 9).
    STALE_AFTER_POLLS = 2
    HOST_STALE_AFTER = 600  # seconds without a value before a host is drawn "unknown"
    # Business rules (syndicate decision; configurable)
    PRICE_PER_PROBE_EUR = 1
    MIN_PACKAGE_PROBES = 100
    POOL_SIZE_PROBES = 50
    POOL_MAX_PER_ORDER = 20  # pools one order may add (1 to this)
    # An order's amount for the current year: the remaining months only (the month of
    # approval counts in full); false: the whole year.
    POOL_PRORATA = True
    QUOTA_WARN_PERCENT = 90  # the member admins and the syndicate are told at this usage
    SYNDICATE_NAME = "Moselle Fibre"
    DECISION_REFERENCE = "CSD 2024-314"
    # The plan voted by the committee (probes in service by year) and the service's cost.
    PLAN_TARGETS: dict | str = {"2024": 1000, "2025": 3000, "2026": 5000}
    SERVICE_YEARLY_COST_EUR = 3300  # the hosting share, per year
    SERVICE_START_YEAR = 2024
    AGREEMENT_MAX_BYTES = 10 * 1024 * 1024  # a signed agreement's PDF
    # Support requests: categories (code=Label;…, default panne, lenteur, demande de sonde,
    # question, autre), targets per urgency in minutes (urgency=response/resolution;…),
    # reopening delay, attachments (photos and PDF) and where they are kept.
    SUPPORT_CATEGORIES: dict | str | None = None
    SUPPORT_TARGETS: dict | str | None = None  # default critical 30/240, high 120/1440, …
    SUPPORT_REOPEN_DAYS = 7
    SUPPORT_ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024
    SUPPORT_ATTACHMENT_MAX_PIXELS = 50_000_000  # an image announcing more is refused undecoded
    SUPPORT_ATTACHMENTS_DIR: str | None = None  # default: instance/attachments (never static)
    AUDIT_RETENTION_DAYS = 365  # audit lines older than this are purged (daily)
    HISTORY_DAYS = 400  # incidents ended longer ago leave the devices' history (daily)
    # Accounts
    PASSWORD_RESET_MAX_AGE = 3600
    INVITATION_MAX_AGE = 7 * 24 * 3600
    PASSWORD_MIN_LENGTH = 12
    LOGIN_RATE_LIMIT = "10 per minute;50 per hour"  # per client address
    # Per account (ASVS 2.2.1): failed sign-ins for one e-mail address, whatever the client
    # address, and password-reset requests for one address; unknown addresses count the same.
    LOGIN_ACCOUNT_LIMIT = "100 per hour"
    PASSWORD_RESET_ACCOUNT_LIMIT = "5 per hour"
    # Proxy hops in front of Vigie whose X-Forwarded-For/-Proto are trusted (Werkzeug's
    # ProxyFix); 0: every X-Forwarded-* header is ignored (a client could write them).
    TRUSTED_PROXIES = 0
    # Signed-in sessions (server-side, revocable; webapp.services.sessions), by risk:
    # syndicate staff and member admins (privileged) end 12 h after sign-in or after
    # 30 min without activity, in a cookie that ends with the browser; viewers may stay
    # signed in on a device for up to 30 days.
    SESSION_PRIVILEGED_MAX_HOURS = 12
    SESSION_PRIVILEGED_IDLE_MINUTES = 30
    SESSION_VIEWER_MAX_DAYS = 30
    SESSION_VIEWER_IDLE_DAYS = 30
    # ProConnect (OpenID Connect, webapp.proconnect): the issuer (discovery at
    # <issuer>/.well-known/openid-configuration) and this client's registration. All three
    # given: the login page offers « S’identifier avec ProConnect ».
    OIDC_ISSUER: str | None = None
    OIDC_CLIENT_ID: str | None = None
    OIDC_CLIENT_SECRET: str | None = None
    # Two-factor sign-in (webapp.services.two_factor): required for staff and member
    # admins when ENV is production. TWO_FACTOR_KEYS: comma-separated Fernet keys that
    # encrypt the TOTP secrets (the first encrypts, all decrypt); empty: derived from
    # SECRET_KEY. The second step must follow the password within PENDING_SECONDS.
    TWO_FACTOR_KEYS: str | None = None
    TWO_FACTOR_PENDING_SECONDS = 300
    TWO_FACTOR_MAX_ATTEMPTS = 5  # wrong codes before the password is asked again
    TWO_FACTOR_RATE_LIMIT = "5 per minute;30 per hour"
    RATELIMIT_STORAGE_URI = "memory://"
    BASE_URL = "http://127.0.0.1:5000"
    # Mail (empty MAIL_SERVER: messages are written to the log)
    MAIL_SERVER: str | None = None
    MAIL_PORT = 25
    MAIL_USE_TLS = False
    MAIL_USERNAME: str | None = None
    MAIL_PASSWORD: str | None = None
    MAIL_SENDER = "vigie@localhost"
    # Alerts (issue 11). Problems of one member starting within ALERT_DELAY seconds make one
    # message; a problem repaired within it makes none.
    ALERT_DELAY = 60
    # embedded: a background thread of `flask vigie serve`; external: `flask vigie notify`
    NOTIFY_WORKER = "embedded"
    NOTIFY_INTERVAL = 1.0  # seconds between two rounds of the delivery worker
    NOTIFY_MAX_ATTEMPTS = 8  # then the message is failed (backoff 30 s × 2^n, at most 1 h)
    NOTIFY_LEASE = 60  # seconds a claimed message stays with its worker before another retries
    MAINTENANCE_NOTICE_AHEAD = 24 * 3600  # planned maintenances are told this long before
    # Web Push: keys made once by `flask vigie push keys` (instance/vapid_private.pem)
    VAPID_SUBJECT = "mailto:support@vigie.invalid"  # a real mailto: or https: address
    VAPID_PRIVATE_KEY_FILE: str | None = None  # default: instance/vapid_private.pem
    PUSH_TTL = 24 * 3600  # seconds a push service keeps a message for an offline phone
    # Push endpoints the server may POST to: https on public addresses only, unless this
    # is true (default: true outside production, for a local push service).
    PUSH_ALLOW_LOOPBACK: bool | None = None
    # SMS: VIGIE_SMS_PROVIDER=ovh|http (empty: no SMS)
    SMS_PROVIDER: str | None = None
    SMS_SENDER = "VIGIE"  # at most 11 letters or digits
    SMS_HTTP_URL: str | None = None
    SMS_HTTP_METHOD = "POST"
    SMS_HTTP_BODY: str | dict | None = None  # a template with {to} and {message}
    SMS_HTTP_HEADERS: dict | str | None = None  # JSON object
    OVH_ENDPOINT = "ovh-eu"  # or an https:// URL of the API
    OVH_APPLICATION_KEY: str | None = None
    OVH_APPLICATION_SECRET: str | None = None
    OVH_CONSUMER_KEY: str | None = None
    OVH_SMS_SERVICE: str | None = None  # the sms-xx12345-1 account
    # Flask-Compress: the portal compresses its own answers (pages, JSON, scripts, styles,
    # SVG), as the production proxy would; VIGIE_COMPRESS_REGISTER=false turns it off.
    # Socket.IO's traffic never goes through it (python-engineio answers before Flask).
    COMPRESS_ALGORITHM = ["br", "gzip"]
    COMPRESS_ALGORITHM_STREAMING = ["br"]  # streamed answers (attachments, exports)
    COMPRESS_MIMETYPES = [
        "text/html",
        "text/css",
        "text/javascript",
        "application/javascript",
        "application/json",
        "application/problem+json",
        "application/manifest+json",
        "image/svg+xml",
        "text/plain",
        "text/csv",
    ]
    COMPRESS_BR_LEVEL = 5
    # Flask / cookies
    SESSION_COOKIE_SECURE = False  # forced to True when ENV=production
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    WTF_CSRF_TIME_LIMIT = None
    # Legal pages (issue 15): /mentions-legales, /donnees-personnelles, /accessibilite,
    # /contact and /.well-known/security.txt. The defaults describe a demo installation for
    # Moselle Fibre: every one of them is to be configured (VIGIE_LEGAL_PUBLISHER…); while one
    # is left as shipped, the pages say that their details are the demo's.
    LEGAL_PUBLISHER = "Syndicat mixte Moselle Fibre"
    LEGAL_DIRECTOR = "Le président du syndicat Moselle Fibre"  # director of publication
    LEGAL_HOST = (
        "Moselle Fibre, sur ses propres serveurs (auto-hébergement), à l’adresse postale ci-dessus"
    )
    # The non-digital way to reach the service (CSD 2023-302): a phone number and a postal
    # address, shown in the footer of every page and on /contact.
    CONTACT_PHONE = "03 87 00 00 00"
    CONTACT_HOURS = "du lundi au vendredi, de 9 h à 12 h et de 14 h à 17 h"
    CONTACT_POSTAL_ADDRESS = "Moselle Fibre – service Vigie, 1 rue de l’Exemple, 57000 Metz"
    DATA_CONTROLLER = "Moselle Fibre, représenté par son président"
    DPO_CONTACT = "dpo@vigie.invalid"  # the data protection officer: an e-mail address
    SECURITY_CONTACT = "mailto:securite@vigie.invalid"  # security.txt Contact: (mailto:/https:)
    ACCESSIBILITY_CONTACT = "accessibilite@vigie.invalid"  # feedback on accessibility
    # The RGAA self-audit (grille.csv and its files) the statement and the footer are computed
    # from.
    ACCESSIBILITY_AUDIT_DIR: str | None = None  # default: docs/rgaa
    # VIGIE_TIMEZONE: the syndicate's time zone; every time shown (pages, live updates,
    # messages) is in it, whatever the reader's device says.
    TIMEZONE = "Europe/Paris"
    BABEL_DEFAULT_LOCALE = "fr"
    LANGUAGES = ("fr", "en")
    MAX_CONTENT_LENGTH = 1024 * 1024


class TestConfig(BaseConfig):
    """Used by the test suite: demo source, fast hashes, no rate limit surprises."""

    TESTING = True
    SECRET_KEY = "test-secret-key-not-for-production"
    SOURCE = "demo"
    RATELIMIT_ENABLED = True
    BASE_URL = "http://localhost"
    # The suite's estate is the six small members; the tests of the large maps ask
    # for eight (``DEMO_MEMBERS=8``), the benchmarks for 300.
    DEMO_MEMBERS = 6


class DemoConfig(BaseConfig):
    """What ``make run`` uses."""

    SOURCE = "demo"


class ConfigError(ValueError):
    """A setting that stops Vigie from starting; its message is one French line."""


def check_production(config) -> None:
    """Refuse a production start without its own secret key or with the demo source.

    ``config`` is a mapping of the settings (the app's, or gunicorn's master's built from
    the same ``VIGIE_*`` environment). ``SECRET_KEY_GENERATED`` is set by the factory when
    the key came from the instance folder rather than from ``VIGIE_SECRET_KEY``.

    Raises
    ------
    ConfigError
        With ``VIGIE_ENV=production``: no ``VIGIE_SECRET_KEY``, or ``VIGIE_SOURCE=demo``.
    """
    if config.get("ENV") != "production":
        return
    if not config.get("SECRET_KEY") or config.get("SECRET_KEY_GENERATED"):
        raise ConfigError(
            "VIGIE_ENV=production demande VIGIE_SECRET_KEY : une clé secrète longue et "
            'aléatoire, propre à cette installation (ex. python -c "import secrets; '
            'print(secrets.token_urlsafe(48))").'
        )
    if config.get("SOURCE", "demo") == "demo":
        raise ConfigError(
            "VIGIE_ENV=production refuse la source de démonstration : "
            "réglez VIGIE_SOURCE=zabbix et son accès (VIGIE_ZABBIX_URL, VIGIE_ZABBIX_TOKEN)."
        )


def trusted_proxies(value) -> int:
    """The number of trusted proxy hops ``VIGIE_TRUSTED_PROXIES``: an integer, 0 or more."""
    if isinstance(value, bool):
        value = None
    try:
        hops = int(str(value).strip()) if value is not None else None
    except ValueError:
        hops = None
    if hops is None or hops < 0:
        raise ConfigError(
            f"VIGIE_TRUSTED_PROXIES={value!r} : nombre de proxys de confiance attendu "
            "(0 sans proxy, 1 derrière un nginx)."
        )
    return hops


def load_or_create_secret(instance_path: str) -> str:
    """Return the secret key stored in the instance folder, creating it once."""
    path = Path(instance_path) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    os.makedirs(instance_path, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key
