"""What every table-writing command shares: ``--run-id``, ``--wait-lock``, and holding the lock.

``musim ingest``, ``transcribe``, ``similarity`` and ``run`` write Delta tables under one run id and
hold the warehouse's write lock (:mod:`musim_spark.io.lock`) for their whole run; this module is
the one place their options and the lock handling are spelled out.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from typing import Iterator

__all__ = ["add_writer_options", "holding_warehouse"]


def add_writer_options(parser: argparse.ArgumentParser) -> None:
    """``--run-id`` and ``--wait-lock``."""
    parser.add_argument("--run-id", default=None,
                        help="run id to record (default: a new one); the same id twice commits nothing twice")
    parser.add_argument("--wait-lock", type=float, default=0.0, metavar="SECONDS",
                        help="wait up to SECONDS for another run holding the warehouse (default: stop at once)")


@contextlib.contextmanager
def holding_warehouse(args: argparse.Namespace, config, command: str) -> Iterator[str]:
    """Hold the warehouse lock for ``musim COMMAND``; yields the run id (``--run-id`` or a new one).

    A stale lock taken over is reported as one line on stderr, like every message of the CLI.
    """
    from .io.lock import command_lock
    from .io.settings import DeltaSettings
    from .runs import new_run_id

    run_id = getattr(args, "run_id", None) or new_run_id()
    with command_lock(args.warehouse, run_id=run_id, command=command, wait_s=getattr(args, "wait_lock", 0.0),
                      stale_after_s=DeltaSettings.from_config(config).lock_stale_after_s,
                      warn=lambda line: print(f"musim {command}: warning: {line}", file=sys.stderr)):
        yield run_id
