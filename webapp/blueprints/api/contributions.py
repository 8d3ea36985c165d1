"""JSON API v1: contributions (views on ``bp``)."""

from webapp.blueprints.api.routes import bp  # noqa: F401
