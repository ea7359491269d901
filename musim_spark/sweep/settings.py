"""Sweep settings: the ``sweep:`` section of ``conf/*.yaml`` as a frozen dataclass.

Library code never reads the file; the CLI and jobs call :meth:`SweepSettings.from_config` once
and pass the result down. Defaults here equal the packaged ``resources/defaults.yaml`` values.
"""

from __future__ import annotations

import dataclasses

from ..config import SectionSettings
from ..errors import ParameterError

__all__ = ["SweepSettings"]


@dataclasses.dataclass(frozen=True)
class SweepSettings(SectionSettings):
    """How much the sweep keeps and how it cuts the work into Spark tasks.

    Attributes
    ----------
    top_k : int
        ``matches`` rows kept per query (ranks 1..top_k); ``musim similarity --top-k`` overrides it.
    tracks_per_task : int
        Tracks whose features one Spark task computes (about 10-20 ms each).
    queries_per_task : int
        Queries one scoring task takes (each with its retrieved candidates, a few ms per pair).
    originals_match_originals : bool
        Score originals against the other originals too (catalog-internal plagiarism); covers are
        never candidates, so covers of one original do not match each other.
    progress_every_s : float
        Seconds between progress lines of a long phase (tasks done of total, rate, time left).
    """

    SECTION = "sweep"

    top_k: int = 10
    tracks_per_task: int = 200
    queries_per_task: int = 100
    originals_match_originals: bool = True
    progress_every_s: float = 30.0

    def __post_init__(self):
        for name in ("top_k", "tracks_per_task", "queries_per_task"):
            if int(getattr(self, name)) < 1:
                raise ParameterError(f"sweep.{name} must be >= 1, got {getattr(self, name)!r}")

