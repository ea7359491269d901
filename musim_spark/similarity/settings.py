"""Similarity settings: the ``similarity:`` section of ``conf/*.yaml`` as a frozen dataclass.

Library code never reads the file; the CLI and jobs call :meth:`SimilaritySettings.from_config` once
and pass the result down. Defaults here equal the packaged ``resources/defaults.yaml`` values (which say how each was
chosen); units are in the names (``_ms``, ``_s``, ``_oct``).
"""

from __future__ import annotations

import dataclasses

from ..config import SectionSettings

__all__ = ["SimilaritySettings"]


@dataclasses.dataclass(frozen=True)
class SimilaritySettings(SectionSettings):
    """Tolerances, alignment scores, thresholds.

    Attributes
    ----------
    onset_tolerance_s : float
        Onsets closer than this are one event (melody skyline).
    n_transpositions : int
        Key shifts tried per pair (the best pitch-class histogram correlations).
    melody_same_rate, melody_near_rate : float
        Copy model of the melody scores (log-odds in bits, :func:`.melody.scoring_table`): a copied
        pitch interval stays the same with probability ``melody_same_rate`` and moves a semitone or
        an octave with ``melody_near_rate`` (ornaments, transcription slips).
    melody_interval_clip : int
        Intervals are compared clipped to +-this many semitones.
    melody_pseudo_count : float
        Weight of an even prior in the pair's interval background frequencies.
    melody_rhythm_same_rate : float
        Probability that a copied transition keeps its IOI ratio (within the tolerance).
    melody_rhythm_weight : float
        Weight of the rhythm log-odds beside the pitch log-odds.
    melody_ioi_tolerance_oct : float
        Agreement tolerance on log2 IOI ratio (octaves of ratio: 0.3 = factor 1.23).
    melody_gap_open, melody_gap_extend : float
        Affine gap penalties of the melody alignment (bits).
    melody_merge_penalty : float
        Cost (bits) of aligning two transitions of one line with one of the other, intervals summed
        (Mongeau-Sankoff consolidation/fragmentation: a dropped or split note); negative = off.
    melody_candidates : int
        Candidate melody lines kept per file (:func:`.melody_line.melody_candidates`); the pair
        that aligns best is used.
    melody_partial_intervals : tuple of int
        Semitones above a simultaneous note at which a note is a transcription partial (dropped
        from the melody line).
    melody_continuity_weight : float
        Weight of closeness to the previous melody note when a line keeps one note per onset
        (0 = the highest note that is not a partial).
    melody_null_lambda, melody_null_k, melody_null_lambda_short, melody_null_k_short, melody_null_power : float
        Chance statistics of the melody scoring scheme (:class:`.significance.NullModel`:
        Karlin-Altschul lambda and K with finite-size terms), fitted on unrelated melodies; a
        change of any ``melody_*`` scoring value needs a refit.
    melody_sections_min_significance : float
        Sections (and the key shift) are reported only for pairs at least this significant
        (-log10 P): a best stretch that chance explains is no matching section. Below it only the
        score is computed (one score-only alignment per candidate pair: the sweep's common case).
    rhythm_group_weights : tuple of float
        Weights of the log-odds of kick, snare, hi-hat, percussion, other accompaniment,
        chord-track comping, melody line (one per :data:`.features.RHYTHM_GROUPS`).
    rhythm_copy_prob : float
        In (0, 1): share of the beats of a copied stretch that are copied (log-odds model,
        :mod:`.logodds`).
    rhythm_step_error : float
        In [0, 1): probability that a step of a copied beat reads differently (transcription).
    rhythm_context_weight : float
        Pseudo-count pulling the pair's Markov background of beat patterns towards their
        frequencies (0 = pure first-order chain).
    rhythm_min_group_share : float
        A group is compared only when it has onsets in at least this share of the beats of both
        tracks.
    rhythm_null_lambda, rhythm_null_k, rhythm_null_lambda_short, rhythm_null_k_short, rhythm_null_power : float
        Karlin-Altschul chance statistics of the rhythm scoring (:class:`.significance.NullModel`),
        fitted on unrelated POP909 material; a change of any ``rhythm_*`` scoring value needs a refit.
    rhythm_sections_min_significance : float
        Further alignments (sections) only for pairs at least this significant (-log10 P).
    rhythm_gap_open, rhythm_gap_extend : float
    chord_copy_prob : float
        In (0, 1): share of the chord events of a copied stretch that are copied (log-odds model,
        :mod:`.logodds`).
    chord_same_root_prob, chord_related_prob, chord_other_prob : float
        Noise channel of chord estimation: probability that a copied triad reads as the same root
        with the other quality / as each of the two triads sharing two tones with it (relative,
        mediant) / as each of the 20 other triads.
    chord_context_weight : float
        Pseudo-count pulling the pair's Markov background of chords towards their frequencies.
    chord_null_lambda, chord_null_k, chord_null_lambda_short, chord_null_k_short, chord_null_power : float
        Karlin-Altschul chance statistics of the chord scoring (:class:`.significance.NullModel`),
        fitted on unrelated POP909 material; a change of any ``chord_*`` scoring value needs a refit.
    chord_sections_min_significance : float
        Further alignments (sections) only for pairs at least this significant (-log10 P).
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
    score_slope : float
        Reported score = ``100 sigmoid(score_slope (significance - threshold))``
        (:mod:`.calibration`): 50 at the decision threshold, 73 at ``1 / score_slope`` above it.
    melody_threshold, rhythm_threshold, chord_threshold : float
        Per-facet decision thresholds on the significance (``-log10 P``; chosen on the calibration
        set, bench/similarity.py); the reported 0-100 score is 50 there.
    combine_bias, combine_melody_weight, combine_rhythm_weight, combine_chord_weight : float
        Logistic combination of the reported (calibrated) scores:
        p = sigmoid(bias + sum(weight x score / 100)); coefficient = 2p - 1.
    coefficient_threshold : float
        ``isSimilar`` = coefficient >= this.
    """

    SECTION = "similarity"

    onset_tolerance_s: float = 0.03
    n_transpositions: int = 3
    melody_same_rate: float = 0.8
    melody_near_rate: float = 0.1
    melody_interval_clip: int = 12
    melody_pseudo_count: float = 5.0
    melody_rhythm_same_rate: float = 0.8
    melody_rhythm_weight: float = 1.0
    melody_ioi_tolerance_oct: float = 0.3
    melody_gap_open: float = 6.0
    melody_gap_extend: float = 3.0
    melody_merge_penalty: float = 3.0
    melody_candidates: int = 3
    melody_partial_intervals: tuple = (12, 19, 24)
    melody_continuity_weight: float = 0.5
    melody_null_lambda: float = 0.45597
    melody_null_k: float = 0.035739
    melody_null_lambda_short: float = 0.0
    melody_null_k_short: float = -2.2777
    melody_null_power: float = 0.5
    melody_sections_min_significance: float = 2.0
    rhythm_group_weights: tuple = (0.1, 0.1, 0.1, 0.05, 0.25, 1.0, 1.0)
    rhythm_copy_prob: float = 0.8
    rhythm_step_error: float = 0.07
    rhythm_context_weight: float = 10.0
    rhythm_min_group_share: float = 0.05
    rhythm_null_lambda: float = 1.0123
    rhythm_null_k: float = 0.0018259
    rhythm_null_lambda_short: float = 0.0
    rhythm_null_k_short: float = 4.0169
    rhythm_null_power: float = 0.5
    rhythm_sections_min_significance: float = 1.0
    rhythm_gap_open: float = 4.0
    rhythm_gap_extend: float = 1.0
    chord_copy_prob: float = 0.8
    chord_same_root_prob: float = 0.08
    chord_related_prob: float = 0.05
    chord_other_prob: float = 0.003
    chord_context_weight: float = 1000.0
    chord_null_lambda: float = 0.092022
    chord_null_k: float = 0.0018689
    chord_null_lambda_short: float = 2.2585
    chord_null_k_short: float = 10.862
    chord_null_power: float = 0.5
    chord_sections_min_significance: float = 1.0
    chord_gap_open: float = 1.5
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
    score_slope: float = 1.0
    melody_threshold: float = 4.0
    rhythm_threshold: float = 3.968
    chord_threshold: float = 2.884
    combine_bias: float = -10.886
    combine_melody_weight: float = 17.348
    combine_rhythm_weight: float = 0.0
    combine_chord_weight: float = 3.438
    coefficient_threshold: float = 0.575

    def __post_init__(self):
        object.__setattr__(self, "rhythm_group_weights", tuple(float(w) for w in self.rhythm_group_weights))
        object.__setattr__(self, "melody_partial_intervals", tuple(int(w) for w in self.melody_partial_intervals))

