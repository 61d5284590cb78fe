"""``make demo`` runs the whole lifecycle in its own sandbox, whatever the environment says.

Run once per session (it takes about half a minute; the ``demo_run`` fixture lives in
``tests/support/demo.py``, shared with the dashboard's tests) with the README's production
exports set, pointed at loopback ports that record any connection: nothing may reach them.
"""

from __future__ import annotations

import pytest

from common.app import open_registry
from tests.support.demo import DemoRun


@pytest.mark.slow
def test_demo_runs_the_lifecycle_in_its_sandbox_only(demo_run: DemoRun) -> None:
    assert demo_run.returncode == 0, demo_run.output[-3000:]
    assert f"The demo resets {demo_run.sandbox}" in demo_run.output
    assert "Ignoring from your environment: " in demo_run.output and "SLACK_WEBHOOK_URL" in demo_run.output
    assert demo_run.connections == []  # not one byte towards the production endpoints
    assert not (demo_run.sandbox / "stale.txt").exists()
    models = open_registry(demo_run.settings).list()
    assert {m.model_family for m in models} == {"v12_noveg_mae", "v9_mae", "v12_mae"}
    assert sum(m.is_champion for m in models) == 1
    assert open_registry(demo_run.settings).objectives() == {"v9_mae": "clv"}  # a family judged on CLV
    assert "Objective: clv" in demo_run.output and "insufficient evidence on CLV" in demo_run.output
    # the champion's V12 without the lines against V12 with them, at the lead time, money with intervals
    assert "$ modelctl compare catboost_v12_mae" in demo_run.output.replace("\n", "")
    assert "units won (each bet at its price)" in demo_run.output and "95%" in demo_run.output
    assert "Demo finished" in demo_run.output


def test_every_step_heading_is_printed_whole(demo_run: DemoRun) -> None:
    """A heading used to be a rule's title, cut at the page width ("gates, upload, re…")."""
    for end in ("gates, upload, registration (disabled)", "drop its .cbm into the bucket"):
        assert end in demo_run.output, end
    assert not [line for line in demo_run.output.splitlines() if line.startswith("─") and "…" in line]
