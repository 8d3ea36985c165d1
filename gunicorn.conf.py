"""gunicorn settings for Vigie (``gunicorn -c gunicorn.conf.py wsgi:app``).

gevent workers by default: one greenlet per open websocket, so a worker holds
thousands of live maps (Flask-SocketIO in gevent mode with simple-websocket;
psycopg and redis-py cooperate once gunicorn has monkey-patched the worker).
``VIGIE_WORKER_CLASS=gthread`` falls back to one thread per websocket (fine for
a few hundred). Clients use the websocket transport only, so several workers
need no sticky sessions; they relay what the poller publishes through Redis
(VIGIE_SOCKETIO_MESSAGE_QUEUE) and read its snapshot (VIGIE_SNAPSHOT_STORE_URL).
"""

import os
import resource
import sys

from gunicorn.glogging import Logger

bind = os.environ.get("VIGIE_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("VIGIE_WORKERS", "2"))
worker_class = os.environ.get("VIGIE_WORKER_CLASS", "gevent")
# gevent: open connections per worker (gunicorn's default, 1000, silently caps clients).
# gthread: the same cap, and `threads` is the number of websockets served at once.
worker_connections = int(os.environ.get("VIGIE_WORKER_CONNECTIONS", "5000"))
threads = int(os.environ.get("VIGIE_THREADS", "200"))
timeout = 60
graceful_timeout = 10
keepalive = 5
accesslog = "-" if os.environ.get("VIGIE_ACCESS_LOG") else None
# gunicorn's default line (combined log format); every field of it goes through
# RedactingLogger, so a kiosk, password or unsubscribe link's secret never reaches the log.
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"'
# gunicorn itself trusts no X-Forwarded-Proto: the app does, for exactly VIGIE_TRUSTED_PROXIES
# hops (webapp/proxies.py, Werkzeug's ProxyFix), one rule whatever serves it.
secure_scheme_headers: dict[str, str] = {}
forwarded_allow_ips = os.environ.get("VIGIE_FORWARDED_ALLOW_IPS", "127.0.0.1")


class RedactingLogger(Logger):
    """gunicorn's logger; the access log's fields without the secret of a link's path.

    The request line, the path, the query, the referer (a page opened from a link sends it)
    and any header or environ field a custom format may name: all through
    :func:`webapp.hardening.redact` (imported when the first line is written, in the worker).
    """

    def atoms(self, resp, req, environ, request_time):
        from webapp.hardening import redact

        return {
            key: redact(value) if isinstance(value, str) else value
            for key, value in super().atoms(resp, req, environ, request_time).items()
        }


logger_class = RedactingLogger


def on_starting(server) -> None:
    """Check the settings; each websocket holds a file descriptor: raise the soft limit."""
    _check_settings()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = workers * worker_connections + 100
    if soft < wanted and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft < wanted:
        server.log.warning(
            "Open files limited to %d (< %d workers x %d connections): raise LimitNOFILE",
            soft,
            workers,
            worker_connections,
        )


def _check_settings() -> None:
    """A missing or wrong source setting, or production without its secret key or with the
    demo source, stops gunicorn at once, in one line.

    Checked here, in the master, from the same ``VIGIE_*`` environment the app reads
    (the app itself builds its source on first use): otherwise every worker would
    fail on its first page. Nothing is imported that the workers' monkey-patching
    should come before, and nothing is sent.
    """
    from flask import Config

    from webapp.config import BaseConfig
    from webapp.config import ConfigError
    from webapp.config import check_production
    from webapp.config import trusted_proxies
    from webapp.sources import check_settings
    from webapp.sources.base import SourceConfigError

    config = Config(os.getcwd())
    config.from_object(BaseConfig)
    config.from_prefixed_env("VIGIE")
    try:
        check_production(config)
        trusted_proxies(config.get("TRUSTED_PROXIES", 0))
        check_settings(config)
    except (ConfigError, SourceConfigError) as exc:
        print(f"Erreur : {exc}", file=sys.stderr, flush=True)
        sys.exit(1)
