"""The nightly pipeline: ingest -> (transcribe) -> similarity -> (export), sharing one lazy session.

Each stage is the same function its own command runs, so ``musim run`` and the single commands
agree; each does only new work (the stages' own incremental plans) and records its own ``runs``
row under the one run id. The Spark session is a :class:`musim_spark.spark.LazySession`: it starts
on the first stage that has work, so a night with nothing new starts no JVM at all and says so.

A stage that fails stops the run (the progress line before its error names it); the stages before it stay committed,
and the next run picks up from there, as every stage is incremental and every commit carries the
run id (a rerun of the same id commits nothing twice).
"""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path
from typing import Callable

from ..spark import LazySession

__all__ = ["PipelineSummary", "run_pipeline", "STAGES"]

#: Stage order of ``musim run`` (``transcribe`` only with ``--source audio``; ``export`` with ``--out``).
STAGES = ("ingest", "transcribe", "similarity", "export")


@dataclasses.dataclass(frozen=True)
class PipelineSummary:
    """What a ``musim run`` did.

    Attributes
    ----------
    run_id : str
    stages : tuple of (str, object)
        Each stage run, with its summary (a :class:`musim_spark.spark.StageSummary`).
    skipped : tuple of (str, str)
        Stages not run, with the reason.
    spark_started : bool
        Whether any stage needed Spark.
    seconds : float
    """

    run_id: str
    stages: tuple
    skipped: tuple
    spark_started: bool
    seconds: float

    def lines(self) -> list[str]:
        out = [summary.line() if callable(getattr(summary, "line", None)) else str(summary)
               for _, summary in self.stages]
        out += [f"{name}: skipped ({why})" for name, why in self.skipped]
        tail = "" if self.spark_started else "; nothing new: Spark was not started"
        out.append(f"run: {self.run_id}: {len(self.stages)} stages in {self.seconds:.1f} s{tail}")
        return out


def run_pipeline(config, *, root: str | os.PathLike, warehouse: str | os.PathLike, run_id: str,
                 source: str = "midi", top_k: int | None = None, out: str | os.PathLike | None = None,
                 ingest_settings=None, session: LazySession | None = None,
                 progress: Callable[[str], None] | None = None) -> PipelineSummary:
    """Run every stage incrementally.

    Parameters
    ----------
    config : musim_spark.config.Config
    root : path-like
        The data-set root (or directory of zip parts) to ingest.
    warehouse : path-like
    run_id : str
        One id for every stage's commits and ``runs`` row.
    source : {'midi', 'audio'}
        ``audio``: transcribe new or changed audio, then sweep on the transcribed notes.
    top_k : int, optional
        Matches kept per query (``sweep.top_k`` otherwise).
    out : path-like, optional
        Export the labels (``musim export``) here after the sweep; skipped when the sweep committed
        nothing and ``out`` already holds an export.
    ingest_settings : IngestSettings, optional
    session : LazySession, optional
        Default: one of its own, stopped at the end.
    progress : callable, optional
        Called with one line as each stage starts.

    Raises
    ------
    MusimError
        A stage failed (its own error; ``progress`` has named the stage).
    """
    from ..export.settings import ExportSettings
    from ..export.stage import export_warehouse
    from ..ingest.stage import run_ingest_lazily
    from ..similarity.settings import SimilaritySettings
    from ..sweep.stage import run_similarity_lazily

    started = time.monotonic()
    own = session is None
    session = session or LazySession(config.spark, app_suffix=":run")
    say = progress or (lambda line: None)
    done, skipped = [], []

    def stage(name: str, fn):
        say(f"run: {name} ...")  # a failing stage's own one-line error follows this line
        done.append((name, fn()))

    try:
        stage("ingest", lambda: run_ingest_lazily(config, root=root, warehouse=warehouse, run_id=run_id,
                                                  settings=ingest_settings, session=session))
        if source == "audio":
            skipped.append(("transcribe", "not built yet (issue 12): --source audio needs musim transcribe"))
        stage("similarity", lambda: run_similarity_lazily(config, warehouse=warehouse, run_id=run_id, source=source,
                                                          top_k=top_k, session=session, progress=progress))
        sweep = done[-1][1]
        if out is None:
            skipped.append(("export", "no --out given"))
        elif not getattr(sweep, "commits", ()) and (Path(out) / "manifest.json").is_file():
            skipped.append(("export", f"nothing new since the export in {out}"))
        else:
            stage("export", lambda: export_warehouse(warehouse, out, source=source,
                                                     settings=ExportSettings.from_config(config),
                                                     similarity=SimilaritySettings.from_config(config), warn=say))
        return PipelineSummary(run_id, tuple(done), tuple(skipped), session.started, time.monotonic() - started)
    finally:
        if own:
            session.stop()
