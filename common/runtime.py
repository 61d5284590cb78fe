"""One runtime per process: the clients every service uses, built from ``Settings`` once.

A deployed function (``process_runtime()``, from its environment) and a ``modelctl`` command
(``runtime_for(settings)`` after its options) build one ``Runtime``; the services get it, or
what it holds, from there. It builds nothing when it is made: SQL engines
(``MODEL_REGISTRY_URL``), buckets (``MODEL_BUCKET_URL``, and the buckets model paths name) and
the event bus (``EVENT_BUS_URL``) are opened on first use and then kept, by URL, for the life
of the process: a worker's poller, a request and an acknowledgement reuse one storage client
and one engine instead of building one each time.

Keeping an engine keeps no connection: the DuckDB engine opens its file per operation, or
once per ``common.sql.engine_session`` (one command, one request), exactly as before, so a
process holds the file no longer than it did (``tests/test_connections.py``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from common.errors import AppError
from common.settings import Settings

if TYPE_CHECKING:
    from common.eventbus import EventBus
    from common.registry.service import RegistryService
    from common.sql import Engine, Params, Statement
    from common.storage import Bucket

T = TypeVar("T")


class Runtime:
    """The process's engines, buckets and event bus, each built once per URL."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()
        #: how many clients this runtime has built (an idle worker builds none after its start)
        self.built = 0

    def _cached(self, kind: str, url: str, build: Callable[[], T]) -> T:
        with self._lock:
            key = (kind, url)
            if key not in self._clients:
                self._clients[key] = build()
                self.built += 1
            return self._clients[key]  # type: ignore[no-any-return]

    def engine(self, url: str | None = None) -> Engine:
        """The SQL engine on ``url`` (default ``MODEL_REGISTRY_URL``)."""
        from common.sql import open_engine

        url = url or self.settings.registry_url
        return self._cached("engine", url, lambda: open_engine(url))

    def read_only_engine(self, url: str | None = None) -> Engine:
        """The engine on ``url``, refusing every write (the dashboard's)."""
        engine = self.engine(url)
        return self._cached("read-only engine", engine.url, lambda: ReadOnlyEngine(engine))

    def bucket(self, url: str | None = None) -> Bucket:
        """The bucket at ``url`` (default ``MODEL_BUCKET_URL``)."""
        from common.storage import open_bucket

        url = url or self.settings.bucket_url
        return self._cached("bucket", url, lambda: open_bucket(url))

    def bus(self) -> EventBus:
        """The event bus on ``EVENT_BUS_URL``."""
        from common.eventbus import open_bus

        return self._cached("bus", self.settings.event_bus_url, lambda: open_bus(self.settings))

    def registry(self, check_schema: bool = True, read_only: bool = False, announce: bool = True) -> RegistryService:
        """The registry service on ``MODEL_REGISTRY_URL`` (refusing an out-of-date schema unless
        told not to). Promotions weigh grading's evidence and every committed change is announced
        on the registry-change topic (unless not ``announce``); ``read_only``: neither, and every
        write refused before it reaches the database."""
        from common.registry.service import RegistryService
        from common.registry.store import RegistryStore

        if read_only:
            store = RegistryStore(self.read_only_engine())
            evidence = None
        else:
            from common.announce import promotion_evidence

            store = RegistryStore(self.engine())
            evidence = promotion_evidence(self.settings, self.engine)
        if check_schema:
            store.require_current_schema()
        registry = RegistryService(store, actor=self.settings.actor, evidence=evidence)
        if announce and not read_only:
            from common.announce import change_publisher

            registry.subscribe(change_publisher(self.bus))
        return registry


class ReadOnlyEngine:
    """An engine that reads and refuses every write, before it reaches the database."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self.url = engine.url

    def query(self, sql: str, params: Params | None = None) -> list[dict[str, Any]]:
        return self._engine.query(sql, params)

    def query_frame(self, sql: str, params: Params | None = None) -> Any:
        return self._engine.query_frame(sql, params)

    def _refuse(self, what: str) -> AppError:
        return AppError(f"{self.url} is open read-only here: {what} refused")

    def run_atomic(self, statements: Sequence[Statement]) -> None:
        raise self._refuse("a write")

    def apply_migration(
        self, version: int, name: str, statements: Sequence[str], record: Statement | None = None
    ) -> None:
        raise self._refuse(f"migration {name}")

    def write_frame(self, table: str, frame: Any, delete: Statement) -> None:
        raise self._refuse(f"a write to {table}")

    def close(self) -> None:
        """The engine belongs to the runtime, which outlives this view of it."""


_RUNTIMES: dict[Settings, Runtime] = {}
_GUARD = threading.Lock()


def runtime_for(settings: Settings) -> Runtime:
    """The process's runtime for ``settings``: built on the first call, the same one after."""
    with _GUARD:
        found = _RUNTIMES.get(settings)
        if found is None:
            found = _RUNTIMES[settings] = Runtime(settings)
        return found


def process_runtime() -> Runtime:
    """A deployed function's runtime, from its environment (``common.runner.environment_settings``:
    the same one while the environment is, for a deployed function the life of the instance)."""
    from common.runner import environment_settings

    return runtime_for(environment_settings())


def reset() -> None:
    """Forget every runtime (tests: another test's emulators and environment)."""
    with _GUARD:
        _RUNTIMES.clear()
