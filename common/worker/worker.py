"""The prediction worker: champion plus every shadow, hot-reloaded without restart.

A reload loads the new set *beside* the old one (reusing unchanged models), then
swaps one reference. A prediction takes the reference once at its start, so it
finishes on the set it started with; a swap never fails a request. A poller
watches the manifest's generation, so a worker converges even when it missed
the registry-change message.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd

from common.alerts.picks import alert_champion_picks
from common.errors import AppError
from common.settings import Settings
from common.worker.scoring import champion_picks, score_slate
from common.worker.serving import ModelCache, ServingSet, build_serving_set
from common.worker.slate import Slate
from common.worker.sources import current_generation, resolve_plan

log = logging.getLogger(__name__)

ACK = """
MERGE worker_acks T
USING (SELECT @worker_id AS worker_id) S ON T.worker_id = S.worker_id
WHEN MATCHED THEN UPDATE SET generation = @generation, source = @source, models_json = @models_json,
  champion = @champion, acked_at = @acked_at
WHEN NOT MATCHED THEN INSERT (worker_id, generation, source, models_json, champion, acked_at)
  VALUES (@worker_id, @generation, @source, @models_json, @champion, @acked_at)"""


class Worker:
    """Holds the current ``ServingSet`` and scores slates with it."""

    def __init__(self, settings: Settings, worker_id: str | None = None, cache_dir: Path | None = None) -> None:
        self.settings = settings
        self.worker_id = worker_id or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:4]}"
        self.cache_dir = cache_dir or Path(settings.model_cache_dir)
        self.cache = ModelCache(self.cache_dir)
        self._current = ServingSet(generation=-2, source="none", models=())
        self._reload_lock = threading.Lock()
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None

    @property
    def current(self) -> ServingSet:
        return self._current

    # -- loading -----------------------------------------------------------------------------
    def reload(self, force: bool = False) -> bool:
        """Load what the sources say now; swap if it differs. Returns whether it swapped."""
        with self._reload_lock:
            plan = resolve_plan(self.settings, self.cache_dir)
            old = self._current
            same = plan.generation == old.generation and plan.source == old.source and plan.generation >= 0
            if same and not force:
                return False
            new = build_serving_set(plan.entries, plan.generation, plan.source, self.cache, previous=old)
            self._current = new  # the atomic swap: one reference assignment
        champion = new.champion.model_id if new.champion else None
        from_builtin = len(new.models) if new.source == "built-in" else 0
        log.info(
            "Loaded %d models (%d from registry, %d from built-in): generation %d via %s, champion %s, %d skipped",
            len(new.models), len(new.models) - from_builtin, from_builtin, new.generation, new.source,
            champion, len(new.skipped),
            extra={"worker_id": self.worker_id, "ack": new.ack()},
        )  # fmt: skip
        self.acknowledge()
        return True

    def acknowledge(self) -> None:
        """Record in the registry what this worker serves (best effort: serving goes on)."""
        import json

        ack = self._current.ack()
        params = {
            "worker_id": self.worker_id,
            "generation": ack["generation"],
            "source": ack["source"],
            "models_json": json.dumps(ack["models"], sort_keys=True),
            "champion": ack["champion"] or "",
            "acked_at": datetime.now(UTC),
        }
        try:
            from common.registry.store import RegistryStore

            RegistryStore.open(self.settings.registry_url).engine.run_atomic([(ACK, params)])
        except (AppError, OSError) as exc:
            log.warning("could not record the reload acknowledgement: %s", exc, extra={"worker_id": self.worker_id})

    # -- polling -----------------------------------------------------------------------------
    def start_polling(self, interval: float | None = None) -> None:
        """Check the manifest's generation every ``interval`` seconds (MANIFEST_POLL_SECONDS);
        reload when it moves."""
        if self._poller is not None:
            return
        interval = interval or self.settings.manifest_poll_seconds

        def loop() -> None:
            while not self._stop.wait(interval):
                generation = current_generation(self.settings)
                if generation is not None and generation != self._current.generation:
                    try:
                        self.reload()
                    except Exception:  # a failed reload keeps the old set serving; try again next tick
                        log.exception("reload failed; still serving generation %d", self._current.generation)

        self._poller = threading.Thread(target=loop, name="manifest-poller", daemon=True)
        self._poller.start()

    def stop(self) -> None:
        self._stop.set()
        if self._poller is not None:
            self._poller.join(timeout=5)

    # -- scoring -----------------------------------------------------------------------------
    def score(self, features: Slate | pd.DataFrame) -> tuple[ServingSet, pd.DataFrame]:
        """Score a slate (or its feature frame) with one consistent set (the one current at the start)."""
        serving = self._current
        return serving, score_slate(serving, features)

    def predict_date(self, game_date: date) -> tuple[ServingSet, pd.DataFrame]:
        """Features for the date's slate (once per slate), every model, rows stored."""
        from common.worker.predictions import slate_features, store_predictions

        features = slate_features(self.settings, game_date)
        serving, rows = self.score(features)
        store_predictions(self.settings, game_date, rows)
        if serving.champion is not None:  # the champion's picks alert, once per (date, champion sha256)
            picks = champion_picks(rows, serving.champion.model_id)
            alert_champion_picks(self.settings, game_date, serving.champion, picks)
        return serving, rows
