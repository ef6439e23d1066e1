"""Domain errors shared by every layer, mapped to HTTP statuses only at the edges."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A request the domain refuses, with a message a practitioner can act on."""


class NotFound(DomainError):
    """Missing *or* forbidden: callers must not be able to tell which."""


class PermissionDenied(DomainError):
    """The actor may see the object but not do this to it."""


class ValidationFailed(DomainError):
    """Input refused, with messages per field (paths like ``subject.nhs_number``)."""

    def __init__(self, errors: dict[str, Any]):
        super().__init__("validation failed")
        self.errors = errors
