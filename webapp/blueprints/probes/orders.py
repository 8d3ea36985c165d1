"""Probe pools, member side: orders (views on ``bp``)."""

from webapp.blueprints.probes.routes import bp  # noqa: F401
