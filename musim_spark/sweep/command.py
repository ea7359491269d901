"""``musim similarity [--source midi|audio] [--top-k K] [--full]``: the CLI face of
:func:`musim_spark.sweep.stage.run_similarity_lazily`.

Prints the stage line (``similarity: rows in N, rows out N, quarantined N, 12.3 s``), what the
run did (plan, pairs scored, time per phase) and where the tables are. The whole run holds the
warehouse's write lock (:mod:`musim_spark.io.lock`).
"""

from __future__ import annotations

import argparse

from ..writer_options import add_writer_options, holding_warehouse

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``musim similarity``."""
    parser.add_argument("--source", choices=["midi", "audio"], default="midi",
                        help="notes of the data set's MIDI (default) or of our transcription of the audio")
    parser.add_argument("--top-k", type=int, default=None,
                        help="matches kept per query (default: sweep.top_k of the configuration)")
    parser.add_argument("--full", action="store_true",
                        help="recompute every track's features and rescore every query (default: only new work)")
    add_writer_options(parser)


def run(args: argparse.Namespace, config) -> int:
    """Run the stage; returns 0 (tracks without features are quarantined, not failures)."""
    from ..errors import ParameterError
    from ..io.tables import table_uri
    from .stage import run_similarity_lazily

    if args.top_k is not None and args.top_k < 1:
        raise ParameterError(f"--top-k must be >= 1, got {args.top_k}")
    with holding_warehouse(args, config, "similarity") as run_id:
        summary = run_similarity_lazily(config, warehouse=args.warehouse, run_id=run_id, source=args.source,
                                        top_k=args.top_k, full=args.full, progress=lambda line: print(line, flush=True))
    summary.print()
    print(summary.details())
    committed = ", ".join(summary.commits) if summary.commits else "nothing (no changes)"
    tables = ", ".join(table_uri(args.warehouse, t) for t in ("features", "matches"))
    print(f"similarity: run {run_id}; committed {committed}; tables: {tables}")
    return 0
