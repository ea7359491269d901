"""Retrieval settings: the ``retrieval:`` section of ``conf/*.yaml`` as a frozen dataclass.

Library code never reads the file; the CLI and jobs call :meth:`RetrievalSettings.from_config` once
and pass the result down. Defaults here equal the packaged ``resources/defaults.yaml`` values (which
say how each was chosen, see bench/results/retrieval.md).
"""

from __future__ import annotations

import dataclasses

from ..config import SectionSettings
from ..errors import ParameterError

__all__ = ["RetrievalSettings"]


@dataclasses.dataclass(frozen=True)
class RetrievalSettings(SectionSettings):
    """Shingles, index and candidate budget of the catalog sweep's candidate retrieval.

    Attributes
    ----------
    pitch_gram_notes : int
        Notes per melodic shingle (octave-folded pitch intervals only); 0 = none.
    joint_gram_notes : int
        Notes per melodic-rhythmic shingle (octave-folded intervals and quantised inter-onset
        ratios); 0 = none.
    max_deletions : int
        Skip-grams: also shingle every window of ``d`` more notes (events) with ``d`` inner ones
        left out, for ``d = 1 .. max_deletions``, on both sides: a dropped, an extra or a wrong
        note (up to this many in a window, the two sides together) then leaves the shingles
        around it intact. 0 = plain n-grams; 2 quadruples the shingles of 1.
    ioi_ratio_step_oct : float
        Width (octaves of ratio, log2) of one inter-onset-ratio class: 1.0 = a class per
        doubling, centred on equal IOIs.
    ioi_ratio_clip : int
        Ratio classes are clipped to +-this many steps (a rest and a note after it are one class).
    chord_gram_events : int
        Chord events per harmonic shingle (root movements and qualities, key-invariant); 0 = none.
    max_lines : int
        Melody candidate lines of a track shingled (the primary line first, then the alternatives
        of :class:`~musim_spark.similarity.features.TrackFeatures`).
    kind_weights : tuple of float
        Weight of each shingle kind (pitch, joint, chord), multiplying its inverse document
        frequency.
    max_df_share : float
        Shingles found in more than this share of the originals (and in more than 10) are dropped
        from the index: they carry little evidence and make the longest posting lists, i.e. most of
        the rows of the Spark join.
    local_window_s : float
        A track's score against an original is the largest sum of shared shingle weights whose
        times (in the track) lie within this many seconds: a copied 4-16 bar phrase inside an
        otherwise different song then stands out against the chance matches spread over the
        whole song. 0 = the whole track (a plain weighted overlap).
    length_norm_power : float
        A candidate's score is its shared shingle weight divided by (its own weighted shingle
        count / the mean) ** this: 0 = raw sum (long originals favoured), 0.5 = cosine-like.
    candidate_share : float
        Candidate budget: per track, this share of the originals (rounded up) goes on to exact
        scoring.
    min_candidates : int
        At least this many candidates per track (small catalogs).
    """

    SECTION = "retrieval"

    pitch_gram_notes: int = 5
    joint_gram_notes: int = 5
    max_deletions: int = 2
    ioi_ratio_step_oct: float = 1.0
    ioi_ratio_clip: int = 2
    chord_gram_events: int = 5
    max_lines: int = 3
    kind_weights: tuple = (0.5, 1.0, 0.25)
    max_df_share: float = 0.01
    local_window_s: float = 30.0
    length_norm_power: float = 0.5
    candidate_share: float = 0.01
    min_candidates: int = 5

    def __post_init__(self):
        object.__setattr__(self, "kind_weights", tuple(float(w) for w in self.kind_weights))
        if len(self.kind_weights) != 3:
            raise ParameterError(f"retrieval.kind_weights needs 3 values (pitch, joint, chord), got {self.kind_weights}")
        for name in ("pitch_gram_notes", "joint_gram_notes"):
            v = int(getattr(self, name))
            if v != 0 and not 3 <= v <= 9:
                raise ParameterError(f"retrieval.{name} must be 0 or 3-9, got {v}")
        if self.chord_gram_events != 0 and not 2 <= self.chord_gram_events <= 8:
            raise ParameterError(f"retrieval.chord_gram_events must be 0 or 2-8, got {self.chord_gram_events}")
        if not 0 <= int(self.max_deletions) <= 2:
            raise ParameterError(f"retrieval.max_deletions must be 0, 1 or 2, got {self.max_deletions}")
        if not 0.0 < self.max_df_share <= 1.0:
            raise ParameterError(f"retrieval.max_df_share must be in (0, 1], got {self.max_df_share}")
        if self.local_window_s < 0:
            raise ParameterError(f"retrieval.local_window_s must be >= 0, got {self.local_window_s}")
        if self.ioi_ratio_step_oct <= 0:
            raise ParameterError(f"retrieval.ioi_ratio_step_oct must be > 0, got {self.ioi_ratio_step_oct}")

    def budget(self, n_originals: int) -> int:
        """Candidates per track for a catalog of ``n_originals`` originals."""
        import math

        return int(min(n_originals, max(self.min_candidates, math.ceil(self.candidate_share * n_originals))))

