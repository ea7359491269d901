"""``musim ingest --root DATA``: the CLI face of :func:`musim_spark.ingest.stage.run_ingest_lazily`.

Prints the stage line (``ingest: rows in N, rows out N, quarantined N, 12.3 s``), the track and
file reconciliation, and where the tables are. The whole run holds the warehouse's write lock
(:mod:`musim_spark.io.lock`): a second run stops naming the first, or waits with ``--wait-lock``.
"""

from __future__ import annotations

import argparse
import dataclasses

from ..errors import ParameterError

from ..writer_options import add_writer_options, holding_warehouse

__all__ = ["add_arguments", "run", "parse_share"]


def parse_share(text: str) -> float:
    """``--allow-removals`` as a share 0-1: ``"10%"`` -> 0.1, ``"100%"`` -> 1.0; a bare number is percent.

    Examples
    --------
    >>> parse_share("25%"), parse_share("5")
    (0.25, 0.05)
    """
    raw = str(text).strip().rstrip("%").strip()
    try:
        value = float(raw) / 100.0
    except ValueError:
        raise ParameterError(f"--allow-removals {text!r}: not a percentage such as 10% or 100%") from None
    if not 0.0 <= value <= 1.0:
        raise ParameterError(f"--allow-removals {text!r}: must be between 0% and 100%")
    return value


def _share(text: str) -> float:
    try:
        return parse_share(text)
    except ParameterError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``musim ingest`` (``--conf``, ``--warehouse``, ``--master`` come from the CLI)."""
    parser.add_argument("--root", required=True,
                        help="a data-set directory (Similar/, Regular/ below it), or a directory of split zip "
                             "parts NAME.zip.part0, .part1, ... (extracted incrementally under the warehouse)")
    parser.add_argument("--no-audio", action="store_true",
                        help="accept tracks without .wav (a set made with 'sample-data --no-audio'); "
                             "default: a track without audio is quarantined as WAV_MISSING")
    parser.add_argument("--allow-removals", type=_share, default=None, metavar="N%",
                        help="let this run remove up to N%% of the tracks in the warehouse (files gone or now "
                             "incomplete); default ingest.max_removed_share (10%%): more is refused as an "
                             "empty, unmounted or wrong --root")
    add_writer_options(parser)


def run(args: argparse.Namespace, config) -> int:
    """Run the stage; returns 0 (rejected inputs are quarantined, not failures)."""
    from ..io.tables import table_uri
    from .settings import IngestSettings
    from .stage import run_ingest_lazily

    settings = IngestSettings.from_config(config)
    if args.no_audio:
        settings = dataclasses.replace(settings, require_audio=False)
    if getattr(args, "allow_removals", None) is not None:
        settings = dataclasses.replace(settings, max_removed_share=args.allow_removals)
    with holding_warehouse(args, config, "ingest") as run_id:
        # Spark starts only if there is something to parse: a rerun over unchanged data never pays the JVM start.
        summary = run_ingest_lazily(config, root=args.root, warehouse=args.warehouse, run_id=run_id,
                                    settings=settings)
    summary.print()
    print(summary.details())
    if summary.landing:
        print(f"ingest: zip input landed in {summary.landing}")
    tables = ", ".join(table_uri(args.warehouse, t) for t in ("tracks", "labels", "notes", "quarantine"))
    committed = ", ".join(summary.commits) if summary.commits else "nothing (no changes)"
    print(f"ingest: run {summary.run_id}; committed {committed}; tables: {tables}")
    return 0
