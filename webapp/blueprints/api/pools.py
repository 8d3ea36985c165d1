"""JSON API v1: pools (views on ``bp``)."""

from webapp.blueprints.api.routes import bp  # noqa: F401
