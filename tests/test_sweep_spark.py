"""The catalog sweep end to end on Spark: features, retrieval, exact scoring, incremental reruns."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from musim_spark.config import load_config
from musim_spark.ingest.settings import IngestSettings
from musim_spark.ingest.stage import run_ingest
from musim_spark.io.read import read_arrow, table_version
from musim_spark.io.tables import table_uri
from musim_spark.runs import new_run_id
from musim_spark.sweep import stage
from musim_spark.sweep.stage import run_similarity

pytestmark = pytest.mark.spark

REPO = Path(__file__).resolve().parent.parent
POP909 = REPO.parent / "shared" / "data" / "pop909"
COVERS = ["Tempo_A", "Timbre_A", "Rhythm_A"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """4 originals with 3 covers each, 2 regular originals, 40 s, MIDI only (transcription-like noise)."""
    from musim_spark.sampledata.generate import generate

    out = tmp_path_factory.mktemp("sweep") / "set"
    generate(out, songs=4, regular=2, seconds=40, seed=11, cover_types=COVERS, audio=False, pop909_dir=POP909,
             processes=1)
    return out


def _truth(root: Path) -> dict[str, str]:
    with open(root / "_truth" / "truth.csv", encoding="utf-8") as f:
        return {r["track_id"]: r["original_track_id"] for r in csv.DictReader(f)}


def _sweep(spark, warehouse, **kw):
    run_id = new_run_id()
    return run_id, run_similarity(spark, load_config(), warehouse=warehouse, run_id=run_id, **kw)


def _matches(warehouse) -> list[dict]:
    return read_arrow(table_uri(warehouse, "matches")).to_pylist()


def test_sweep_finds_every_cover_original_and_reruns_only_new_work(spark, dataset, tmp_path, monkeypatch):
    truth = _truth(dataset)
    covers = {t: o for t, o in truth.items() if o}
    # one cover is held back and delivered later, for the incremental run
    late = sorted(covers)[0]
    late_dir = next(dataset.rglob(f"{late}.mid")).parent
    shelf = tmp_path / "shelf"
    shutil.move(str(late_dir), str(shelf))
    # ... and one regular original, delivered last: every other query is then scored against it only
    late_org = sorted(t for t, o in truth.items() if not o and t.startswith("Regular"))[0]
    org_dir = next(dataset.rglob(f"{late_org}.mid")).parent
    org_shelf = tmp_path / "org_shelf"
    shutil.move(str(org_dir), str(org_shelf))
    warehouse = tmp_path / "wh"
    ingest = dict(settings=IngestSettings(require_audio=False))
    run_ingest(spark, load_config(), root=dataset, warehouse=warehouse, run_id=new_run_id(), **ingest)
    run1, s1 = _sweep(spark, warehouse, top_k=3)
    rows = _matches(warehouse)
    assert rows and all(r["query_track_id"] != r["original_track_id"] for r in rows)   # never itself
    originals = {t for t, o in truth.items() if not o and t != late_org}
    assert {r["original_track_id"] for r in rows} <= originals                        # covers are no candidates
    best = {r["query_track_id"]: r for r in rows if r["rank"] == 1}
    present = {t: o for t, o in covers.items() if t != late}
    # every cover's best match is its own original, judged similar
    assert {t: best[t]["original_track_id"] for t in present} == present
    assert all(best[t]["is_similar"] for t in present)
    # ranks are 1..n per query, at most top_k; the rank follows the melody significance among similar pairs
    per_q: dict[str, list[dict]] = {}
    for r in rows:
        per_q.setdefault(r["query_track_id"], []).append(r)
    for q, rs in per_q.items():
        rs.sort(key=lambda r: r["rank"])
        assert [r["rank"] for r in rs] == list(range(1, len(rs) + 1)) and len(rs) <= 3
        sims = [r["melody_significance"] for r in rs if r["is_similar"]]
        assert sims == sorted(sims, reverse=True)
    assert s1.pairs_scored > 0 and s1.features_failed == 0
    # sections are structs in both timelines
    sec = best[sorted(present)[0]]["melody_sections"]
    assert sec and set(sec[0]) == {"query_start_ms", "query_duration_ms", "original_start_ms", "original_duration_ms"}

    # a rerun with nothing new commits nothing
    versions = {t: table_version(table_uri(warehouse, t)) for t in ("features", "matches")}
    _, s2 = _sweep(spark, warehouse, top_k=3)
    assert "nothing new" in s2.plan and s2.pairs_scored == 0
    assert {t: table_version(table_uri(warehouse, t)) for t in ("features", "matches")} == versions

    # the held-back cover arrives; the first attempt loses a Python worker (Spark retries the task) and
    # then dies between its matches commit and its features commit, as a killed driver would
    shutil.move(str(shelf), str(late_dir))
    run_ingest(spark, load_config(), root=dataset, warehouse=warehouse, run_id=new_run_id(), **ingest)
    marker = tmp_path / "killed-once"
    monkeypatch.setenv("MUSIM_FAULT_KILL_WORKER_ONCE", str(marker))
    real_write = stage.write_dataframe

    def die_before_features(df, plan, **kw):
        if plan.table_uri.endswith("features"):
            raise KeyboardInterrupt("driver killed between two commits")
        return real_write(df, plan, **kw)

    monkeypatch.setattr(stage, "write_dataframe", die_before_features)
    with pytest.raises(KeyboardInterrupt):
        _sweep(spark, warehouse, top_k=3)
    assert marker.is_file()                                   # a worker was killed, and the task retried
    assert table_version(table_uri(warehouse, "features")) == versions["features"]
    monkeypatch.undo()
    # the restart completes the run: only the late cover is recomputed and scored, nothing duplicated
    _, s3 = _sweep(spark, warehouse, top_k=3)
    assert s3.plan.startswith("features to compute 1, removed 0; queries: 1 against all")
    after = _matches(warehouse)
    new_best = [r for r in after if r["query_track_id"] == late and r["rank"] == 1]
    assert new_best and new_best[0]["original_track_id"] == covers[late]
    assert {r["run_id"] for r in after if r["query_track_id"] != late} == {run1}
    keys = [(r["query_track_id"], r["original_track_id"]) for r in after]
    assert len(keys) == len(set(keys))                        # no pair twice after the failed attempt
    assert sorted(k for k in keys if k[0] != late) == sorted((r["query_track_id"], r["original_track_id"]) for r in rows)

    # the late original arrives: it is the only track computed and scored against all; every other
    # query is scored against it alone and merged with its stored rows (no pair twice, ranks 1..n)
    shutil.move(str(org_shelf), str(org_dir))
    run_ingest(spark, load_config(), root=dataset, warehouse=warehouse, run_id=new_run_id(), **ingest)
    run4, s4 = _sweep(spark, warehouse, top_k=3)
    assert s4.plan.startswith("features to compute 1, removed 0; queries: 1 against all")
    assert "against 1 new or changed originals" in s4.plan and not s4.plan.endswith("0 against 1 new or changed originals")
    final = _matches(warehouse)
    keys = [(r["query_track_id"], r["original_track_id"]) for r in final]
    assert len(keys) == len(set(keys))
    per_q = {}
    for r in final:
        per_q.setdefault(r["query_track_id"], []).append(r["rank"])
    assert all(sorted(v) == list(range(1, len(v) + 1)) and len(v) <= 3 for v in per_q.values())
    assert late_org in per_q                                  # the new original is a query too
    before = {(r["query_track_id"], r["original_track_id"]) for r in after}
    # a kept pair that does not involve the new original is the stored row, unchanged
    for r in final:
        if late_org not in (r["query_track_id"], r["original_track_id"]):
            assert (r["query_track_id"], r["original_track_id"]) in before and r["run_id"] != run4
    # covers still rank their own original first
    best = {r["query_track_id"]: r["original_track_id"] for r in final if r["rank"] == 1}
    assert all(best[t] == o for t, o in covers.items())


def test_broadcast_retrieval_gives_the_joins_candidates(spark):
    """The broadcast index (numpy per task) and the Spark joins pick the same candidates in the same
    order, with the same scores (to float32 rounding), for full and partial queries and originals
    that are queries themselves (never their own candidate)."""
    import numpy as np
    import pyarrow as pa
    from pyspark.sql import functions as F

    from musim_spark.io.spark_io import spark_schema
    from musim_spark.io.tables import TABLES
    from musim_spark.retrieval import RetrievalSettings
    from musim_spark.retrieval.shingles import KIND_JOINT, KIND_PITCH
    from musim_spark.sweep.plan import SweepPlan

    rng = np.random.default_rng(5)
    kinds = np.array([KIND_PITCH, KIND_JOINT], np.uint64) << np.uint64(62)

    def shingles(n):
        return rng.integers(0, 400, n).astype(np.uint64) | kinds[rng.integers(0, 2, n)]

    originals = {f"O{i:02d}": shingles(60) for i in range(14)}
    rows = []
    for tid, h in originals.items():
        rows.append((tid, True, h, np.sort(rng.uniform(0, 120, h.shape[0]))))
    for j in range(10):  # queries: a stretch of an original among other shingles
        src = originals[f"O{j % 14:02d}"]
        h = np.concatenate([src[:25], shingles(50)])
        rows.append((f"Q{j:02d}", False, h, np.concatenate([np.linspace(10, 30, 25), rng.uniform(0, 200, 50)])))
    table = pa.Table.from_pylist([
        {"track_id": t, "source": "midi", "is_original": o, "digest": "d", "features": b"x",
         "retrieval_keys": h.view(np.int64).tolist(), "retrieval_times": ts.tolist(), "melody_notes": 1,
         "duration_s": 1.0, "error": None, "run_id": "r"} for t, o, h, ts in rows], schema=TABLES["features"].schema)
    feats = spark.createDataFrame(table.to_pandas(), spark_schema(TABLES["features"].schema)).repartition(3)
    ret = RetrievalSettings(min_candidates=3, max_df_share=0.5)
    ids = sorted(originals)
    plans = [SweepPlan(compute=(), removed=(), queries_full=tuple(t for t, *_ in rows), queries_partial=(),
                       new_originals=tuple(ids), originals=tuple(ids)),
             SweepPlan(compute=(), removed=(), queries_full=("Q03", "O05"),
                       queries_partial=tuple(t for t, *_ in rows if t not in ("Q03", "O05", "O01", "O02")),
                       new_originals=("O01", "O02"), originals=tuple(ids))]

    def ranked(df):
        out = {}
        for r in df.orderBy("query_track_id", F.desc("retrieval_score"), "original_track_id").collect():
            out.setdefault(r["query_track_id"], []).append((r["original_track_id"], r["retrieval_score"]))
        return out

    everything = None
    for plan in plans:
        joined = ranked(stage._retrieve_joined(spark, feats, plan, ret=ret))
        bcast = ranked(stage._retrieve_broadcast(spark, feats, plan, ret=ret))
        assert joined and set(joined) == set(bcast)
        for q in joined:
            assert [o for o, _ in bcast[q]] == [o for o, _ in joined[q]], q
            assert np.allclose([s for _, s in bcast[q]], [s for _, s in joined[q]], rtol=1e-5)
            assert q not in [o for o, _ in bcast[q]]
            if q in plan.queries_partial:   # the new originals among the candidates a full run gives it
                assert [o for o, _ in bcast[q]] == [o for o, _ in everything[q] if o in plan.new_originals]
        if not plan.queries_partial:
            assert len(bcast["Q00"]) == 3 and bcast["Q00"][0][0] == "O00"
            everything = bcast


def test_joined_paths_and_a_one_track_cache_give_the_default_matches(spark, dataset, tmp_path):
    """Retrieval as joins, the candidates' features joined to every pair (not broadcast) and a
    worker cache of one decoded original: the same ``matches`` rows as the defaults (broadcast
    index, broadcast features, a cache that holds the whole catalog)."""
    defaults = REPO / "musim_spark" / "resources" / "defaults.yaml"
    conf = tmp_path / "joined.yaml"
    conf.write_text(f"base: {defaults}\nsweep:\n  broadcast_index_max_mb: 0\n  broadcast_features_max_mb: 0\n"
                    "  decoded_cache_tracks: 1\n", encoding="utf-8")
    ingest = dict(settings=IngestSettings(require_audio=False))
    out = {}
    for name, config in (("default", load_config()), ("joined", load_config(conf))):
        assert config.section("sweep")["decoded_cache_tracks"] == (1 if name == "joined" else 4000)
        warehouse = tmp_path / name
        run_ingest(spark, config, root=dataset, warehouse=warehouse, run_id=new_run_id(), **ingest)
        run_similarity(spark, config, warehouse=warehouse, run_id=new_run_id(), top_k=3)
        out[name] = sorted(({k: v for k, v in r.items() if k != "run_id"} for r in _matches(warehouse)),
                           key=lambda r: (r["query_track_id"], r["rank"]))
    assert out["default"] and out["joined"] == out["default"]
