"""``musim ingest --root DATA``: the CLI face of :func:`musim_spark.ingest.stage.run_ingest`.

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
    from ..spark import build_spark_session
    from .settings import IngestSettings
    from .stage import run_ingest

    settings = IngestSettings.from_section(config.section("ingest"))
    if args.no_audio:
        settings = dataclasses.replace(settings, require_audio=False)
    run_id = args.run_id or new_run_id()
    sessions = []

    def session():
        # Started on first use: a rerun with nothing to parse never pays the JVM start.
        if not sessions:
            sessions.append(build_spark_session(config.spark, app_suffix=":ingest"))
        return sessions[0]

    try:
        summary = run_ingest(session, config, root=args.root, warehouse=args.warehouse, run_id=run_id,
                             settings=settings)
    finally:
        for s in sessions:
            s.stop()
    summary.print()
    print(summary.details())
    if summary.landing:
        print(f"ingest: zip input landed in {summary.landing}")
    tables = ", ".join(table_uri(args.warehouse, t) for t in ("tracks", "labels", "notes", "quarantine"))
    committed = ", ".join(summary.commits) if summary.commits else "nothing (no changes)"
    print(f"ingest: run {summary.run_id}; committed {committed}; tables: {tables}")
    return 0
