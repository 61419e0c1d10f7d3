"""Errors users read. Every message is the Chinese text shown in the UI or the API."""

from __future__ import annotations


class HallError(Exception):
    """Base of the errors the hall answers to a user (never a crash)."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, errors: dict | list | None = None, **refers):
        super().__init__(message)
        self.message = message
        self.errors = errors or {}
        #: What the refusal is about, for a client to act on (e.g. the open application a
        #: second start meets: `instance_id`), answered beside `errors`.
        self.refers = refers


class InvalidInput(HallError, ValueError):
    """Bad input: a field (or a row of a file) breaks a rule. Nothing was written."""

    status = 422
    code = "invalid"


class BusinessRuleViolation(HallError, ValueError):
    """The input is well formed but the business state forbids it."""

    status = 422
    code = "rule"


class NotFound(HallError):
    status = 404
    code = "not_found"


class Forbidden(HallError):
    status = 403
    code = "forbidden"


class Conflict(HallError):
    """Someone else acted first (concurrent completion, stale revision)."""

    status = 409
    code = "conflict"


class AuthFailed(HallError):
    status = 401
    code = "unauthorized"
