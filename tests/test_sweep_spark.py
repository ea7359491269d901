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


def test_sweep_finds_every_cover_original_and_reruns_only_new_work(spark, dataset, tmp_path):
    warehouse = tmp_path / "wh"
    run_ingest(spark, load_config(), root=dataset, warehouse=warehouse, run_id=new_run_id(),
               settings=IngestSettings(require_audio=False))
    truth = _truth(dataset)
    run1, s1 = _sweep(spark, warehouse, top_k=3)
    rows = _matches(warehouse)
    assert rows and all(r["query_track_id"] != r["original_track_id"] for r in rows)   # never itself
    originals = {t for t, o in truth.items() if not o}
    assert {r["original_track_id"] for r in rows} <= originals                        # covers are no candidates
    best = {r["query_track_id"]: r for r in rows if r["rank"] == 1}
    covers = {t: o for t, o in truth.items() if o}
    # every cover's best match is its own original, judged similar
    assert {t: best[t]["original_track_id"] for t in covers} == covers
    assert all(best[t]["is_similar"] for t in covers)
    # ranks are 1..n per query, at most top_k
    per_q: dict[str, list[int]] = {}
    for r in rows:
        per_q.setdefault(r["query_track_id"], []).append(r["rank"])
    assert all(sorted(v) == list(range(1, len(v) + 1)) and len(v) <= 3 for v in per_q.values())
    assert s1.pairs_scored > 0 and s1.features_failed == 0
    # sections are structs in both timelines
    sec = best[next(iter(covers))]["melody_sections"]
    assert sec and set(sec[0]) == {"query_start_ms", "query_duration_ms", "original_start_ms", "original_duration_ms"}

    # a rerun with nothing new commits nothing
    versions = {t: table_version(table_uri(warehouse, t)) for t in ("features", "matches")}
    _, s2 = _sweep(spark, warehouse, top_k=3)
    assert "nothing new" in s2.plan and s2.pairs_scored == 0
    assert {t: table_version(table_uri(warehouse, t)) for t in ("features", "matches")} == versions

    # a new cover of one original (a copy of an existing cover under a new id): only it is scored
    cover = next(iter(covers))
    src = next(dataset.rglob(f"{cover}.mid"))
    new_dir = src.parent.parent / (src.parent.name.replace("_A", "_B"))
    new_dir.mkdir()
    new_id = cover.replace("_A", "_B")
    for ext in (".mid", ".json", ".xml"):
        p = src.with_suffix(ext)
        if p.exists():
            shutil.copy(p, new_dir / f"{new_id}{ext}")
    run_ingest(spark, load_config(), root=dataset, warehouse=warehouse, run_id=new_run_id(),
               settings=IngestSettings(require_audio=False))
    _, s3 = _sweep(spark, warehouse, top_k=3)
    assert "features to compute 1," in s3.plan and "1 against all" in s3.plan
    after = _matches(warehouse)
    new_best = [r for r in after if r["query_track_id"] == new_id and r["rank"] == 1]
    assert new_best and new_best[0]["original_track_id"] == covers[cover]
    # the other queries' rows are untouched (same run id as the first sweep)
    assert {r["run_id"] for r in after if r["query_track_id"] != new_id} == {run1}
