"""``musim transcribe [--backend NAME] [--full]``: the CLI face of
:func:`musim_spark.audio.stage.run_transcribe_lazily`.

Prints the stage line (``transcribe: rows in N, rows out N, quarantined N, 12.3 s``), what the
run did (backend, tracks, real-time factor, devices) and where the tables are. The whole run holds
the warehouse's write lock (:mod:`musim_spark.io.lock`).
"""

from __future__ import annotations

import argparse

from ..writer_options import add_writer_options, holding_warehouse

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``musim transcribe``."""
    parser.add_argument("--backend", default=None,
                        help="transcription backend: basic-pitch (embedded, default) or omnizart "
                             "(needs its checkpoints); default: transcribe.backend of the configuration")
    parser.add_argument("--full", action="store_true",
                        help="transcribe every track again (default: only new or changed audio)")
    add_writer_options(parser)


def run(args: argparse.Namespace, config) -> int:
    """Run the stage; returns 0 (bad audio is quarantined, not a failure)."""
    from ..io.tables import table_uri
    from .stage import run_transcribe_lazily

    with holding_warehouse(args, config, "transcribe") as run_id:
        summary = run_transcribe_lazily(config, warehouse=args.warehouse, run_id=run_id, backend=args.backend,
                                        full=args.full)
    summary.print()
    print(summary.details())
    committed = ", ".join(summary.commits) if summary.commits else "nothing (no changes)"
    tables = ", ".join(table_uri(args.warehouse, t) for t in ("transcribed_notes", "transcriptions"))
    print(f"transcribe: run {run_id}; committed {committed}; tables: {tables}")
    return 0
