"""The ``musim`` command line: one entry point over the same code as ``jobs/``.

Each command lives in a module that exposes ``add_arguments(parser)`` and
``run(args, config) -> int``; this file only parses the common options (``--conf``,
``--warehouse``, ``--master``), loads the configuration once and dispatches. The command names
and options are a contract (shared/spec/interface.md): extend them, never rename them.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time

from .errors import MusimError, StageNotBuiltError

__all__ = ["main", "COMMANDS"]

#: command -> (module implementing it, one-line help). ``None`` marks a stage not built yet.
COMMANDS: dict[str, tuple[str | None, str]] = {
    "sample-data": ("musim_spark.sampledata.command", "write a generated data set in the layout of dataset.md"),
    "ingest": ("musim_spark.ingest.command", "ingest a data-set root (or split zip parts) into Delta tables"),
    "separate": ("musim_spark.audio.separate_command", "audio to stems (where the transcription backend wants stems)"),
    "transcribe": ("musim_spark.audio.command", "audio (or stems) to notes"),
    "similarity": ("musim_spark.sweep.command", "every track against every original (retrieval, then exact scoring)"),
    "export": ("musim_spark.export.command", "label JSON per track plus reports"),
    "run": ("musim_spark.pipeline.command", "all stages, incrementally: the nightly job"),
    "compare": ("musim_spark.similarity.command", "compare a query with one or many files (MIDI), ranked"),
    "evaluate": ("musim_spark.evaluate.command", "score the warehouse's results against a generated set's truth"),
    "status": ("musim_spark.status", "tables, versions, row counts, last runs, quarantine summary"),
}

# Options of commands whose stage is not built yet, so that --help already shows the contract.
_PENDING_OPTIONS = {
}


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--conf", default=os.environ.get("MUSIM_CONF"),
                        help="configuration YAML (default: the packaged defaults, which conf/local.yaml bases; env MUSIM_CONF)")
    parser.add_argument("--warehouse", default=os.environ.get("MUSIM_WAREHOUSE", "./warehouse"),
                        help="directory holding the Delta tables (default ./warehouse, env MUSIM_WAREHOUSE)")
    parser.add_argument("--master", default=os.environ.get("MUSIM_MASTER"),
                        help="Spark master, overrides the configuration (env MUSIM_MASTER)")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The ``musim`` parser.

    Parameters
    ----------
    only : str, optional
        Import and add the options of this command only (the one being run; ``""``: none):
        importing every command's module costs seconds (Spark I/O, the data-set generator's scipy)
        that ``musim compare`` should not pay. The other commands are still listed.
    """
    parser = argparse.ArgumentParser(prog="musim", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        _common(p)
        if only is not None and name != only:
            continue
        if module is None:
            for flags, kw in _PENDING_OPTIONS.get(name, []):
                p.add_argument(*flags, **kw)
        else:
            importlib.import_module(module).add_arguments(p)
    return parser


def _command_name(argv: list[str]) -> str | None:
    """The command named in ``argv`` (its first word, as the top-level parser has no options but -h)."""
    first = next((a for a in argv if not a.startswith("-")), None)
    return first if first in COMMANDS else None


def main(argv: list[str] | None = None) -> int:
    """Run ``musim``; returns the exit status (0 success, 1 failure, 2 usage or stage not built)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(only=_command_name(argv) or "")  # "": no command named, no module imported
    args = parser.parse_args(argv)
    module, _ = COMMANDS[args.command]
    started = time.monotonic()
    try:
        if module is None:
            raise StageNotBuiltError(f"'musim {args.command}' is not built yet (see the open issues)")
        from .config import load_config

        config = load_config(args.conf, master=args.master)
        return int(importlib.import_module(module).run(args, config) or 0)
    except StageNotBuiltError as exc:
        print(f"musim {args.command}: {exc}", file=sys.stderr)
        return 2
    except MusimError as exc:
        print(f"musim {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"musim {args.command}: interrupted after {time.monotonic() - started:.0f} s", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
