"""The dashboard's pieces on their own: chart geometry, the commands a model's state allows,
the champion timeline from a real audit trail."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import numpy as np
import pandas as pd

from common.dashboard.charts import HEIGHT, LEFT, RIGHT, WIDTH, line_chart
from common.dashboard.data import DashboardData
from common.dashboard.model_page import commands
from common.dashboard.views import role, timeline
from common.registry.registration import RegistrationService
from common.registry.service import RegistryService
from common.storage import FileBucket
from tests.conftest import ModelFiles
from tests.support.registry import supported


def _series(values: list[float], start: str = "2026-03-01") -> pd.Series:
    return pd.Series(values, index=pd.date_range(start, periods=len(values), freq="D"), dtype=np.float64)


def test_a_gap_splits_a_line_and_everything_stays_inside_the_frame() -> None:
    chart = line_chart(
        "k", "t", "u", [("a", _series([1.0, 2.0, np.nan, 4.0])), ("b", _series([3.0, 3.0]))], lambda v: f"{v:.1f}"
    )
    a, b = chart.lines
    assert len(a.segments) == 2 and len(b.segments) == 1 and a.last == "4.0"
    points = [tuple(map(float, p.split(","))) for line in chart.lines for seg in line.segments for p in seg.split()]
    assert all(LEFT <= x <= WIDTH - RIGHT and 0 <= y <= HEIGHT for x, y in points)
    assert chart.start == date(2026, 3, 1) and chart.end == date(2026, 3, 4)
    ys = [y for y, _ in chart.y_ticks]
    assert ys == sorted(ys, reverse=True)  # higher values higher up


def test_a_chart_without_values_is_empty() -> None:
    chart = line_chart("k", "t", "u", [("a", _series([np.nan, np.nan])), ("b", _series([]))], str)
    assert chart.empty and [line.last for line in chart.lines] == ["n/a", "n/a"]


def test_commands_follow_the_models_state(duck_registration: RegistrationService, bucket: FileBucket,
                                          model_files: ModelFiles) -> None:  # fmt: skip
    record = duck_registration.register_object(bucket.write("a.cbm", model_files.v9_mae).name).record
    mid = record.model_id
    disabled = {c.text for c in commands(record, None)}
    assert f'modelctl enable {mid} --reason "WHY"' in disabled and f'modelctl retire {mid} --reason "WHY"' in disabled
    assert not any("promote" in c for c in disabled)
    shadow = {c.text for c in commands(replace(record, enabled=True), None)}
    assert f'modelctl promote {mid} --reason "WHY"' in shadow and f'modelctl disable {mid} --reason "WHY"' in shadow
    champion = replace(record, enabled=True, status="champion")
    assert role(champion) == "champion"
    assert {c.text for c in commands(champion, None)} == {f"modelctl history {mid}"}
    retired = replace(record, status="retired")
    assert role(retired) == "retired" and {c.text for c in commands(retired, None)} == {f"modelctl history {mid}"}


def test_the_timeline_follows_every_promotion(
    duck_registration: RegistrationService, duck_registry: RegistryService, bucket: FileBucket, model_files: ModelFiles
) -> None:
    ids = [
        duck_registration.register_object(bucket.write(f"{n}.cbm", data).name).record.model_id
        for n, data in (("a", model_files.v9_mae), ("b", model_files.v12_mae))
    ]
    for mid in ids:
        duck_registry.enable(mid)
    registry = supported(duck_registry)  # the timeline, not the promotion rule, is under test here
    registry.promote(ids[0], reason="first")
    registry.promote(ids[1], reason="better MAE")
    registry.promote(ids[0], reason="back again")
    reigns = timeline(DashboardData(registry))
    assert [(r.model_id, r.reason) for r in reigns] == [(ids[0], "back again"), (ids[1], "better MAE"),
                                                        (ids[0], "first")]  # fmt: skip
    assert reigns[0].end is None and all(r.end is not None for r in reigns[1:])
    assert reigns[2].end and reigns[2].end <= reigns[1].start  # demoted in the promotion's transaction
    assert reigns[2].ended_by == "better MAE" and reigns[1].ended_by == "back again"


def test_home_pieces_pin_the_champion_flag_workers_behind_and_hide_local_paths() -> None:
    from datetime import UTC, datetime, timedelta

    from common.dashboard.home import BoardRow, _sorted, day_flags, season_start, worker_flags
    from common.dashboard.views import local_paths
    from common.manifest import ServingLag
    from common.worker.acks import WorkerAck

    assert season_start(date(2026, 3, 7)) == date(2025, 10, 1) == season_start(date(2025, 10, 1))
    assert season_start(date(2026, 9, 30)) == date(2025, 10, 1)

    def row(model_id: str, role: str, roi: float | None, mae: float) -> BoardRow:
        return BoardRow(model_id, role, "f", "", "", "", "", "", "", "", "", "", {"roi": roi, "mae": mae})

    rows = [row("a", "shadow", 0.05, 4.0), row("b", "shadow", None, 3.0), row("c", "champion", -0.1, 5.0),
            row("d", "shadow", 0.02, 4.5)]  # fmt: skip
    assert [r.model_id for r in _sorted(rows, "roi")] == ["c", "a", "d", "b"]  # pinned, best first, unknown last
    assert [r.model_id for r in _sorted(rows, "mae")] == ["c", "b", "a", "d"]  # lower MAE is better

    now = datetime(2026, 3, 8, tzinfo=UTC)
    acks = [WorkerAck("w1", 4, "manifest", "m", {}, None, now), WorkerAck("w2", 5, "manifest", "m", {}, None, now),
            WorkerAck("w3", 0, "registry", "m", {}, "cannot read the manifest", now)]  # fmt: skip
    lag = ServingLag(9, 5, 9, False, False, "in step with the registry")
    heard = (now + timedelta(minutes=3), timedelta(minutes=3, seconds=1))  # all three heard from just in time
    flags = [f.text for f in worker_flags(acks, lag, lag.detail, heard, 2)]
    assert flags == [
        "worker w1 serves generation 4; the manifest is at generation 5",
        "worker w3: cannot read the manifest",
    ]
    assert [f.text for f in worker_flags(acks[1:2], None, "cannot compare", heard, 2)][-1].endswith("cannot compare")
    late = (now + timedelta(minutes=3, seconds=2), heard[1])
    assert [f.text for f in worker_flags(acks[1:2], lag, lag.detail, late, 2)] == [
        "worker w2 not heard from since 2026-03-08 00:00 UTC (it acknowledges at least every 3 min while running)"
    ]
    assert [f.text for f in worker_flags([], lag, lag.detail, heard, 2)] == [
        "no worker has acknowledged serving; 2 models are enabled"
    ]
    assert worker_flags([], lag, lag.detail, heard, 0) == []  # nothing to serve: no worker needed
    assert [f.text for f in day_flags(date(2026, 3, 7), 0, 0)] == ["no predictions for 2026-03-07"]
    assert [f.text for f in day_flags(date(2026, 3, 7), 40, 0)] == ["40 predictions for 2026-03-07 are not graded"]
    assert day_flags(date(2026, 3, 7), 40, 40) == []

    bucket = "file:///home/me/work/bucket"
    text = f"registered from {bucket}/models/a.cbm, then file:///elsewhere/b.cbm; gs://x/y.cbm stays"
    assert local_paths(text, bucket) == "registered from models/a.cbm, then b.cbm; gs://x/y.cbm stays"
