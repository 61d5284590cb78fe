"""The prediction worker: feature-set mix, shadows never touch picks, fallback chain,
corrupt models skipped, hot reload, and predictions in flight during reloads."""

from __future__ import annotations

import hashlib
import json
import logging
import random
import threading
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from common.app import open_registry, registration_service
from common.cli.main import main as cli_main
from common.data.synth import generate_season
from common.errors import InvalidArgument, InvalidEvent, InvalidModel
from common.feature_sets import V12_FEATURES
from common.features import build_feature_frame, slate_targets
from common.features.market import slate_as_of
from common.manifest import MANIFEST_OBJECT, Manifest, ManifestModel
from common.registry.fallback import BUILTIN_FILE
from common.registry.store import RegistryStore
from common.settings import Settings
from common.storage import FileBucket
from common.worker.acks import AckStore
from common.worker.scoring import PREDICTION_COLUMNS, champion_picks, score_slate, signals
from common.worker.serving import ModelCache, ServingSet
from common.worker.slate import Slate
from common.worker.worker import Worker
from tests.support.migrated import migrated_store
from tests.support.tiny import tiny_card, tiny_model_bytes

SHUFFLED_V12 = list(V12_FEATURES)
random.Random(3).shuffle(SHUFFLED_V12)


@pytest.fixture(scope="module")
def slate() -> pd.DataFrame:
    season = generate_season(seed=11)
    targets = slate_targets(season, date(2026, 1, 15))
    moment = slate_as_of(season.games, date(2026, 1, 15))
    return build_feature_frame(season.player_games, season.betting_line_snapshots, season.teams, targets, moment)


@pytest.fixture
def settings(isolated_env: Path) -> Settings:
    settings = Settings.from_env()
    migrated_store(settings.registry_url)
    return settings


def register(settings: Settings, name: str, data: bytes, enable: bool = True) -> str:
    service = registration_service(settings)
    model_id = service.register_object(service.bucket.write(name, data).name).record.model_id
    if enable:
        service.registry.enable(model_id)
    return model_id


@pytest.fixture
def served(settings: Settings) -> dict[str, str]:
    """A champion (v9) and shadows across all three feature sets, one with shuffled V12 names."""
    ids = {
        "v9": register(settings, "v9.cbm", tiny_model_bytes(tiny_card("v9"), seed=1)),
        "v9_q43": register(settings, "q43.cbm", tiny_model_bytes(tiny_card("v9", "Quantile", 0.43), seed=2)),
        "v12": register(settings, "v12.cbm", tiny_model_bytes(tiny_card("v12"), seed=3, feature_names=SHUFFLED_V12)),
        "noveg": register(settings, "nv.cbm", tiny_model_bytes(tiny_card("v12_noveg"), seed=4)),
    }
    open_registry(settings).promote(ids["v9"])
    return ids


def worker(settings: Settings, tmp_path: Path) -> Worker:
    w = Worker(settings, worker_id="w-test", cache_dir=tmp_path / "cache")
    w.reload()
    return w


def test_every_enabled_model_scores_the_slate(
    settings: Settings, served: dict[str, str], slate: pd.DataFrame, tmp_path: Path
) -> None:
    w = worker(settings, tmp_path)
    assert w.current.source == "manifest" and w.current.champion.model_id == served["v9"]
    serving, rows = w.score(slate)
    assert len(rows) == len(slate) * 4
    assert set(rows["system_id"]) == set(served.values())
    by_model = {m.model_id: m for m in serving.models}
    # V9 positional and V12 by name (in the model's own shuffled order) match raw CatBoost
    v9 = by_model[served["v9"]]
    raw_v9 = v9.model.predict(slate[list(v9.feature_names)].to_numpy(dtype="float32"))
    got_v9 = rows[rows.system_id == served["v9"]]["predicted_points"].to_numpy()
    assert got_v9 == pytest.approx(raw_v9)
    v12 = by_model[served["v12"]]
    assert list(v12.feature_names) == SHUFFLED_V12
    raw_v12 = v12.model.predict(slate[SHUFFLED_V12].astype("float32"))
    assert rows[rows.system_id == served["v12"]]["predicted_points"].to_numpy() == pytest.approx(raw_v12)
    assert set(rows["recommendation"]) <= {"OVER", "UNDER", "PASS"}
    no_line = rows[rows["line"].isna()]
    assert (no_line["recommendation"] == "PASS").all()
    assert set(signals(rows)["system_id"]) == set(served.values())


def test_shadows_never_change_the_champions_picks(
    settings: Settings, served: dict[str, str], slate: pd.DataFrame, tmp_path: Path
) -> None:
    full = worker(settings, tmp_path).current
    alone = replace(full, models=tuple(m for m in full.models if m.is_champion))
    fewer = replace(full, models=tuple(m for m in full.models if m.model_id != served["noveg"]))
    picks = [champion_picks(score_slate(s, slate), served["v9"]).to_json().encode() for s in (full, alone, fewer)]
    assert picks[0] == picks[1] == picks[2]
    assert len(json.loads(picks[0])["player_id"]) > 0


def test_fallback_chain_cached_manifest_then_builtin(
    settings: Settings, served: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    caplog.set_level(logging.INFO)
    w = worker(settings, tmp_path)
    assert len(w.current.models) == 4
    gone = tmp_path / "bucket-without-manifest"
    broken = replace(settings, bucket_url=f"file://{gone}", registry_url="duckdb:///proc/nope/registry.duckdb")
    cached = Worker(broken, cache_dir=tmp_path / "cache")
    cached.reload()
    assert cached.current.source == "cached manifest" and len(cached.current.models) == 4
    assert "via cached manifest" in caplog.text and "registry unreadable" in caplog.text
    (tmp_path / "cache" / "last-manifest.json").unlink()
    # The checked-in list points at gs://; here it points at a known-good file in the (manifest-less) bucket.
    gone.mkdir()
    known_good = gone / "known_good.cbm"
    known_good.write_bytes(tiny_model_bytes(tiny_card("v9"), seed=1))
    entries = json.loads(BUILTIN_FILE.read_text())
    entries[0].update(model_path=f"file://{known_good}", sha256=hashlib.sha256(known_good.read_bytes()).hexdigest())
    builtin_json = tmp_path / "builtin.json"
    builtin_json.write_text(json.dumps(entries))
    monkeypatch.setattr("common.registry.fallback.BUILTIN_FILE", builtin_json)
    caplog.clear()
    builtin = Worker(broken, cache_dir=tmp_path / "cache")
    builtin.reload()
    assert builtin.current.source == "built-in"
    assert [m.model_id for m in builtin.current.models] == ["catboost_v9_train1102_0215"]
    assert builtin.current.champion is not None
    assert caplog.text.count("Loaded 1 models (0 from registry, 1 from built-in)") == 1  # once per reload
    assert "registry unreadable, serving the built-in list" in caplog.text


def test_corrupt_or_tampered_model_is_skipped_and_the_rest_serve(
    settings: Settings, served: dict[str, str], tmp_path: Path, caplog
) -> None:
    caplog.set_level(logging.INFO)
    bucket = FileBucket(settings.bucket_url)
    bucket.write("q43.cbm", b"tampered bytes")  # same path, different bytes than the manifest's sha256
    w = worker(settings, tmp_path)
    assert [m for m, _ in w.current.skipped] == [served["v9_q43"]]
    assert "sha256" in w.current.skipped[0][1] and served["v9_q43"] in caplog.text
    assert len(w.current.models) == 3


def test_hot_reload_without_restart(settings: Settings, served: dict[str, str], tmp_path: Path) -> None:
    """The poller picks the change up by itself (the ≤ 2 s figure is measured in bench/)."""
    w = worker(settings, tmp_path)
    w.start_polling(interval=0.05)
    try:
        new_id = register(settings, "late.cbm", tiny_model_bytes(tiny_card("v12_noveg", "Quantile", 0.45), seed=9))
        started = time.monotonic()
        while new_id not in {m.model_id for m in w.current.models}:
            assert time.monotonic() - started < 15.0, "the worker never picked up the registry change"
            time.sleep(0.02)
    finally:
        w.stop()
    manifest = Manifest.from_json(FileBucket(settings.bucket_url).read(MANIFEST_OBJECT)[0])
    assert w.current.generation == manifest.generation
    acks = RegistryStore.open(settings.registry_url).engine.query("SELECT * FROM worker_acks")
    assert acks[0]["worker_id"] == "w-test" and acks[0]["generation"] == manifest.generation


def test_predictions_in_flight_during_repeated_reloads(
    settings: Settings, served: dict[str, str], slate: pd.DataFrame, tmp_path: Path
) -> None:
    w = worker(settings, tmp_path)
    registry = open_registry(settings)
    errors: list[BaseException] = []
    results: list[tuple[ServingSet, pd.DataFrame]] = []
    stop = threading.Event()

    def predict_forever() -> None:
        while not stop.is_set():
            try:
                results.append(w.score(slate))
            except BaseException as exc:  # noqa: BLE001 - the test collects every failure
                errors.append(exc)

    threads = [threading.Thread(target=predict_forever) for _ in range(2)]
    for t in threads:
        t.start()
    for i in range(6):
        (registry.disable if i % 2 == 0 else registry.enable)(served["noveg"])
        w.reload()
    stop.set()
    for t in threads:
        t.join()
    assert not errors
    assert len(results) > 0
    for serving, rows in results:  # each prediction used exactly one consistent set
        assert set(rows["system_id"]) == {m.model_id for m in serving.models}
    assert {len(s.models) for s, _ in results} <= {3, 4}


def test_slate_form_matches_the_frame_and_one_thread_matches_two(
    settings: Settings, served: dict[str, str], slate: pd.DataFrame, tmp_path: Path
) -> None:
    serving = worker(settings, tmp_path).current
    in_memory = Slate.from_frame(slate)
    assert in_memory.matrix.dtype == "float32" and in_memory.matrix.flags["C_CONTIGUOUS"]
    assert in_memory.matrix.shape == (len(slate), len(V12_FEATURES))
    by_frame = score_slate(serving, slate).drop(columns="created_at")
    by_slate = score_slate(serving, in_memory).drop(columns="created_at")
    one_thread = score_slate(serving, in_memory, threads=1).drop(columns="created_at")
    pd.testing.assert_frame_equal(by_frame, by_slate)
    pd.testing.assert_frame_equal(by_slate, one_thread)
    # one input per feature order: the two v9 models share one, the shuffled v12 model reads its own
    orders = [order for order, _ in serving.input_groups]
    assert tuple(SHUFFLED_V12) in orders and len(orders) == 3  # v9 + v9_q43 share one pool
    assert len(serving.input_groups[0][1]) == 2
    assert sorted(i for _, members in serving.input_groups for i in members) == list(range(len(serving.models)))
    empty = score_slate(replace(serving, models=()), in_memory)
    assert list(empty.columns) == list(PREDICTION_COLUMNS) and empty.empty


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda f: f.drop(columns=["points_avg_last_3", "player_id"]), "lacks 2 columns"),
        (lambda f: f.assign(days_rest="two"), "must be numeric"),
        (lambda f: f["game_id"], "must be a DataFrame"),
    ],
    ids=["missing columns", "text feature", "not a frame"],
)
def test_bad_slate_frames_are_refused_by_name(slate: pd.DataFrame, change, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        Slate.from_frame(change(slate))


def test_a_feature_a_model_needs_but_the_slate_lacks_is_named(slate: pd.DataFrame) -> None:
    narrow = Slate.from_frame(slate, features=V12_FEATURES[:10])
    with pytest.raises(InvalidArgument, match="'points_avg_season'|'fga_avg_last_10'|no feature"):
        narrow.gather(V12_FEATURES[:12])


def test_workers_sharing_a_cache_dir_remember_the_manifest_without_tripping(
    settings: Settings, served: dict[str, str], tmp_path: Path, caplog
) -> None:
    caplog.set_level(logging.WARNING)
    workers = [Worker(settings, worker_id=f"w{i}", cache_dir=tmp_path / "shared") for i in range(6)]
    barrier = threading.Barrier(len(workers))

    def reload(w: Worker) -> None:
        barrier.wait()
        w.reload()

    threads = [threading.Thread(target=reload, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert "cannot cache the manifest" not in caplog.text
    cached = Manifest.from_json((tmp_path / "shared" / "last-manifest.json").read_bytes())
    assert {m.model_id for m in cached.models} == set(served.values())
    assert not list((tmp_path / "shared").glob("*.tmp"))


def test_a_set_without_a_loadable_champion_is_never_swapped_in(
    settings: Settings, served: dict[str, str], slate: pd.DataFrame, tmp_path: Path, caplog, capsys
) -> None:
    """Issue 11.1: the worker keeps its last good set and says why: log, status, worker_acks, CLI."""
    caplog.set_level(logging.INFO)
    w = worker(settings, tmp_path)
    good = w.current
    assert w.status()["problem"] is None
    new_id = register(settings, "next.cbm", tiny_model_bytes(tiny_card("v9", "Quantile", 0.45), seed=21))
    FileBucket(settings.bucket_url).path("next.cbm").write_bytes(b"\x00" * 64)  # unreadable before any load
    open_registry(settings).promote(new_id, reason="test: the champion's file is unreadable", force=True)  # no evidence
    assert w.reload() is False
    assert w.current is good and w.current.champion.model_id == served["v9"]
    problem = w.status()["problem"]
    assert (
        f"champion {new_id} could not be loaded" in problem and f"still serving generation {good.generation}" in problem
    )
    assert problem in caplog.text
    tries = caplog.text.count("skipping model")
    w.start_polling(interval=0.02)  # the poller does not retry the refused set on every tick
    time.sleep(0.5)
    w.stop()
    assert caplog.text.count("skipping model") == tries and w.current is good
    [ack] = AckStore.open(settings.registry_url).list()
    assert ack.problem == problem and ack.generation == good.generation and ack.champion == served["v9"]
    assert cli_main(["workers", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["problem"] == problem
    serving, rows = w.score(slate)  # still scoring with the old champion
    assert serving is good and served["v9"] in set(rows["system_id"])
    # back to a loadable champion (forced: nothing graded to compare): swapped in, problem gone
    open_registry(settings).promote(served["v9"], reason="test: back to the loadable champion", force=True)
    assert w.reload() is True and w.current.champion.model_id == served["v9"] and w.status()["problem"] is None


def test_manifest_sha256_and_model_paths_cannot_reach_outside_their_folders(
    settings: Settings, served: dict[str, str], tmp_path: Path
) -> None:
    """Issue 11.6: a sha256 is 64 lowercase hex, checked where the manifest is parsed; cache and
    bucket paths stay in their folders; a file:// model path stays in the models bucket."""
    victim = tmp_path / "victim.cbm"
    victim.write_bytes(b"precious")
    bucket = FileBucket(settings.bucket_url)
    body = json.loads(bucket.read(MANIFEST_OBJECT)[0])
    for bad in ("../victim", "../../" + "a" * 60, "A" * 64, "a" * 63, 12):
        body["models"][0]["sha256"] = bad
        with pytest.raises(InvalidModel, match="serving manifest is malformed: .*not 64 lowercase hex"):
            Manifest.from_json(json.dumps(body))
    bucket.write(MANIFEST_OBJECT, json.dumps({**body, "generation": 99}).encode())
    w = Worker(settings, cache_dir=tmp_path / "cache")
    w.reload()
    assert w.current.source == "registry" and len(w.current.models) == 4  # the manifest was refused whole
    assert victim.read_bytes() == b"precious"
    cache = ModelCache(tmp_path / "cache", settings.bucket_url)
    with pytest.raises(InvalidModel):
        cache.path("../victim")
    outside = ManifestModel("m", "shadow", "v9_mae", "v9", f"file://{victim}", None, None)
    with pytest.raises(InvalidEvent, match="resolves outside"):
        cache.fetch(outside)
    (bucket.root / "escape").symlink_to(tmp_path)
    with pytest.raises(InvalidEvent, match="resolves outside"):
        bucket.read("escape/victim.cbm")
    assert "escape/victim.cbm" not in {o.name for o in bucket.list()}  # listed objects stay inside too
