"""Probe pools, member side: the meter, pool orders and contributions (views on ``bp``)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("probes", __name__)
