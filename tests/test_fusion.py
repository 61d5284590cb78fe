"""Fused scoring is exact: each model's output within 1e-9 of its own ``predict``, for MAE and
quantile models on V9 and V12; models that cannot be fused are scored alone; the champion is
always its own ``predict``, bit for bit; a reload reuses unchanged groups and rebuilds beside."""

from __future__ import annotations

import hashlib
import random
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from common.feature_sets import V12_FEATURES
from common.manifest import ManifestModel
from common.worker.fusion import TOLERANCE, FusedGroup, largest_difference
from common.worker.scoring import score_slate
from common.worker.serving import DroppedModel, ModelCache, ServingSet, build_serving_set
from common.worker.slate import KEYS, Slate
from tests.support.migrated import migrated_store
from tests.support.tiny import tiny_card, tiny_model_bytes

SHUFFLED_V12 = list(V12_FEATURES)
random.Random(5).shuffle(SHUFFLED_V12)
CASES = {  # name: (feature set, loss, alpha, extra training options)
    "champion": ("v9", "MAE", None, {}),
    "v9_mae_a": ("v9", "MAE", None, {}),
    "v9_mae_b": ("v9", "MAE", None, {}),
    "v9_q43": ("v9", "Quantile", 0.43, {}),
    "v9_q45": ("v9", "Quantile", 0.45, {}),
    "v12_mae": ("v12", "MAE", None, {"feature_names": SHUFFLED_V12}),
    "v12_q43": ("v12", "Quantile", 0.43, {"feature_names": SHUFFLED_V12}),
    "v12_q45": ("v12", "Quantile", 0.45, {"feature_names": SHUFFLED_V12}),
    "v9_nan_max": ("v9", "MAE", None, {"nan_mode": "Max"}),  # another missing-value mode
    "v9_depthwise": ("v9", "MAE", None, {"grow_policy": "Depthwise"}),  # not symmetric trees
    "v9_short": ("v9", "MAE", None, {"iterations": 17}),  # another tree count
}


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, str]]:
    folder = tmp_path_factory.mktemp("bucket")
    out = {}
    for seed, (name, (fs, loss, alpha, extra)) in enumerate(CASES.items()):
        options = {"iterations": 40, "depth": 4, **extra}
        data = tiny_model_bytes(tiny_card(fs, loss, alpha), seed=seed, missing=0.05, **options)
        path = folder / f"{name}.cbm"
        path.write_bytes(data)
        out[name] = (path, fs)
    # a model whose output is scaled (CatBoost's scale and bias): never fused
    from catboost import CatBoostRegressor

    scaled = CatBoostRegressor()
    scaled.load_model(str(out["v9_mae_b"][0]))
    scaled.set_scale_and_bias(2.0, 3.0)
    scaled.save_model(str(folder / "v9_scaled.cbm"))
    out["v9_scaled"] = (folder / "v9_scaled.cbm", "v9")
    return out


def entries(files: dict[str, tuple[Path, str]], names: list[str]) -> list[ManifestModel]:
    out = []
    for name in names:
        path, fs = files[name]
        data = path.read_bytes()
        role = "champion" if name == "champion" else "shadow"
        out.append(ManifestModel(name, role, fs, fs, f"file://{path}", hashlib.sha256(data).hexdigest(), len(data)))
    return out


def load(
    files: dict[str, tuple[Path, str]], names: list[str], tmp: Path, previous: ServingSet | None = None, fuse=True
):
    cache = ModelCache(tmp / "cache", f"file://{next(iter(files.values()))[0].parent}")
    return build_serving_set(entries(files, names), 1, "manifest", cache, previous, fuse=fuse)


@pytest.fixture(scope="module")
def slate() -> Slate:
    rng = np.random.default_rng(1)
    n = 300
    frame = pd.DataFrame(rng.normal(size=(n, len(V12_FEATURES))), columns=list(V12_FEATURES))
    frame = frame.mask(rng.random(frame.shape) < 0.08)  # missing values on every feature
    frame["game_date"] = pd.Timestamp("2026-01-15")
    frame["game_id"] = [f"g{i % 7}" for i in range(n)]
    frame["player_id"] = np.arange(n)
    frame["vegas_points_line"] = 15 + rng.normal(size=n)
    return Slate.from_frame(frame[[*KEYS, *[c for c in frame.columns if c not in KEYS]]])


def own_predictions(serving: ServingSet, slate: Slate) -> dict[str, np.ndarray]:
    return {m.model_id: m.model.predict(slate.gather(m.input_order), thread_count=1) for m in serving.models}


def test_fused_outputs_match_each_models_own_predict(files, slate: Slate, tmp_path: Path) -> None:
    serving = load(files, list(CASES) + ["v9_scaled"], tmp_path)
    plan = serving.plan
    index = {m.model_id: i for i, m in enumerate(serving.models)}
    fused = {serving.models[i].model_id for g in plan.fused for i in g.members}
    # MAE and quantile models fuse, on V9 (by position) and on V12 (by the models' own names)
    assert {"v9_mae_a", "v9_mae_b", "v9_q43", "v9_q45", "v12_mae", "v12_q43", "v12_q45"} <= fused
    assert any(g.order == tuple(SHUFFLED_V12) for g in plan.fused)
    # what cannot be fused is scored alone, and so is the champion
    alone = {serving.models[i].model_id for i in plan.alone}
    assert alone == {"champion", "v9_nan_max", "v9_depthwise", "v9_short", "v9_scaled"}
    assert sorted(plan.alone + tuple(i for g in plan.fused for i in g.members)) == list(range(len(index)))
    own = own_predictions(serving, slate)
    for threads in (1, 2):
        rows = score_slate(serving, slate, threads=threads)
        worst = 0.0
        for model_id, expected in own.items():
            got = rows.loc[rows["system_id"] == model_id, "predicted_points"].to_numpy()
            assert len(got) == len(slate)
            worst = max(worst, float(np.max(np.abs(got - expected))))
            if model_id in alone:  # a model scored alone is its own predict, bit for bit
                assert np.array_equal(got, expected), model_id
        assert worst <= TOLERANCE


def test_the_champion_is_bit_identical_whatever_shadows_serve(files, slate: Slate, tmp_path: Path) -> None:
    full = load(files, list(CASES), tmp_path)
    fewer = replace(full, models=tuple(m for m in full.models if m.model_id not in {"v9_mae_a", "v12_q45"}))
    assert fewer.plan is not full.plan and fewer.plan.fused_models == full.plan.fused_models - 2
    champion = [
        score_slate(s, slate).query("system_id == 'champion'")["predicted_points"].to_numpy() for s in (full, fewer)
    ]
    assert champion[0].tobytes() == champion[1].tobytes()


def test_a_reload_rebuilds_changed_groups_beside_the_old_set(files, slate: Slate, tmp_path: Path) -> None:
    names = ["champion", "v9_mae_a", "v9_mae_b", "v9_q43", "v9_q45", "v12_mae", "v12_q43"]
    old = load(files, names, tmp_path)
    old_groups = {g.order: g for g in old.plan.fused}
    new = load(files, [n for n in names if n != "v9_q45"], tmp_path, previous=old)
    new_groups = {g.order: g for g in new.plan.fused}
    # the unchanged V12 group is reused as it is; the V9 ones are rebuilt without v9_q45
    assert new_groups[tuple(SHUFFLED_V12)].ensemble is old_groups[tuple(SHUFFLED_V12)].ensemble
    assert sum(len(g.members) for g in new.plan.fused) == old.plan.fused_models - 1
    # the old set still scores, with its own plan, exactly as before
    own_old, own_new = own_predictions(old, slate), own_predictions(new, slate)
    for serving, own in ((old, own_old), (new, own_new)):
        rows = score_slate(serving, slate)
        for model_id, expected in own.items():
            got = rows.loc[rows["system_id"] == model_id, "predicted_points"].to_numpy()
            assert np.max(np.abs(got - expected)) <= TOLERANCE


def assert_exact(serving: ServingSet, slate: Slate, own: dict[str, np.ndarray]) -> None:
    rows = score_slate(serving, slate)
    assert sorted(rows["system_id"].unique()) == sorted(own)
    for model_id, expected in own.items():
        got = rows.loc[rows["system_id"] == model_id, "predicted_points"].to_numpy()
        assert len(got) == len(slate) and np.max(np.abs(got - expected)) <= TOLERANCE, model_id


def test_fused_members_drop_their_own_objects_and_read_them_again_when_scored_alone(
    files, slate: Slate, tmp_path: Path
) -> None:
    names = ["champion", "v9_mae_a", "v9_mae_b", "v9_q43", "v12_mae", "v12_q43"]
    serving = load(files, names, tmp_path)
    members = {i for g in serving.plan.fused for i in g.members}
    assert len(members) == 5
    for i, m in enumerate(serving.models):  # the ensembles hold the members' trees; nothing else does
        assert isinstance(m.model, DroppedModel) == (i in members)
        assert i not in members or not m.model.loaded
    scored = score_slate(serving, slate)
    assert not any(m.model.loaded for i, m in enumerate(serving.models) if i in members)
    # v9_mae_a promoted: the champion is scored alone, by its own predict (read again from the cache)
    promoted = [(n, "champion" if n == "v9_mae_a" else "shadow") for n in names[1:]]
    new_entries = [replace(e, role=role) for e, (_, role) in zip(entries(files, names[1:]), promoted, strict=True)]
    cache = ModelCache(tmp_path / "cache", f"file://{files['champion'][0].parent}")
    new = build_serving_set(new_entries, 2, "manifest", cache, serving, fuse=False)
    champion = new.champion
    assert champion is not None and champion.model.loaded and new.models.index(champion) in new.plan.alone
    raw = CatBoostFile(files["v9_mae_a"][0]).predict(slate.gather(champion.input_order), thread_count=1)
    got = score_slate(new, slate).query("system_id == 'v9_mae_a'")["predicted_points"].to_numpy()
    assert got.tobytes() == raw.tobytes()
    assert len(scored) == len(names) * len(slate)


def CatBoostFile(path: Path):  # noqa: N802 - a model read straight from its file, for reference
    from catboost import CatBoostRegressor

    model = CatBoostRegressor()
    model.load_model(str(path))
    return model


def test_a_reload_serves_at_once_with_the_previous_ensembles_carried_over(files, slate: Slate, tmp_path: Path) -> None:
    """Before its own ensembles exist, a new set scores through the old ones (a member no longer
    served is computed and dropped), without reading any member's model again."""
    names = ["champion", "v9_mae_a", "v9_mae_b", "v9_q43", "v9_q45", "v12_mae", "v12_q43"]
    old = load(files, names, tmp_path)
    kept = [n for n in names if n != "v9_q43"] + ["v12_q45"]  # one member gone, one model new
    new = load(files, kept, tmp_path, previous=old, fuse=False)
    old_ensembles = {id(g.ensemble) for g in old.plan.fused}
    assert {id(g.ensemble) for g in new.plan.fused} == old_ensembles
    assert any(-1 in g.members for g in new.plan.fused) and new.plan.fused_models == 5
    assert [new.models[i].model_id for i in new.plan.alone] == ["champion", "v12_q45"]
    assert not any(m.model.loaded for m in new.models if isinstance(m.model, DroppedModel))
    assert_exact(new, slate, own_predictions(new, slate))
    # its own ensembles, built later from it, drop the carried ones
    rebuilt = replace(new, prepared=None)
    assert rebuilt.plan.fused_models == 6 and -1 not in {i for g in rebuilt.plan.fused for i in g.members}
    assert_exact(rebuilt, slate, own_predictions(rebuilt, slate))


def test_the_build_check_catches_a_wrong_ensemble(files, tmp_path: Path) -> None:
    """The check that guards every fused group, on real wrong ensembles: members' biases swapped,
    a tree count that cuts the members' trees apart, and another group's ensemble."""
    serving = load(files, ["champion", "v9_mae_a", "v9_q43", "v12_mae", "v12_q43"], tmp_path)
    v9, v12 = sorted(serving.plan.fused, key=lambda g: len(g.order))
    members = [serving.models[i].model for i in v9.members]
    assert largest_difference(v9, members) <= TOLERANCE
    wrong = [
        FusedGroup(v9.order, v9.members, v9.ensemble, v9.period, v9.biases[::-1]),
        FusedGroup(v9.order, v9.members, v9.ensemble, v9.period // 2, v9.biases),
        FusedGroup(v9.order, v9.members, v12.ensemble, v12.period, v12.biases),
    ]
    for group in wrong:
        assert largest_difference(group, members) > TOLERANCE


def registered_worker(files, tmp_path: Path, fused_scoring: bool = True):
    """A champion and three v9 shadows registered and enabled; a worker on them, not loaded yet."""
    from dataclasses import replace as with_field

    from common.app import open_registry, registration_service
    from common.settings import Settings
    from common.worker.worker import Worker

    settings = with_field(Settings.from_env(), fused_scoring=fused_scoring)
    migrated_store(settings.registry_url)
    service = registration_service(settings)
    ids = {}
    for name in ("champion", "v9_mae_a", "v9_q43", "v9_q45"):
        ids[name] = service.register_object(service.bucket.write(f"{name}.cbm", files[name][0].read_bytes()).name)
        service.registry.enable(ids[name].record.model_id)
    open_registry(settings).promote(ids["champion"].record.model_id)
    return Worker(settings, worker_id="w-fuse", cache_dir=tmp_path / "cache")


def test_a_worker_swaps_at_once_then_swaps_in_its_fused_ensembles(
    isolated_env: Path, files, slate: Slate, tmp_path: Path
) -> None:
    worker = registered_worker(files, tmp_path)
    worker.reload()
    first = worker.current  # served at once, model by model, until the ensembles exist
    worker.settle()
    fused = worker.current
    assert first.plan.fused == () or first is fused  # (unless the ensembles were already in)
    assert fused.generation == first.generation and fused.models == first.models
    assert fused.plan.fused_models == 3 and fused.plan.alone == (0,)  # all but the champion
    own = own_predictions(fused, slate)
    rows = worker.score(slate)[1]
    for model_id, expected in own.items():
        got = rows.loc[rows["system_id"] == model_id, "predicted_points"].to_numpy()
        assert np.max(np.abs(got - expected)) <= TOLERANCE
    # a forced reload with the same models reuses the ensemble instead of building it again
    worker.reload(force=True)
    worker.settle()
    assert worker.current.plan.fused[0].ensemble is fused.plan.fused[0].ensemble


def test_fused_scoring_false_scores_every_model_alone(isolated_env: Path, files, slate: Slate, tmp_path: Path) -> None:
    worker = registered_worker(files, tmp_path, fused_scoring=False)
    worker.reload()
    worker.settle()
    assert worker.current.plan.fused == () and len(worker.current.plan.alone) == 4
    own = own_predictions(worker.current, slate)
    rows = worker.score(slate)[1]
    for model_id, expected in own.items():  # each its own predict, bit for bit
        assert np.array_equal(rows.loc[rows["system_id"] == model_id, "predicted_points"].to_numpy(), expected)


def test_a_worker_lets_go_of_models_on_the_thread_that_read_them(isolated_env: Path, files, tmp_path: Path) -> None:
    """CatBoost's allocator keeps a block freed by another thread than the one that allocated it
    resident (bench_worker, 200 models: 60 MB): the members an ensemble replaces, and an ensemble a
    rebuild replaces, are freed on the models thread, which read them (common/worker/memory.py)."""
    import threading
    import weakref

    from common.app import open_registry

    freed: dict[str, str] = {}

    def watch(obj: object, name: str) -> None:  # records the thread that frees ``obj``
        weakref.finalize(obj, lambda: freed.setdefault(name, threading.current_thread().name))

    worker = registered_worker(files, tmp_path, fused_scoring=False)
    worker.reload()  # every model loaded, none fused yet
    shadows = [m.model_id for m in worker.current.models if not m.is_champion]
    for m in worker.current.models:
        if not m.is_champion:
            watch(m.model, m.model_id)
    del m  # no reference left here
    worker.fuse = True
    worker.reload(force=True)  # the same models (reused), now fused in the background
    worker.settle()
    assert worker.current.plan.fused_models == 3
    assert freed == dict.fromkeys(shadows, "models_0")
    watch(worker.current.plan.fused[0].ensemble, "ensemble of 3")
    open_registry(worker.settings).disable(shadows[-1])
    worker.reload()  # served through the old ensemble at once, then rebuilt without that shadow
    worker.settle()
    assert worker.current.plan.fused_models == 2
    assert freed["ensemble of 3"] == "models_0"
