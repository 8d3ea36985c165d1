"""Probe pools, member side: contributions (views on ``bp``)."""

from webapp.blueprints.probes.routes import bp  # noqa: F401
