"""Probe pools, member side: meter (views on ``bp``)."""

from webapp.blueprints.probes.routes import bp  # noqa: F401
