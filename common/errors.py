"""One error hierarchy with an explicit retry contract.

Handlers translate these into delivery outcomes:

* ``TransientError`` (and only it) is raised out of a Cloud Function so the
  platform answers 500 and redelivers the event later.
* Every other ``AppError`` is permanent: it is logged with its reason and the
  event is acknowledged, so a bad object never causes a retry storm.
"""

from __future__ import annotations


class AppError(Exception):
    """Root of every error this system raises on purpose."""

    #: whether retrying the same input later may succeed
    retryable: bool = False
    #: exit code the CLI uses for this class of error
    exit_code: int = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class NotFound(AppError):
    """A model, object or record that was asked for does not exist."""

    exit_code = 3


class Conflict(AppError):
    """The request contradicts the current state (an illegal transition, a clash)."""

    exit_code = 4


class InvalidEvent(AppError):
    """An incoming event is malformed; redelivering it cannot help."""

    exit_code = 2


class InvalidModel(AppError):
    """A model file or its metadata fails validation."""

    exit_code = 2


class InvalidArgument(AppError):
    """A command-line or API argument is out of range or inconsistent."""

    exit_code = 2


class ConfigError(AppError):
    """Configuration is missing or wrong (an env var, a URL, an out-of-date schema)."""

    exit_code = 5


class TransientError(AppError):
    """A dependency is unreachable or busy; the same input may succeed later."""

    retryable = True
    exit_code = 6


class GateFailed(AppError):
    """A trained model failed a governance gate: nothing is uploaded or registered."""

    exit_code = 7
