"""Exceptions raised by :mod:`topology`.

Every error derives from :class:`TopologyError`, so callers (the web services)
can catch the whole family at once and map it to an HTTP error.
"""

from __future__ import annotations

__all__ = [
    "DuplicateHostError",
    "InvalidDataError",
    "TopologyError",
    "UnknownRootError",
]


class TopologyError(Exception):
    """Base class of every error raised by the topology package."""


class InvalidDataError(TopologyError, ValueError):
    """An input value is outside its domain (severity, availability, parameter...)."""


class DuplicateHostError(InvalidDataError):
    """Two hosts share a ``hostid``, or a ``hostid`` collides with the root node id."""


class UnknownRootError(TopologyError, KeyError):
    """The root node asked for is not in the graph.

    Examples
    --------
    >>> str(UnknownRootError("internet"))
    "'internet'"
    """
