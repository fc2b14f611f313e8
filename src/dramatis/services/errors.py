"""Errors the services raise for requests that cannot be served as asked."""

from __future__ import annotations


class ServiceError(Exception):
    """Base class: a request the user can fix (the CLI exits 2 with the message)."""


class NotFound(ServiceError):
    """No such campaign, persona or chronicle for this tenant."""


class BadRequest(ServiceError):
    """The request's arguments do not make sense (e.g. a fork beyond the last turn)."""


class PermissionDenied(ServiceError):
    """The acting role may not do this (e.g. a viewer toggling a flag)."""
