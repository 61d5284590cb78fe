"""The prediction worker: champion plus every shadow, hot-reloaded without restart.

A reload loads the new set *beside* the old one (reusing unchanged models), then
swaps one reference. A prediction takes the reference once at its start, so it
finishes on the set it started with; a swap never fails a request. The new set
scores model by model at once; its fused ensembles (``fusion.py``) are built in
the background and swapped in the same way. A poller
watches the manifest's generation, so a worker converges even when it missed
the registry-change message.

A new set that lacks a loadable champion is never swapped in over one that has
one: the worker keeps the last good set and says why (log, ``status()``, its
acknowledgement in ``worker_acks``). With no champion at all it refuses to score.
What could not be loaded (a refused set, a skipped champion or shadow) is retried
every ``WORKER_RETRY_SECONDS``, even when the manifest's generation does not move.

Every ``REGISTRY_CHECK_SECONDS`` the poller also compares the manifest with the
registry (``common.manifest.serving_lag``). A manifest behind the registry (its
rebuild failed) is reported and a resync is announced on the registry-change topic:
the one manifest writer, ``on_registry_change``, rebuilds it. Workers only read the
bucket (their service account may not write it), so they never write the manifest.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from common.errors import AppError, TransientError
from common.manifest import Manifest, ServingLag
from common.runtime import Runtime, runtime_for
from common.settings import Settings
from common.worker.acks import AckStore, WorkerAck
from common.worker.fusion import ScoringPlan, plan_scoring
from common.worker.memory import release
from common.worker.scoring import champion_picks, score_slate
from common.worker.serving import ModelCache, ServingSet, build_serving_set, slim
from common.worker.slate import Slate
from common.worker.sources import ManifestWatch, resolve_plan

if TYPE_CHECKING:
    from common.data.season import SeasonData

log = logging.getLogger(__name__)
REBUILD_DELAY = 10.0  # seconds a reloaded set serves through the carried-over ensembles before its own are built


def _nothing() -> None:
    return None


class Worker:
    """Holds the current ``ServingSet`` and scores slates with it."""

    def __init__(
        self,
        settings: Settings,
        worker_id: str | None = None,
        cache_dir: Path | None = None,
        fuse: bool | None = None,
        runtime: Runtime | None = None,
    ) -> None:
        self.settings = settings
        # the process's engine, bucket and bus: the poller, requests and acknowledgements share them
        self.runtime = runtime or runtime_for(settings)
        self._manifest = ManifestWatch(self.runtime.bucket)
        # build fused ensembles after each swap (FUSED_SCORING; off for a one-slate command)
        self.fuse = settings.fused_scoring if fuse is None else fuse
        self._fusing: threading.Thread | None = None
        self.worker_id = worker_id or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:4]}"
        self.cache_dir = cache_dir or Path(settings.model_cache_dir)
        self.cache = ModelCache(self.cache_dir, settings.bucket_url, self.runtime.bucket)
        self._current = ServingSet(generation=-2, source="none", models=())
        self._refused: tuple[int, str, float] | None = None  # (generation, source, when) of a set not swapped in
        self._refused_reason: str | None = None
        self._built_at = 0.0  # monotonic time of the last serving set built (swapped or not)
        self._lag: ServingLag | None = None  # the last comparison of the manifest with the registry
        self._ack_pending = False  # a reload whose acknowledgement is still to be written
        self._check_error: str | None = None  # why the last comparison could not be made, if it could not
        self._reload_lock = threading.Lock()
        self._stop = threading.Event()
        self._start_rebuild: Callable[[], None] = _nothing  # the pending fused rebuild, now
        self._poller: threading.Thread | None = None

    @property
    def current(self) -> ServingSet:
        return self._current

    @property
    def behind(self) -> str | None:
        """Why what this worker serves is behind the registry (its manifest was not rebuilt), or None."""
        lag, current = self._lag, self._current
        if lag is None or not lag.behind or current.source != "manifest":
            return None
        if current.generation > (lag.manifest_generation or 0):
            return None  # a newer manifest has been loaded since the check
        return f"serving is behind the registry: {lag.detail}"

    @property
    def problem(self) -> str | None:
        """Why this worker holds an older set or cannot produce picks; None when all is well."""
        found = [p for p in (self._refused_reason or self._current.problem, self.behind) if p]
        return "; ".join(found) or None

    def status(self) -> dict[str, Any]:
        """What this worker serves and what is wrong with it (``GET /status``)."""
        lag = self._lag.to_dict() if self._lag else None
        return {"worker_id": self.worker_id, **self._current.ack(), "problem": self.problem,
                "behind_registry": self.behind is not None, "registry_check": lag,
                "registry_check_error": self._check_error}  # fmt: skip

    # -- loading -----------------------------------------------------------------------------
    def reload(self, force: bool = False, acknowledge: bool = True, manifest: Manifest | None = None) -> bool:
        """Load what the sources say now; swap if it differs and has a loadable champion
        (or nothing better is serving). Returns whether it swapped.

        ``acknowledge=False`` leaves the acknowledgement off a prediction's critical path: the
        poller writes it at its next tick, or the caller after its response (``acknowledge()``).
        ``manifest``: the serving manifest just read (by the poller), not read again; without it,
        the manifest is read through the poller's watch (downloaded only when it moved).
        """
        with self._reload_lock:
            plan = resolve_plan(self.runtime, self.cache_dir, manifest or self._manifest.current())
            if not force and self._unchanged(plan.generation, plan.source):
                return False
            old = self._current
            new = build_serving_set(plan.entries, plan.generation, plan.source, self.cache, old, fuse=False)
            self._built_at = time.monotonic()
            swapped = self._swap(new)
            if swapped:
                self._log_loaded(new)
                if self.fuse:
                    self._fuse_beside(new, old.prepared)
            unused = [old] if swapped else [new]  # dropped on the models thread, which read its models
            del old, new
            if unused[0].models:
                release(unused)
        if self.problem:
            log.error("%s", self.problem, extra={"worker_id": self.worker_id, "problem": self.problem})
        if acknowledge:
            self.acknowledge()
        else:
            self._ack_pending = True
        return swapped

    def _log_loaded(self, new: ServingSet) -> None:
        from_builtin = len(new.models) if new.source == "built-in" else 0
        log.info(
            "Loaded %d models (%d from registry, %d from built-in): generation %d via %s, champion %s, %d skipped",
            len(new.models), len(new.models) - from_builtin, from_builtin, new.generation, new.source,
            new.champion.model_id if new.champion else None, len(new.skipped),
            extra={"worker_id": self.worker_id, "ack": new.ack()},
        )  # fmt: skip

    def _unchanged(self, generation: int, source: str) -> bool:
        """The plan is what already serves, or a set refused less than WORKER_RETRY_SECONDS ago."""
        if generation < 0:  # built-in (or nothing): no generation to compare, always rebuild
            return False
        if (generation, source) == (self._current.generation, self._current.source):
            return True
        return self._recently_refused(generation, source)

    def _recently_refused(self, generation: int, source: str = "manifest") -> bool:
        refused = self._refused
        return (
            refused is not None
            and refused[:2] == (generation, source)
            and (time.monotonic() - refused[2] < self.settings.worker_retry_seconds)
        )

    def _retry_due(self) -> bool:
        """What serves lacks a model it should have (a file corrupt or missing when it was built), and
        the last build is WORKER_RETRY_SECONDS old: build it again, though the generation is the same."""
        return bool(self._current.skipped) and time.monotonic() - self._built_at >= self.settings.worker_retry_seconds

    def _swap(self, new: ServingSet) -> bool:
        """The atomic swap (one reference assignment) unless ``new`` would lose a working champion."""
        old = self._current
        if new.champion is None and old.champion is not None:
            self._refused = (new.generation, new.source, time.monotonic())
            self._refused_reason = (
                f"generation {new.generation} via {new.source} not served: {new.problem}; "
                f"still serving generation {old.generation} via {old.source} (champion {old.champion.model_id})"
            )
            return False
        self._current = new
        self._refused = self._refused_reason = None
        return True

    def _fuse_beside(self, serving: ServingSet, previous: ScoringPlan | None) -> None:
        """Build ``serving``'s fused ensembles in the background, then swap in the same set with
        them (one reference assignment), unless another set was swapped in meanwhile.

        After a reload (the set already scores through the carried-over ensembles, exactly) the
        rebuild waits ``REBUILD_DELAY`` first and is skipped if the set was replaced meanwhile:
        registry changes come in bursts, every worker of a machine reloads at once, and the
        rebuild's CPU (reading the members again from the cache, ``sum_models``, the check) slowed
        their convergence (emulator stack, 30 models: median 2.4-2.7 s with a 0.5-2 s wait, 1.2 s
        without rebuilds during the changes). ``settle()`` starts it at once."""
        delay = REBUILD_DELAY if previous is not None and previous.fused else 0.0
        once = threading.Lock()
        started: list[bool] = []
        # the closures hold the set and the previous plan only through this list, so that what the
        # rebuild replaces is let go of on the models thread (``release``), not wherever the last
        # closure happens to be collected
        held: list[Any] = [serving, previous]
        del serving, previous

        def fuse() -> None:
            serving, previous = held
            try:
                plan = plan_scoring(serving.models, previous)
            except Exception:  # the set goes on serving model by model, exactly
                log.exception("could not build the fused ensembles of generation %d", serving.generation)
                plan = None
            if plan is not None:
                with self._reload_lock:
                    if self._current is serving:  # the members' own objects dropped: the ensembles hold them
                        self._current = replace(serving, models=slim(serving.models, plan), prepared=plan)
            del serving, previous, plan
            release(held).result()  # the unfused set's members, freed now (bench_worker: RSS at 200 models)

        def start() -> None:  # once: from the timer, or from settle()
            with once:
                if started:
                    return
                started.append(True)
                if self._start_rebuild is start:  # this closure holds the set's members: let go of it
                    self._start_rebuild = _nothing
                if self._stop.is_set() or self._current is not held[0]:
                    release(held)  # replaced meanwhile (or stopping): nothing to build
                    return
                # not a daemon: a process that exits while CatBoost builds the ensembles waits for
                # it (a daemon thread inside CatBoost's C++ at interpreter shutdown crashed it)
                self._fusing = threading.Thread(target=fuse, name="fuse")
                self._fusing.start()

        self._start_rebuild = start
        if delay:  # a daemon timer: a process may exit while it waits
            timer = threading.Timer(delay, start)
            timer.daemon = True
            timer.start()
        else:
            start()

    def settle(self, timeout: float | None = None) -> None:
        """Build the fused ensembles of the last swap now (no ``REBUILD_DELAY``) and wait until
        they are swapped in."""
        self._start_rebuild()
        if self._fusing is not None:
            self._fusing.join(timeout)

    def acknowledge(self) -> None:
        """Record in the registry what this worker serves (best effort: serving goes on)."""
        self._ack_pending = False
        ack = self._current.ack()
        try:
            AckStore(self.runtime.engine()).record(
                WorkerAck(
                    worker_id=self.worker_id,
                    generation=ack["generation"],
                    source=ack["source"],
                    champion=ack["champion"],
                    models=ack["models"],
                    problem=self.problem,
                    acked_at=datetime.now(UTC),
                )
            )
        except (AppError, OSError) as exc:
            log.warning("could not record the reload acknowledgement: %s", exc, extra={"worker_id": self.worker_id})

    # -- polling -----------------------------------------------------------------------------
    def start_polling(self, interval: float | None = None) -> None:
        """Check the manifest's generation every ``interval`` seconds (MANIFEST_POLL_SECONDS) and
        reload when it moves; retry what failed to load; check the registry now and then."""
        if self._poller is not None:
            return
        interval = interval or self.settings.manifest_poll_seconds

        def loop() -> None:
            next_check = time.monotonic() + self.settings.registry_check_seconds
            while not self._stop.wait(interval):
                try:
                    self.poll_once()
                    if time.monotonic() >= next_check:
                        next_check = time.monotonic() + self.settings.registry_check_seconds
                        self.check_registry()
                except Exception:  # a failed reload keeps the old set serving; try again next tick
                    log.exception("reload failed; still serving generation %d", self._current.generation)

        self._poller = threading.Thread(target=loop, name="manifest-poller", daemon=True)
        self._poller.start()

    def poll_once(self) -> None:
        """One tick: reload on a new generation (unless refused recently), or retry a failed load."""
        if self._ack_pending:
            self.acknowledge()
        manifest = self._manifest.current()  # one metadata request; read only when it moved
        generation = None if manifest is None else manifest.generation
        moved = generation is not None and generation != self._current.generation
        if moved and not self._recently_refused(generation):  # type: ignore[arg-type]
            self.reload(manifest=manifest)
        elif not moved and self._retry_due():
            log.info("retrying what failed to load: %s", self.problem, extra={"worker_id": self.worker_id})
            self.reload(force=True)

    def check_registry(self) -> None:
        """Compare the manifest with the registry; report a lag and ask the manifest's writer to
        rebuild it (a resync on the registry-change topic). Never fails serving."""
        from common.app import check_serving

        was = self.behind
        try:
            registry = self.runtime.registry()
            self._lag = lag = check_serving(self.settings, registry, self.runtime)
            self._check_error = None
            if lag.needs_rebuild:
                log.error("%s", lag.detail, extra={"worker_id": self.worker_id, "lag": lag.to_dict()})
                registry.resync(reason=f"worker {self.worker_id}: {lag.detail}")
        except AppError as exc:  # the last comparison stays as it was; say it is not current
            self._check_error = str(exc)
            log.warning("registry check: %s", exc, extra={"worker_id": self.worker_id})
            if self.behind != was:
                self.acknowledge()
            return
        # after every good check, even when nothing changed: the ack's time is the worker's heartbeat
        # (acks.silent_after: the dashboard and `modelctl workers` flag a worker not heard from)
        self.acknowledge()

    def stop(self) -> None:
        self._stop.set()
        if self._poller is not None:
            self._poller.join(timeout=5)

    # -- scoring -----------------------------------------------------------------------------
    def score(self, features: Slate | pd.DataFrame) -> tuple[ServingSet, pd.DataFrame]:
        """Score a slate (or its feature frame) with one consistent set (the one current at the start)."""
        serving = self._current
        return serving, score_slate(serving, features)

    def predict_date(
        self, game_date: date, as_of: datetime | None = None, season: SeasonData | None = None, alert: bool = True
    ) -> tuple[ServingSet, pd.DataFrame]:
        """Features for the date's slate as of a moment (``as_of``, else PREDICT_LEAD_MINUTES before
        its first tip-off), every model, rows stored with the moment and the snapshot each used.
        ``season``: the season data already loaded (else read now); ``alert=False``: no champion
        picks alert (a backfill of played dates).

        Without a loaded champion nothing is scored or stored (``TransientError``: CLI exit 6,
        HTTP 503): shadows alone never produce user-facing picks. The rows replace the date's
        rows of the models scored, and only theirs.
        """
        from common.alerts.picks import alert_champion_picks  # Slack's client: not at a worker's start
        from common.worker.predictions import slate_features, store_predictions

        serving = self._current
        if serving.champion is None:
            raise TransientError(f"no champion loaded, nothing scored or stored for {game_date}: {self.problem}")
        rows = score_slate(serving, slate_features(self.settings, game_date, as_of, season))
        store_predictions(self.settings, game_date, rows, [m.model_id for m in serving.models])
        if not alert:
            return serving, rows
        # the champion's picks alert, once per (date, champion sha256)
        alert_champion_picks(
            self.settings, game_date, serving.champion, champion_picks(rows, serving.champion.model_id)
        )
        return serving, rows
