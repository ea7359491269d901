"""Similarity settings: the ``similarity:`` section of ``conf/*.yaml`` as a frozen dataclass.

Library code never reads the file; the CLI and jobs call :meth:`SimilaritySettings.from_config` once
and pass the result down. Defaults here equal the packaged ``resources/defaults.yaml`` values (which say how each was
chosen); units are in the names (``_ms``, ``_s``, ``_oct``).
"""

from __future__ import annotations

import dataclasses

from ..config import Config, section_dataclass

__all__ = ["SimilaritySettings"]


@dataclasses.dataclass(frozen=True)
class SimilaritySettings:
    """Tolerances, alignment scores, thresholds.

    Attributes
    ----------
    onset_tolerance_s : float
        Onsets closer than this are one event (melody skyline).
    n_transpositions : int
        Key shifts tried per pair (the best pitch-class histogram correlations).
    melody_match, melody_near, melody_mismatch : float
        Substitution values for same pitch class / a semitone off (ornament, transcription slip) /
        anything else (after transposition).
    melody_rhythm_bonus : float
        Added (subtracted) when two notes' inter-onset-interval ratios agree (disagree).
    melody_ioi_tolerance_oct : float
        Agreement tolerance on log2 IOI ratio (octaves of ratio: 0.3 = factor 1.23).
    melody_gap_open, melody_gap_extend : float
        Affine gap penalties of the melody alignment.
    rhythm_window : int
        Pulses per compared window (>= 1).
    rhythm_center : float
        Window similarity (0-1) above which two events count as matching.
    rhythm_scale : float
        Substitution = scale x (similarity - center).
    rhythm_group_weights : tuple of float
        Weights of kick, snare, hi-hat, percussion, other accompaniment, chord-track comping,
        melody line in the window similarity (one per :data:`.features.RHYTHM_GROUPS`).
    rhythm_smooth : float
        Share of each step's onset weight spread to its two neighbouring steps before the cosine
        (tolerance of transcription timing errors; 0 = none).
    rhythm_gap_open, rhythm_gap_extend : float
    chord_match, chord_same_root, chord_related, chord_mismatch : float
        Substitution values: same triad / same root other quality / relative or mediant triad
        (two shared tones) / anything else.
    chord_gap_open, chord_gap_extend : float
    chord_min_fit, chord_bass_weight : float
        Chord estimation (see :func:`.features.chords_per_beat`).
    max_alignments : int
        Non-overlapping local alignments per facet (more than one: a cover keeping separate parts).
    extra_alignment_min_fraction : float
        An extra alignment is kept only if it scores at least this fraction of a self-match of the
        shorter sequence.
    merge_gap_ms, min_section_ms : float
        Section rules (:func:`.sections.path_sections`).
    min_melody_notes, min_rhythm_pulses, min_chord_events : int
        Fewer items than this on either side: the facet is NaN ("cannot be computed").
    cohort_path : str or None
        Cohort of unrelated reference songs (:mod:`.cohort`); None = the one shipped with the package.
    cohort_min_spread : tuple of float
        Floor (score points) on a track's cohort spread per facet (melody, rhythm, chord), so
        near-identical cohort scores cannot make a normalised score explode.
    score_slope : float
        Reported score = ``100 sigmoid(score_slope (z - threshold))``: 50 at the decision threshold,
        ``1 / score_slope`` cohort spreads from 50 to 73.
    melody_threshold, rhythm_threshold, chord_threshold : float
        Per-facet decision thresholds on the cohort-normalised scores (z, in cohort spreads; chosen
        on the calibration set); the reported 0-100 score is 50 there.
    combine_bias, combine_melody_weight, combine_rhythm_weight, combine_chord_weight : float
        Logistic combination of the reported (calibrated) scores:
        p = sigmoid(bias + sum(weight x score / 100)); coefficient = 2p - 1.
    coefficient_threshold : float
        ``isSimilar`` = coefficient >= this.
    """

    onset_tolerance_s: float = 0.03
    n_transpositions: int = 3
    melody_match: float = 2.0
    melody_near: float = -0.5
    melody_mismatch: float = -1.5
    melody_rhythm_bonus: float = 0.5
    melody_ioi_tolerance_oct: float = 0.3
    melody_gap_open: float = 2.0
    melody_gap_extend: float = 0.5
    rhythm_window: int = 4
    rhythm_center: float = 0.4
    rhythm_scale: float = 4.0
    rhythm_group_weights: tuple = (0.1, 0.1, 0.1, 0.05, 0.25, 2.0, 4.0)
    rhythm_smooth: float = 0.5
    rhythm_gap_open: float = 2.0
    rhythm_gap_extend: float = 0.5
    chord_match: float = 2.0
    chord_same_root: float = 0.0
    chord_related: float = -0.5
    chord_mismatch: float = -1.5
    chord_gap_open: float = 2.0
    chord_gap_extend: float = 0.5
    chord_min_fit: float = 0.6
    chord_bass_weight: float = 1.5
    max_alignments: int = 3
    extra_alignment_min_fraction: float = 0.1
    merge_gap_ms: float = 10000.0
    min_section_ms: float = 2000.0
    min_melody_notes: int = 8
    min_rhythm_pulses: int = 8
    min_chord_events: int = 4
    cohort_path: str | None = None
    cohort_min_spread: tuple = (5.0, 2.0, 2.0)
    score_slope: float = 1.0
    melody_threshold: float = 3.911
    rhythm_threshold: float = 5.252
    chord_threshold: float = 8.357
    combine_bias: float = -12.992
    combine_melody_weight: float = 19.84
    combine_rhythm_weight: float = 2.899
    combine_chord_weight: float = 5.057
    coefficient_threshold: float = -0.091

    def __post_init__(self):
        object.__setattr__(self, "rhythm_group_weights", tuple(float(w) for w in self.rhythm_group_weights))
        object.__setattr__(self, "cohort_min_spread", tuple(float(w) for w in self.cohort_min_spread))

    @classmethod
    def from_config(cls, config: Config | None) -> "SimilaritySettings":
        """The ``similarity`` section of a loaded configuration (defaults where absent).

        Parameters
        ----------
        config : musim_spark.config.Config or None
            None gives the dataclass defaults.

        Raises
        ------
        ParameterError
            An unknown key in the section (the message names the file).
        """
        if config is None:
            return cls()
        return section_dataclass(cls, config.section("similarity"), where=f"{config.path}: similarity")
