"""The similarity stage (catalog sweep): features, candidate retrieval, exact scoring, ``matches``.

This is the Spark module of the sweep; everything that runs inside the tasks is pure
(:mod:`.features`, :mod:`.scoring`, :mod:`musim_spark.retrieval`), and so is the plan
(:mod:`.plan`).

1. The driver reads ``tracks`` (ids, content hashes, which are originals) and what ``features``
   and ``matches`` hold, and plans (:func:`.plan.plan_sweep`). Nothing to do: no Spark work.
2. **Features** of new or changed tracks: their ``notes`` rows, grouped by track
   (``applyInPandas``), become one ``features`` row each (features as bytes, retrieval shingles,
   or the reason there are none, also written to ``quarantine``); persisted, committed last.
3. **Retrieval** as joins (:mod:`musim_spark.retrieval.index` gives the formula): the originals'
   shingles -> document frequencies -> weighted postings; every query's shingles joined with them
   on the hash, summed per (query, original), normalised by the original's length; per query the
   best ``budget(N)`` candidates (a window). A track is never its own candidate.
4. **Exact scoring**: the candidates joined with the originals' features, cogrouped with the
   queries' features by query (``applyInPandas``): each group is one query against its candidates
   (:func:`.scoring.score_query`), its best ``top_k`` kept; partial queries (only new originals
   were scored) are merged with their stored rows and re-ranked.
5. ``matches`` committed (replace by query and source; rows of removed tracks deleted), then
   ``features`` (replace by track and source) and ``quarantine``, then one ``runs`` row. The
   features commit comes last because a track's features row is what marks it done: a run that
   dies before it leaves those tracks to be recomputed and their queries rescored by the next
   run, and as ``matches`` is replaced by query, nothing is duplicated.

Nothing here collects all pairs or all features to the driver: the driver holds per-track facts
(ids, digests) and, for partial queries, their stored ``top_k`` rows only.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import time
import uuid
from typing import TYPE_CHECKING, Callable

import pyarrow as pa

from ..errors import ParameterError
from ..io.plan import WritePlan
from ..io.read import read_arrow, table_exists
from ..io.runs_table import record_run
from ..io.settings import DeltaSettings
from ..io.spark_io import read_dataframe, spark_schema, write_dataframe
from ..io.tables import TABLES, table_uri
from ..io.write import write_arrow
from ..spark import LazySession, StageSummary, report_progress
from .features import feature_digest
from .plan import SweepPlan, plan_sweep
from .settings import SweepSettings

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["SimilaritySummary", "run_similarity", "run_similarity_lazily", "settings_fingerprint"]

STAGE = "similarity"


@dataclasses.dataclass(frozen=True)
class SimilaritySummary(StageSummary):
    """The stage line plus what the run did.

    Attributes
    ----------
    plan : str
        :meth:`.plan.SweepPlan.describe`.
    features_failed : int
        Tracks without features (quarantined with the reason).
    pairs_scored : int
        Exactly scored (query, original) pairs.
    commits : tuple of str
        ``table@version`` of each commit.
    phase_seconds : tuple of (str, float)
    """

    plan: str = ""
    features_failed: int = 0
    pairs_scored: int = 0
    commits: tuple = ()
    phase_seconds: tuple = ()

    def details(self) -> str:
        phases = ", ".join(f"{name} {secs:.1f} s" for name, secs in self.phase_seconds)
        return f"similarity: {self.plan}; pairs scored {self.pairs_scored}; {phases}"


def settings_fingerprint(similarity_settings, retrieval_settings) -> str:
    """What stored features depend on besides the MIDI: the feature and retrieval-key settings."""
    import hashlib

    keys = ("onset_tolerance_s", "chord_min_fit", "chord_bass_weight", "melody_candidates",
            "melody_partial_intervals", "melody_continuity_weight")
    blob = repr([(k, getattr(similarity_settings, k)) for k in keys]) + repr(dataclasses.asdict(retrieval_settings))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def run_similarity(spark: SparkSession, config, *, warehouse: str | os.PathLike, run_id: str, source: str = "midi",
                   top_k: int | None = None, full: bool = False,
                   progress: Callable[[str], None] | None = None,
                   observe: Callable[[str, DataFrame], None] | None = None) -> SimilaritySummary:
    """Sweep every track against all originals and write ``features`` and ``matches``.

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
    config : musim_spark.config.Config
        Gives the ``similarity``, ``retrieval`` and ``sweep`` settings and the Delta engine.
    warehouse : path-like
    run_id : str
    source : {'midi', 'audio'}
        Notes of the data set's MIDI (``notes``) or of our transcription (``transcribed_notes``).
    top_k : int, optional
        Overrides ``sweep.top_k``.
    full : bool
        Recompute every feature and rescore every query.
    progress : callable, optional
        Called with one line per phase and, during long phases, every ``sweep.progress_every_s``
        seconds with tasks done of total, rate and time left (:func:`musim_spark.spark.report_progress`).
    observe : callable, optional
        For benchmarks and tests: called as ``observe("candidates", df)`` with the retrieved
        (query_track_id, original_track_id, retrieval_score) rows while they are cached, between
        the retrieval and the exact-scoring phases (its time is in neither; the summary's
        ``phase_seconds`` has it as ``observe``).

    Returns
    -------
    SimilaritySummary

    Raises
    ------
    ParameterError
        Unknown ``source``; no ``tracks`` table (run ``musim ingest`` first).
    """
    return _run(lambda: spark, config, warehouse=warehouse, run_id=run_id, source=source, top_k=top_k, full=full,
                progress=progress, observe=observe)


def run_similarity_lazily(config, *, warehouse, run_id: str, source: str = "midi", top_k: int | None = None,
                          full: bool = False, session: LazySession | None = None,
                          progress: Callable[[str], None] | None = None, observe=None) -> SimilaritySummary:
    """:func:`run_similarity` with a session started only when there is work (a given ``session``,
    ``musim run``'s, is shared and left running; an own one is stopped before this returns)."""
    own = session is None
    session = session or LazySession(config.spark, app_suffix=":similarity")
    try:
        return _run(session, config, warehouse=warehouse, run_id=run_id, source=source, top_k=top_k, full=full,
                    progress=progress, observe=observe)
    finally:
        if own:
            session.stop()


def _now_us() -> int:
    return int(dt.datetime.now(dt.timezone.utc).timestamp() * 1_000_000)


def _run(get_spark: Callable, config, *, warehouse, run_id: str, source: str, top_k: int | None,
         full: bool, progress: Callable[[str], None] | None = None, observe=None) -> SimilaritySummary:
    from ..retrieval import RetrievalSettings
    from ..similarity.settings import SimilaritySettings

    if source not in ("midi", "audio"):
        raise ParameterError(f"--source must be midi or audio, got {source!r}")
    started = time.monotonic()
    started_us = _now_us()
    warehouse = os.path.abspath(os.fspath(warehouse))
    sim = SimilaritySettings.from_config(config)
    ret = RetrievalSettings.from_config(config)
    sweep = SweepSettings.from_config(config)
    if top_k is not None:
        sweep = dataclasses.replace(sweep, top_k=int(top_k))
    meta = {"stage": STAGE, "conf_fingerprint": config.fingerprint}
    tracks_uri = table_uri(warehouse, "tracks")
    if not table_exists(tracks_uri):  # before anything is written: a wrong --warehouse must not become one
        raise ParameterError(f"{tracks_uri}: no tracks table; run 'musim ingest --root DATA' first")
    try:
        summary = _execute(get_spark, config, warehouse=warehouse, run_id=run_id, source=source, sim=sim, ret=ret,
                           sweep=sweep, full=full, meta=meta, started=started, now_us=started_us, progress=progress,
                           observe=observe)
    except Exception:
        _record(warehouse, run_id, started_us, None, status="failed", meta=meta, config=config)
        raise
    _record(warehouse, run_id, started_us, summary, status="ok", meta=meta, config=config)
    return summary


def _record(warehouse, run_id, started_us, summary, *, status, meta, config) -> None:
    try:
        record_run(warehouse, run_id=run_id, summary=summary, stage=STAGE, status=status,
                   started_at=dt.datetime.fromtimestamp(started_us / 1e6, tz=dt.timezone.utc),
                   conf_fingerprint=config.fingerprint, metadata=meta)
    except Exception:  # noqa: BLE001 - best effort; the stage's own error matters more
        if status == "ok":
            raise


def _driver_state(warehouse: str, source: str, fingerprint: str, sweep: SweepSettings):
    """(tracks: id -> (digest, is_original), stored features, stored matches per query)."""
    tracks_uri = table_uri(warehouse, "tracks")
    hash_col = "mid_sha256" if source == "midi" else "wav_sha256"
    t = read_arrow(tracks_uri, columns=["track_id", "version", hash_col, "json_sha256"]).to_pylist()
    parts = {r["track_id"]: [source, r[hash_col], r["json_sha256"]] for r in t}
    if source == "audio":
        # the audio's notes are our transcription: a new backend, settings or TRANSCRIBE_VERSION
        # re-transcribes the same WAV, and its features must follow (the transcription's digest)
        tr_uri = table_uri(warehouse, "transcriptions")
        done = ({r["track_id"]: r["digest"] for r in read_arrow(tr_uri, columns=["track_id", "digest"]).to_pylist()}
                if table_exists(tr_uri) else {})
        for tid, p in parts.items():
            p.append(done.get(tid))
    tracks = {r["track_id"]: (feature_digest(parts[r["track_id"]], fingerprint), r["version"] == "Org") for r in t}
    f_uri = table_uri(warehouse, "features")
    stored = {}
    if table_exists(f_uri):
        rows = read_arrow(f_uri, columns=["track_id", "digest", "is_original"],
                          filter=[("source", "=", source)]).to_pylist()
        stored = {r["track_id"]: (r["digest"], bool(r["is_original"])) for r in rows}
    m_uri = table_uri(warehouse, "matches")
    matched: dict[str, list[str]] = {}
    if table_exists(m_uri):
        for r in read_arrow(m_uri, columns=["query_track_id", "original_track_id"],
                            filter=[("source", "=", source)]).to_pylist():
            matched.setdefault(r["query_track_id"], []).append(r["original_track_id"])
    return tracks, stored, matched


def _execute(get_spark, config, *, warehouse, run_id, source, sim, ret, sweep, full, meta, started, now_us,
             progress=None, observe=None) -> SimilaritySummary:
    fingerprint = settings_fingerprint(sim, ret)
    tracks, stored, matched = _driver_state(warehouse, source, fingerprint, sweep)
    plan = plan_sweep(tracks, stored=stored, matched=matched, full=full)
    if not sweep.originals_match_originals:
        originals = set(plan.originals)
        plan = dataclasses.replace(plan, queries_full=tuple(q for q in plan.queries_full if q not in originals),
                                   queries_partial=tuple(q for q in plan.queries_partial if q not in originals))
    phases = [("plan", time.monotonic() - started)]
    commits: list[str] = []
    engine = DeltaSettings.from_config(config).engine
    if plan.nothing_to_do:
        _ensure_tables(warehouse, run_id, meta)
        return SimilaritySummary(stage=STAGE, rows_in=len(tracks), rows_out=0, quarantined=0,
                                 seconds=time.monotonic() - started, plan=plan.describe() + " (nothing new)",
                                 phase_seconds=tuple(phases))
    say = progress or (lambda line: None)
    say(f"{STAGE}: {plan.describe()}")
    spark = get_spark()
    from pyspark import StorageLevel

    def phase(name: str):
        say(f"{STAGE}: {name} ...")
        return report_progress(spark, f"{STAGE}: {name}", progress, every_s=sweep.progress_every_s)

    def write(name: str, df, *, mode="replace", delete_keys=None, arrow=None) -> None:
        spec = TABLES[name]
        kw = dict(schema=spec.schema, mode=mode, run_id=run_id, app_id=f"musim:{STAGE}:{name}:{source}",
                  metadata=meta)
        if mode == "replace":
            kw.update(keys=spec.keys, delete_keys=delete_keys)
        target = WritePlan(table_uri(warehouse, name), **kw)
        mark = time.monotonic()
        res = write_dataframe(df, target, engine=engine) if df is not None else write_arrow(arrow, target)
        phases.append((f"write {name}", time.monotonic() - mark))
        if not res.skipped:
            commits.append(f"{name}@{res.version}")

    removed_keys = (pa.table({"track_id": pa.array(plan.removed, pa.string()),
                              "source": pa.array([source] * len(plan.removed), pa.string())})
                    if plan.removed else None)
    # --- 2. features (computed now, committed last: the features row is what marks a track done) ---
    n_failed = 0
    feats = None
    if plan.compute:
        mark = time.monotonic()
        feats = _compute_features(spark, warehouse, plan, tracks, source=source, sim=sim, ret=ret, sweep=sweep,
                                  run_id=run_id).persist(StorageLevel.MEMORY_AND_DISK)
        with phase(f"features of {len(plan.compute)} tracks"):
            n_failed = feats.where("error IS NOT NULL").count()
        phases.append((f"features of {len(plan.compute)} tracks", time.monotonic() - mark))
    # --- 3-4. retrieval and exact scoring ------------------------------------------------------
    n_pairs = 0
    queries = list(plan.queries_full) + list(plan.queries_partial)
    match_delete = None
    if plan.removed:
        match_delete = pa.table({"query_track_id": pa.array(plan.removed, pa.string()),
                                 "source": pa.array([source] * len(plan.removed), pa.string())})
    if queries:
        mark = time.monotonic()
        all_feats = _current_features(spark, warehouse, feats, plan, source=source)
        timings: dict = {}
        cands = _retrieve(spark, all_feats, plan, ret=ret, sweep=sweep, say=say, timings=timings)
        cands = cands.persist(StorageLevel.MEMORY_AND_DISK)
        with phase(f"retrieval for {len(queries)} queries"):
            n_pairs = cands.count()
        if "index" in timings:  # the broadcast index: collected, built and broadcast on the driver
            phases.append((f"index of {len(plan.originals)} originals ({timings['index_mib']:.0f} MiB)",
                           timings["index"]))
        phases.append((f"retrieval for {len(queries)} queries", time.monotonic() - mark - timings.get("index", 0.0)))
        if observe is not None:
            mark = time.monotonic()
            observe("candidates", cands)
            phases.append(("observe", time.monotonic() - mark))
        mark = time.monotonic()
        scoring_plan = plan
        if plan.queries_partial:
            # a partial query none of whose candidates is new keeps its stored rows as they are:
            # neither scored, nor merged, nor rewritten
            touched = {r[0] for r in cands.select("query_track_id").distinct().collect()}
            scoring_plan = dataclasses.replace(plan, queries_partial=tuple(q for q in plan.queries_partial
                                                                           if q in touched))
            queries = list(plan.queries_full) + list(scoring_plan.queries_partial)
        scored = _score(spark, all_feats, cands, scoring_plan, warehouse=warehouse, source=source, sim=sim,
                        sweep=sweep, run_id=run_id, say=say).persist(StorageLevel.MEMORY_AND_DISK)
        with phase(f"exact scoring of {n_pairs} pairs"):
            scored.count()   # scored here, written below: the write's time is its own
        phases.append((f"exact scoring of {n_pairs} pairs", time.monotonic() - mark))
        # a query with no candidate at all still replaces its old rows (by the delete keys)
        no_rows = pa.table({"query_track_id": pa.array(queries, pa.string()),
                            "source": pa.array([source] * len(queries), pa.string())})
        keys = no_rows if match_delete is None else pa.concat_tables([no_rows, match_delete])
        say(f"{STAGE}: writing matches ...")
        write("matches", scored, delete_keys=keys)
        scored.unpersist()
        cands.unpersist()
    elif match_delete is not None:
        write("matches", None, delete_keys=match_delete, arrow=TABLES["matches"].schema.empty_table())
    # --- 5. features last: a run that dies before this leaves its tracks "to compute", so the next
    # run recomputes them and rescores their queries (matches are replaced by query, never duplicated)
    if feats is not None:
        write("features", feats, delete_keys=removed_keys)
        if n_failed:
            write("quarantine", _quarantine_rows(feats, run_id=run_id, now_us=now_us), mode="append")
        feats.unpersist()
    elif removed_keys is not None:
        write("features", None, delete_keys=removed_keys, arrow=TABLES["features"].schema.empty_table())
    _ensure_tables(warehouse, run_id, meta)
    return SimilaritySummary(stage=STAGE, rows_in=len(tracks), rows_out=len(queries), quarantined=n_failed,
                             seconds=time.monotonic() - started, plan=plan.describe(), features_failed=n_failed,
                             pairs_scored=n_pairs, commits=tuple(commits), phase_seconds=tuple(phases))


def _ensure_tables(warehouse: str, run_id: str, meta: dict) -> None:
    """Every table the stage owns exists after its first run (empty where nothing was written)."""
    for name in ("features", "matches", "quarantine"):
        uri = table_uri(warehouse, name)
        if not table_exists(uri):
            write_arrow(TABLES[name].schema.empty_table(),
                        WritePlan(uri, schema=TABLES[name].schema, mode="append", run_id=run_id,
                                  app_id=f"musim:{STAGE}:{name}:create", metadata=meta))


def _current_features(spark, warehouse: str, feats, plan: SweepPlan, *, source: str) -> DataFrame:
    """Every track's usable features as of the end of this run: the stored rows of tracks neither
    recomputed nor removed, and this run's new rows (not committed yet)."""
    from pyspark.sql import functions as F

    uri = table_uri(warehouse, "features")
    parts = []
    if table_exists(uri):
        stale = list(plan.compute) + list(plan.removed)
        stored = read_dataframe(spark, uri).where(F.col("source") == source)
        if stale:
            drop = spark.createDataFrame(pa.table({"track_id": pa.array(stale, pa.string())}).to_pandas())
            stored = stored.join(F.broadcast(drop), "track_id", "left_anti")
        parts.append(stored)
    if feats is not None:
        parts.append(feats)
    if not parts:
        return spark.createDataFrame([], spark_schema(TABLES["features"].schema))
    out = parts[0] if len(parts) == 1 else parts[0].unionByName(parts[1])
    return out.where(F.col("features").isNotNull())


def _compute_features(spark, warehouse, plan: SweepPlan, tracks, *, source, sim, ret, sweep, run_id) -> DataFrame:
    """``features`` rows of ``plan.compute`` from their notes (one ``applyInPandas`` group per track)."""
    from pyspark.sql import functions as F

    from .features import encode_features, features_of_track

    notes_table = "notes" if source == "midi" else "transcribed_notes"
    ids = spark.createDataFrame(pa.table({"track_id": pa.array(plan.compute, pa.string())}).to_pandas())
    n_parts = max(1, -(-len(plan.compute) // sweep.tracks_per_task))
    notes = read_dataframe(spark, table_uri(warehouse, notes_table)).join(F.broadcast(ids), "track_id", "inner")
    # tracks with no notes rows at all still get a row (with the reason)
    cols = [f.name for f in TABLES["notes"].schema if f.name != "run_id"]
    notes = ids.join(notes.select(*cols), "track_id", "left").repartition(n_parts, "track_id")
    # Fault injection for the fault tests (tests/test_sweep_spark.py): a path here makes the first
    # task that sees it kill its own Python worker once, as a crashed worker would die; read on the
    # driver and shipped in the closure, since workers do not see the driver's later environment.
    kill_marker = os.environ.get("MUSIM_FAULT_KILL_WORKER_ONCE")
    is_orig = {t: tracks[t][1] for t in plan.compute}
    digests = {t: tracks[t][0] for t in plan.compute}
    schema = TABLES["features"].schema

    def compute(pdf):
        import pandas as pd

        if kill_marker and not os.path.exists(kill_marker):
            with open(kill_marker, "w") as fh:
                fh.write(str(os.getpid()))
            os._exit(3)
        tid = str(pdf["track_id"].iloc[0])
        rows = pa.Table.from_pandas(pdf.dropna(subset=["pitch"]), preserve_index=False)
        out = {"track_id": tid, "source": source, "is_original": bool(is_orig[tid]), "digest": digests[tid],
               "features": None, "retrieval_keys": None, "retrieval_times": None, "melody_notes": None,
               "duration_s": None, "error": None, "run_id": run_id}
        try:
            f, keys, times = features_of_track(rows, settings=sim, retrieval_settings=ret)
            out.update(features=encode_features(f), retrieval_keys=keys.tolist(), retrieval_times=times.tolist(),
                       melody_notes=int(f.melody_pitch.shape[0]), duration_s=float(f.duration[0]))
        except Exception as exc:  # noqa: BLE001 - one bad track is quarantined, the others go on
            out["error"] = f"{type(exc).__name__}: {exc}"
        return pd.DataFrame([out])

    return notes.groupBy("track_id").applyInPandas(compute, spark_schema(schema))


def _quarantine_rows(feats: DataFrame, *, run_id: str, now_us: int) -> DataFrame:
    from pyspark.sql import functions as F

    return feats.where("error IS NOT NULL").select(
        F.col("track_id").alias("path"), "track_id", F.lit(STAGE).alias("stage"),
        F.lit("FEATURES_FAILED").alias("reason"), F.col("error").alias("detail"),
        F.lit(None).cast("bigint").alias("file_bytes"), F.lit(None).cast("timestamp").alias("file_mtime"),
        F.lit(run_id).alias("run_id"),
        F.lit(dt.datetime.fromtimestamp(now_us / 1e6, tz=dt.timezone.utc)).alias("quarantined_at"))


def _retrieve(spark, feats: DataFrame, plan: SweepPlan, *, ret, sweep: SweepSettings | None = None,
              say: Callable[[str], None] = lambda line: None, timings: dict | None = None) -> DataFrame:
    """(query_track_id, original_track_id, retrieval_score) of every planned query's candidates.

    A query's candidates are its best ``ret.budget(N)`` originals; a partial query (scored against
    new originals only, merged with its stored rows) keeps those of them that are new: a new
    original is scored against an old query only when it would be among its candidates in a
    full run (not the best few new originals whatever their scores: with 50 new originals that
    would be some 50 pairs per query).

    With a broadcast index (:func:`_retrieve_broadcast`) where the originals' postings fit in
    ``sweep.broadcast_index_max_mb``, else as Spark joins (:func:`_retrieve_joined`); both give
    the same candidates (the scores agree to float32 rounding of the index's weights).
    """
    from pyspark.sql import functions as F

    limit_mb = sweep.broadcast_index_max_mb if sweep is not None else 0
    if limit_mb > 0 and plan.originals:
        originals = feats.where("is_original")
        # an upper bound of the index: every distinct (original, shingle), before the df cut,
        # as a hash (8 B), a posting (4 B), a pointer (8 B) and a weight (4 B)
        n_post = originals.select(F.coalesce(F.sum(F.size(F.array_distinct("retrieval_keys"))), F.lit(0))).first()[0]
        est_mb = 24 * int(n_post) / 2 ** 20
        if est_mb <= limit_mb:
            say(f"{STAGE}: retrieval with a broadcast index (at most {est_mb:.0f} MiB, limit {limit_mb:.0f})")
            return _retrieve_broadcast(spark, feats, plan, ret=ret, timings=timings)
        say(f"{STAGE}: retrieval as joins (index up to {est_mb:.0f} MiB > sweep.broadcast_index_max_mb {limit_mb:.0f})")
    return _retrieve_joined(spark, feats, plan, ret=ret)


def _retrieve_broadcast(spark, feats: DataFrame, plan: SweepPlan, *, ret, timings: dict | None = None) -> DataFrame:
    """:func:`_retrieve` with the index in memory: the originals' distinct shingles are collected,
    indexed on the driver (:func:`musim_spark.retrieval.build_index`, the same document
    frequencies, weights and length normalisation as the joins) and broadcast; each task scores
    its queries against it with numpy (:func:`musim_spark.retrieval.query_scores`), no shuffle of
    the postings."""
    import numpy as np
    import pandas as pd
    from pyspark.sql import functions as F
    from pyspark.sql.types import DoubleType, StringType, StructField, StructType

    from ..retrieval import build_index

    out_schema = StructType([StructField("query_track_id", StringType(), False),
                             StructField("original_track_id", StringType(), False),
                             StructField("retrieval_score", DoubleType(), False)])
    mark = time.monotonic()
    o = feats.where("is_original").select("track_id", F.array_distinct("retrieval_keys").alias("k")).toArrow()
    o = o.sort_by("track_id")
    ids = o.column("track_id").to_pylist()
    if not ids:
        return spark.createDataFrame([], out_schema)
    keys = o.column("k").combine_chunks()
    flat = keys.flatten().to_numpy(zero_copy_only=False).astype(np.int64, copy=False).view(np.uint64)
    offs = keys.offsets.to_numpy()
    index = build_index([flat[offs[i]:offs[i + 1]] for i in range(len(ids))], ret)
    del o, keys, flat
    row = {t: i for i, t in enumerate(ids)}
    is_new = np.zeros(len(ids), dtype=bool)
    is_new[[row[t] for t in plan.new_originals if t in row]] = True
    bc = spark.sparkContext.broadcast((np.asarray(ids, dtype=object), index, is_new, frozenset(plan.queries_partial)))
    if timings is not None:
        timings["index"] = time.monotonic() - mark
        timings["index_mib"] = index.nbytes / 2 ** 20
    budget = int(ret.budget(len(ids)))
    window_s = float(ret.local_window_s)
    planned = spark.createDataFrame(pa.table({"track_id": pa.array(
        list(plan.queries_full) + list(plan.queries_partial), pa.string())}).to_pandas())
    # a broadcast join keeps the features' partitions: the occurrences are not shuffled
    q = feats.join(F.broadcast(planned), "track_id").select("track_id", "retrieval_keys", "retrieval_times")

    def retrieve(batches):
        from ..retrieval import query_scores, top_candidates

        ids, index, is_new, partial = bc.value
        pos = {t: i for i, t in enumerate(ids)}
        for pdf in batches:
            qs, os_, ss = [], [], []
            for tid, k, t in zip(pdf["track_id"], pdf["retrieval_keys"], pdf["retrieval_times"]):
                if k is None or len(k) == 0:
                    continue
                sc = query_scores(index, np.asarray(k, np.int64).view(np.uint64), np.asarray(t, np.float64),
                                  window_s=window_s)
                best = top_candidates(sc, budget, exclude=pos.get(tid))
                if tid in partial:  # the new originals among its candidates (its stored rows hold the rest)
                    best = best[is_new[best]]
                qs += [tid] * best.shape[0]
                os_ += ids[best].tolist()
                ss += sc[best].tolist()
            yield pd.DataFrame({"query_track_id": pd.Series(qs, dtype=object),
                                "original_track_id": pd.Series(os_, dtype=object),
                                "retrieval_score": pd.Series(ss, dtype="float64")})

    return q.mapInPandas(retrieve, out_schema)


def _retrieve_joined(spark, feats: DataFrame, plan: SweepPlan, *, ret) -> DataFrame:
    """:func:`_retrieve` as Spark joins (an index too large to broadcast)."""
    import numpy as np
    from pyspark.sql import Window
    from pyspark.sql import functions as F
    from pyspark.sql.types import DoubleType

    from ..retrieval import df_limit, doc_norms, local_score, shingle_weights

    originals = feats.where("is_original")
    n_orig = len(plan.originals)
    budget = int(ret.budget(n_orig))
    post = originals.select(F.col("track_id").alias("original_track_id"),
                            F.explode(F.array_distinct("retrieval_keys")).alias("h"))
    df = post.groupBy("h").agg(F.count("*").alias("df")).where(F.col("df") <= int(df_limit(n_orig, ret)))

    @F.pandas_udf(DoubleType())
    def weight(h, d):
        return __import__("pandas").Series(
            shingle_weights(h.to_numpy(np.int64).view(np.uint64), d.to_numpy(np.int64), n_orig, ret))

    df = df.withColumn("w", weight("h", "df"))
    post = post.join(df.select("h", "w"), "h")
    # one number per original (not per pair): the length normalisation needs the mean over all of them
    lengths = post.groupBy("original_track_id").agg(F.sum("w").alias("length")).toPandas()
    lengths["norm"] = doc_norms(lengths["length"].to_numpy(np.float64), ret)
    norms = F.broadcast(spark.createDataFrame(lengths[["original_track_id", "norm"]]))
    planned = spark.createDataFrame(pa.table({"query_track_id": pa.array(
        list(plan.queries_full) + list(plan.queries_partial), pa.string())}).to_pandas())
    # the query side keeps every occurrence with its time: the score is the best local window's
    q_keys = (feats.select(F.col("track_id").alias("query_track_id"),
                           F.explode(F.arrays_zip("retrieval_keys", "retrieval_times")).alias("z"))
              .select("query_track_id", F.col("z.retrieval_keys").alias("h"), F.col("z.retrieval_times").alias("t")))
    parts = [q_keys.join(F.broadcast(planned), "query_track_id").join(post, "h")]
    pairs = parts[0]
    window_s = float(ret.local_window_s)

    @F.pandas_udf(DoubleType())
    def best_window(ts, ws):  # retrieval.local_score per pair: the same numbers as the in-memory index
        import pandas as pd

        return pd.Series([local_score(np.asarray(t, np.float64), np.asarray(w, np.float64), window_s)
                          for t, w in zip(ts, ws)], dtype="float64")

    grouped = pairs.where(F.col("query_track_id") != F.col("original_track_id")).groupBy(
        "query_track_id", "original_track_id")
    if window_s <= 0:
        grouped = grouped.agg(F.sum("w").alias("shared"))
    else:
        grouped = grouped.agg(F.collect_list("t").alias("ts"), F.collect_list("w").alias("ws")) \
            .withColumn("shared", best_window("ts", "ws")).drop("ts", "ws")
    scores = (grouped.join(norms, "original_track_id")
              .withColumn("retrieval_score", F.col("shared") * F.col("norm")))
    w = Window.partitionBy("query_track_id").orderBy(F.desc("retrieval_score"), F.asc("original_track_id"))
    out = (scores.withColumn("r", F.row_number().over(w)).where(F.col("r") <= budget)
           .select("query_track_id", "original_track_id", "retrieval_score"))
    if plan.queries_partial:
        # a partial query keeps the new originals among its candidates (its stored rows hold the rest)
        part_q = spark.createDataFrame(pa.table({"query_track_id": pa.array(plan.queries_partial, pa.string()),
                                                 "partial": pa.array([True] * len(plan.queries_partial))}).to_pandas())
        new_o = spark.createDataFrame(pa.table({"original_track_id": pa.array(plan.new_originals, pa.string()),
                                                "new": pa.array([True] * len(plan.new_originals))}).to_pandas())
        out = (out.join(F.broadcast(part_q), "query_track_id", "left").join(F.broadcast(new_o), "original_track_id", "left")
               .where(F.col("partial").isNull() | F.col("new").isNotNull())
               .select("query_track_id", "original_track_id", "retrieval_score"))
    return out


def _score(spark, feats: DataFrame, cands: DataFrame, plan: SweepPlan, *, warehouse, source, sim, sweep,
           run_id, say: Callable[[str], None] = lambda line: None) -> DataFrame:
    """``matches`` rows of the planned queries: exact scores of their candidates, best ``top_k``.

    The candidates' originals' features travel once: broadcast (every original that is some
    query's candidate, when their stored features are at most ``sweep.broadcast_features_max_mb``),
    each task scoring its queries with the candidates' ids; else joined to every candidate pair and
    cogrouped with the query (a 68 KB features cell per pair: some 2 x 10^6 pairs at 20,000
    tracks, bench/results/sweep_scale.md).
    """
    from pyspark.sql import functions as F

    from .scoring import MATCH_SCHEMA, merge_ranked, score_query, worker_cache

    o_feats = feats.where("is_original").select(F.col("track_id").alias("original_track_id"),
                                                F.col("features").alias("o_features"))
    planned = spark.createDataFrame(pa.table({"query_track_id": pa.array(
        list(plan.queries_full) + list(plan.queries_partial), pa.string())}).to_pandas())
    q_feats = feats.select(F.col("track_id").alias("query_track_id"), F.col("features").alias("q_features")) \
        .join(F.broadcast(planned), "query_track_id")
    n_queries = len(plan.queries_full) + len(plan.queries_partial)
    n_parts = max(1, -(-n_queries // sweep.queries_per_task))
    left = cands.join(o_feats, "original_track_id").repartition(n_parts, "query_track_id")
    right = q_feats.repartition(n_parts, "query_track_id")
    partial = set(plan.queries_partial)
    stored: dict = {}
    if partial:
        m_uri = table_uri(warehouse, "matches")
        if table_exists(m_uri):
            # only the partial queries' kept rows (top_k each), for the merge
            import pyarrow.compute as pc

            kept = read_arrow(m_uri, filter=[("source", "=", source)])
            kept = kept.filter(pc.is_in(kept["query_track_id"], value_set=pa.array(sorted(partial), pa.string())))
            for r in kept.to_pylist():
                stored.setdefault(r["query_track_id"], []).append(r)
    # shipped once per executor, not inside every task's closure
    stored_b = spark.sparkContext.broadcast(stored)
    top_k = sweep.top_k
    melody_first = bool(sweep.melody_first)
    # decoded originals live in each Python worker across its tasks, at most decoded_cache_tracks of
    # them (scoring.worker_cache); the key is minted per run on the driver (as predict_batch_udf
    # keys its model cache), so a later run never reads this one's entries
    cache_key, cache_tracks = uuid.uuid4().hex, int(sweep.decoded_cache_tracks)
    if sweep.broadcast_features_max_mb > 0:
        need = cands.select("original_track_id").distinct()
        o_need = o_feats.join(F.broadcast(need), "original_track_id")
        size = o_need.select(F.coalesce(F.sum(F.length("o_features")), F.lit(0))).first()[0]
        if int(size) / 2 ** 20 <= sweep.broadcast_features_max_mb:
            say(f"{STAGE}: scoring with the candidates' features broadcast ({int(size) / 2 ** 20:.0f} MiB)")
            o = o_need.toArrow()
            blobs_b = spark.sparkContext.broadcast(dict(zip(o.column("original_track_id").to_pylist(),
                                                            o.column("o_features").to_pylist())))
            del o
            cl = cands.groupBy("query_track_id").agg(F.collect_list("original_track_id").alias("c_ids"),
                                                     F.collect_list("retrieval_score").alias("c_scores"))
            rows = q_feats.join(cl, "query_track_id", "left").repartition(n_parts, "query_track_id")

            def score_rows(batches):
                stored, blobs, cache = stored_b.value, blobs_b.value, worker_cache(cache_key, cache_tracks)
                for pdf in batches:
                    tables = []
                    for qid, qblob, c_ids, c_scores in zip(pdf["query_track_id"], pdf["q_features"], pdf["c_ids"],
                                                           pdf["c_scores"]):
                        c_ids = [] if c_ids is None else list(c_ids)
                        if not c_ids and qid not in stored:
                            continue
                        # best retrieval score first (ties by id): a deterministic order for rank ties
                        order = sorted(range(len(c_ids)), key=lambda i: (-c_scores[i], c_ids[i]))
                        table = score_query(qid, qblob, [(c_ids[i], blobs[c_ids[i]]) for i in order], settings=sim,
                                            top_k=top_k, source=source, run_id=run_id, cache=cache,
                                            melody_first=melody_first)
                        if qid in stored:
                            table = merge_ranked(table, stored[qid], top_k=top_k)
                        tables.append(table)
                    if tables:
                        yield pa.concat_tables(tables).to_pandas()

            return rows.mapInPandas(score_rows, spark_schema(MATCH_SCHEMA))

    def score_group(left_pdf, right_pdf):
        import pandas as pd

        stored = stored_b.value
        if right_pdf.empty or left_pdf.empty and right_pdf["query_track_id"].iloc[0] not in stored:
            return pd.DataFrame(columns=MATCH_SCHEMA.names)
        qid = str(right_pdf["query_track_id"].iloc[0])
        cand = list(zip(left_pdf["original_track_id"].astype(str), left_pdf["o_features"]))
        table = score_query(qid, right_pdf["q_features"].iloc[0], cand, settings=sim, top_k=top_k, source=source,
                            run_id=run_id, cache=worker_cache(cache_key, cache_tracks), melody_first=melody_first)
        if qid in stored:
            table = merge_ranked(table, stored[qid], top_k=top_k)
        return table.to_pandas()

    grouped = left.groupBy("query_track_id").cogroup(right.groupBy("query_track_id"))
    return grouped.applyInPandas(score_group, spark_schema(MATCH_SCHEMA))
