"""Vigie: the self-service portal of a shared IT-supervision service."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo
from zoneinfo import ZoneInfoNotFoundError

from flask import Flask

from webapp.config import BaseConfig
from webapp.config import load_or_create_secret
from webapp.config import trusted_proxies

ROOT = Path(__file__).resolve().parent.parent

__all__ = ["create_app"]


def create_app(config: dict[str, Any] | type | None = None) -> Flask:
    """Build the application: defaults, then ``VIGIE_*`` environment, then ``config``."""
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(ROOT / "instance"),
        instance_relative_config=True,
    )
    _load_config(app, config)
    _configure_logging(app)
    _register_compression(app)
    _register_hardening(app)
    _register_extensions(app)
    _register_blueprints(app)
    _register_errors(app)
    _register_cli(app)
    _register_template_helpers(app)
    _register_proxies(app)
    return app


def _load_config(app: Flask, config: dict[str, Any] | type | None) -> None:
    app.config.from_object(BaseConfig)
    if isinstance(config, type):
        app.config.from_object(config)
        config = None
    app.config.from_prefixed_env("VIGIE")
    if config:
        app.config.from_mapping(config)
    app.config["BABEL_DEFAULT_TIMEZONE"] = _time_zone(app.config.get("TIMEZONE"))
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = load_or_create_secret(app.instance_path)
        # Fine for development; `flask vigie serve` and gunicorn refuse it in production.
        app.config["SECRET_KEY_GENERATED"] = True
    url = app.config.get("DATABASE_URL") or f"sqlite:///{Path(app.instance_path) / 'vigie.db'}"
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    if app.config["ENV"] == "production":
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["REMEMBER_COOKIE_SECURE"] = True
        # __Host-: the browser keeps it only if Secure, for the whole site (Path=/), and
        # for this host alone (no Domain), so no sibling subdomain can set or shadow it.
        app.config["SESSION_COOKIE_NAME"] = "__Host-vigie"
        app.config["SESSION_COOKIE_PATH"] = "/"
        app.config["SESSION_COOKIE_DOMAIN"] = None
        if app.config.get("SOURCE") == "demo" and not app.config.get("ALLOW_DEMO_IN_PRODUCTION"):
            # `flask vigie serve` and gunicorn refuse to start so (config.check_production).
            app.logger.warning("VIGIE_ENV=production with the demo source")
    app.config["TRUSTED_PROXIES"] = trusted_proxies(app.config.get("TRUSTED_PROXIES", 0))


def _time_zone(name: Any) -> str:
    """The configured time zone, checked: one clock for every time Vigie shows."""
    try:
        ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"VIGIE_TIMEZONE={name!r} n'est pas un fuseau horaire connu (ex. Europe/Paris)"
        ) from None
    return str(name)


def _configure_logging(app: Flask) -> None:
    if not app.debug and not app.testing:
        logging.basicConfig(
            level=app.config.get("LOG_LEVEL", "INFO"),
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
    logging.getLogger("alembic").setLevel(logging.WARNING)


def _register_compression(app: Flask) -> None:
    from webapp import assets
    from webapp.extensions import compress

    # First registered, so its after_request runs last, on the finished response.
    compress.init_app(app)
    assets.init_app(app)


def _register_hardening(app: Flask) -> None:
    from webapp import hardening

    hardening.init_app(app)  # before any rule: the bounded <int:…>


def _register_proxies(app: Flask) -> None:
    """The outermost WSGI layer (around Socket.IO's too): trusted proxy hops only."""
    from webapp.proxies import TrustedProxies

    app.wsgi_app = TrustedProxies(app.wsgi_app, app.config["TRUSTED_PROXIES"])


def _register_extensions(app: Flask) -> None:
    from webapp import proconnect
    from webapp import realtime
    from webapp import security
    from webapp.extensions import babel
    from webapp.extensions import csrf
    from webapp.extensions import db
    from webapp.extensions import htmx
    from webapp.extensions import limiter
    from webapp.extensions import mail
    from webapp.extensions import migrate
    from webapp.i18n import select_locale
    from webapp.live import monitor

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(
        app,
        locale_selector=select_locale,
        default_translation_directories=str(ROOT / "translations"),
    )
    htmx.init_app(app)
    mail.init_app(app)
    security.init_app(app)
    proconnect.init_app(app)
    monitor.init_app(app)
    realtime.init_app(app)


def _register_blueprints(app: Flask) -> None:
    from webapp.blueprints import register_all

    register_all(app)


def _register_errors(app: Flask) -> None:
    from webapp.errors import register_error_handlers

    register_error_handlers(app)


def _register_cli(app: Flask) -> None:
    from webapp.cli import vigie

    app.cli.add_command(vigie)


def _register_template_helpers(app: Flask) -> None:
    from webapp.templating import register

    register(app)
