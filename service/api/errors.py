"""Expected failures of the service, each with the HTTP status it is answered with."""

from __future__ import annotations

from vidstyle.core.errors import VidstyleError


class ServiceError(VidstyleError):
    """An expected failure with the HTTP status to answer and a one-line reason."""

    status_code = 500
    retry_later = False  # answered with Retry-After (serve.retry_after_s): the same request may work later

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(ServiceError):
    status_code = 404


class Unprocessable(ServiceError):
    status_code = 422


class Conflict(ServiceError):
    """The request is fine, but the stored state does not allow it now (the reason says what to fix)."""

    status_code = 409


class Unavailable(ServiceError):
    status_code = 503
    retry_later = True


class WritesDisabled(ServiceError):
    status_code = 403


class StartupError(VidstyleError, ValueError):
    """The service cannot start on these inputs (the CLI prints the message as its one-line reason)."""
