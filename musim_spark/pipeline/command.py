"""``musim run --root DATA [--source midi|audio] [--out DIR]``: the nightly job (:mod:`.stages`).

Holds the warehouse's write lock for the whole run, prints each stage's line and one closing line
(saying so when nothing was new and Spark was never started).
"""

from __future__ import annotations

import argparse
import dataclasses

from ..writer_options import add_writer_options, holding_warehouse

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``musim run``."""
    from ..ingest.command import parse_share

    parser.add_argument("--root", required=True, help="data-set directory or directory of split zip parts")
    parser.add_argument("--source", choices=["midi", "audio"], default="midi",
                        help="sweep on the data set's MIDI (default) or on our transcription of the audio")
    parser.add_argument("--top-k", type=int, default=None, help="matches kept per query (default: sweep.top_k)")
    parser.add_argument("--out", default=None, help="export the labels here after the sweep")
    parser.add_argument("--no-audio", action="store_true", help="accept tracks without .wav (MIDI-only delivery)")
    parser.add_argument("--allow-removals", type=lambda t: _share(parse_share, t), default=None, metavar="N%",
                        help="let ingest remove up to N%% of the stored tracks (default: ingest.max_removed_share)")
    add_writer_options(parser)


def _share(parse, text):
    from ..errors import ParameterError

    try:
        return parse(text)
    except ParameterError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def run(args: argparse.Namespace, config) -> int:
    """Run the pipeline; 0 on success (quarantined inputs are not failures)."""
    from ..ingest.settings import IngestSettings
    from .stages import run_pipeline

    settings = IngestSettings.from_config(config)
    if args.no_audio:
        settings = dataclasses.replace(settings, require_audio=False)
    if args.allow_removals is not None:
        settings = dataclasses.replace(settings, max_removed_share=args.allow_removals)
    with holding_warehouse(args, config, "run") as run_id:
        summary = run_pipeline(config, root=args.root, warehouse=args.warehouse, run_id=run_id, source=args.source,
                               top_k=args.top_k, out=args.out, ingest_settings=settings,
                               progress=lambda line: print(line, flush=True))
    for line in summary.lines():
        print(line, flush=True)
    return 0
