"""One error hierarchy; each class carries its own transport meaning.

Every class says, once, what it means to each front door:

* ``exit_code``: the CLI's exit code (README: 2 bad input, 3 not found,
  4 conflict, 5 configuration, 6 transient, 7 gate failed, 8 serving behind the registry);
* ``http_status``: the HTTP status an HTTP function answers with;
* ``retryable``: whether an event function raises it (the platform answers 500
  and redelivers) or logs and acknowledges it.

The CLI (``common/cli/main.py``), the HTTP functions and the event runner
(``common/runner.py:run_event``) read these attributes; none of them maps one
transport onto another.
"""

from __future__ import annotations


class AppError(Exception):
    """Root of every error this system raises on purpose."""

    #: whether an event carrying the same input should be redelivered later
    retryable: bool = False
    #: exit code the CLI uses for this class of error
    exit_code: int = 1
    #: status an HTTP function answers with
    http_status: int = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class NotFound(AppError):
    """A model, object or record that was asked for does not exist."""

    exit_code = 3
    http_status = 404


class Conflict(AppError):
    """The request contradicts the current state (an illegal transition, a clash)."""

    exit_code = 4
    http_status = 409


class InvalidEvent(AppError):
    """An incoming event is malformed; redelivering it cannot help."""

    exit_code = 2
    http_status = 400


class InvalidModel(AppError):
    """A model file or its metadata fails validation."""

    exit_code = 2
    http_status = 422


class InvalidArgument(AppError):
    """A command-line or API argument is out of range or inconsistent."""

    exit_code = 2
    http_status = 400


class InvalidData(AppError):
    """Season data (box scores, lines, snapshots) that fails validation: every reason is listed."""

    exit_code = 2
    http_status = 422

    def __init__(self, what: str, reasons: list[str]) -> None:
        self.reasons = tuple(reasons)
        listed = "".join(f"\n  - {r}" for r in reasons)
        super().__init__(f"{what} refused, {len(reasons)} problem(s):{listed}")


class ConfigError(AppError):
    """Configuration is missing or wrong (an env var, a URL, an out-of-date schema).

    Retryable: an event must wait for the deployment to be fixed (e.g. "run
    `modelctl migrate`"), not be lost.
    """

    retryable = True
    exit_code = 5
    http_status = 500


class MissingDatabase(ConfigError):
    """The registry database does not exist yet; only ``modelctl migrate`` creates one."""


class MissingTable(ConfigError):
    """A table (or the dataset) a query names does not exist: the schema is older than the code.
    Kept apart from other configuration errors (no credentials, a bad URL), which must be
    reported as themselves, never as "schema version 0"."""


class TransientError(AppError):
    """A dependency is unreachable or busy; the same input may succeed later."""

    retryable = True
    exit_code = 6
    http_status = 503


class GateFailed(AppError):
    """A trained model failed a governance gate: nothing is uploaded or registered."""

    exit_code = 7
    http_status = 422


class ServingBehind(AppError):
    """The serving manifest could not be rebuilt from the registry (e.g. the bucket is read-only).

    From a command that changed the registry: the change is committed, only what serves lags
    behind it. The next registry command, the nightly job, a redelivery and the workers' check
    converge it; whether redelivering the same message can help is the cause's ``retryable``.
    """

    exit_code = 8
    http_status = 503

    def __init__(self, message: str, reason: str | None = None, retryable: bool = True) -> None:
        super().__init__(message)
        self.reason = reason or message
        self.retryable = retryable

    @classmethod
    def rebuilding(cls, cause: BaseException) -> ServingBehind:
        """The serving manifest could not be rebuilt because of ``cause``."""
        reason = str(cause) if isinstance(cause, AppError) else f"{type(cause).__name__}: {cause}"
        retryable = cause.retryable if isinstance(cause, AppError) else True
        return cls(f"serving manifest not yet rebuilt ({reason})", reason, retryable)
