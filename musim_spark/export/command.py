"""``musim export --out DIR [--source midi|audio] [--reports N]``: the CLI face of
:func:`musim_spark.export.stage.export_warehouse`.

Prints one line (labels, matches, similar pairs, reports, where) and a warning per pair report
that could not be written. Reads the warehouse only; exit 1 with one line when there is nothing
to export (no ``matches``: run ``musim similarity`` first) or a label fails the schema.
"""

from __future__ import annotations

import argparse
import dataclasses

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``musim export``."""
    parser.add_argument("--out", required=True, help="output directory (absent, empty or a previous export)")
    parser.add_argument("--source", choices=["midi", "audio"], default="midi",
                        help="whose matches: the data set's MIDI (default) or our transcription of the audio")
    parser.add_argument("--reports", type=int, default=None, metavar="N",
                        help="pair reports for the N most suspicious pairs (default: export.report_pairs, 50)")


def run(args: argparse.Namespace, config) -> int:
    """Run the export; returns 0."""
    from ..errors import ParameterError
    from ..similarity.settings import SimilaritySettings
    from .settings import ExportSettings
    from .stage import export_warehouse

    settings = ExportSettings.from_config(config)
    if args.reports is not None:
        if args.reports < 0:
            raise ParameterError(f"--reports must be >= 0, got {args.reports}")
        settings = dataclasses.replace(settings, report_pairs=args.reports)
    summary = export_warehouse(args.warehouse, args.out, source=args.source, settings=settings,
                               similarity=SimilaritySettings.from_config(config))
    print(summary.line())
    return 0
