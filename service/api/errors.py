"""Expected failures of the service, each with the HTTP status it is answered with."""

from __future__ import annotations


def first_line(exc: BaseException) -> str:
    """An exception as a one-line reason: the first line of its message, or its type when it has none."""
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


class ServiceError(Exception):
    """An expected failure with the HTTP status to answer and a one-line reason."""

    status_code = 500

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(ServiceError):
    status_code = 404


class Unprocessable(ServiceError):
    status_code = 422


class Unavailable(ServiceError):
    status_code = 503


class WritesDisabled(ServiceError):
    status_code = 403


class StartupError(ValueError):
    """The service cannot start on these inputs (the CLI prints the message as its one-line reason)."""
