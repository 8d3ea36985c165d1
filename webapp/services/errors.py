"""Domain exceptions raised by services and mapped to HTTP answers in ``webapp.errors``."""

from __future__ import annotations


class VigieError(Exception):
    """Base of the domain exceptions."""


class NotFound(VigieError):
    """The object does not exist, or the caller may not know it exists."""


class MemberNotFound(NotFound):
    pass


class PermissionDenied(VigieError):
    """The caller knows the object but may not do this with it."""


class ValidationError(VigieError):
    """Input refused; ``errors`` maps a field name to a French message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class Conflict(VigieError):
    """The action does not fit the object's current state (already decided, cancelled…).

    ``code`` names the case for the JSON API; the message is French, for people.
    """

    def __init__(self, code: str, message: str, **extra: object) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.extra = extra
