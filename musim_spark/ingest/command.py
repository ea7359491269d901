"""``musim ingest --root DATA``: the CLI face of :func:`musim_spark.ingest.stage.run_ingest_lazily`.

Prints the stage line (``ingest: rows in N, rows out N, quarantined N, 12.3 s``), the track and
file reconciliation, and where the tables are.
"""

from __future__ import annotations

import argparse
import dataclasses

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``musim ingest`` (``--conf``, ``--warehouse``, ``--master`` come from the CLI)."""
    parser.add_argument("--root", required=True,
                        help="a data-set directory (Similar/, Regular/ below it), or a directory of split zip "
                             "parts NAME.zip.part0, .part1, ... (extracted incrementally under the warehouse)")
    parser.add_argument("--no-audio", action="store_true",
                        help="accept tracks without .wav (a set made with 'sample-data --no-audio'); "
                             "default: a track without audio is quarantined as WAV_MISSING")
    parser.add_argument("--run-id", default=None,
                        help="run id to record (default: a new one); the same id twice commits nothing twice")


def run(args: argparse.Namespace, config) -> int:
    """Run the stage; returns 0 (rejected inputs are quarantined, not failures)."""
    from ..io.tables import table_uri
    from ..runs import new_run_id
    from .settings import IngestSettings
    from .stage import run_ingest_lazily

    settings = IngestSettings.from_config(config)
    if args.no_audio:
        settings = dataclasses.replace(settings, require_audio=False)
    run_id = args.run_id or new_run_id()
    # Spark starts only if there is something to parse: a rerun over unchanged data never pays the JVM start.
    summary = run_ingest_lazily(config, root=args.root, warehouse=args.warehouse, run_id=run_id, settings=settings)
    summary.print()
    print(summary.details())
    if summary.landing:
        print(f"ingest: zip input landed in {summary.landing}")
    tables = ", ".join(table_uri(args.warehouse, t) for t in ("tracks", "labels", "notes", "quarantine"))
    committed = ", ".join(summary.commits) if summary.commits else "nothing (no changes)"
    print(f"ingest: run {summary.run_id}; committed {committed}; tables: {tables}")
    return 0
