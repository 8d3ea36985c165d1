"""Syndicate administration: journal (views on ``bp``)."""

from webapp.blueprints.admin.routes import bp  # noqa: F401
