"""Separation quality: our stems against a generated set's rendered stems (``_truth/stems``).

Conventions
-----------
Audio is float, shape ``(n,)`` (mono) or ``(n, channels)``, one sample rate for a reference and its
estimate. A stereo estimate is scored against a stereo reference channel by channel, the squared
errors summed (an image, as in SiSEC/MUSDB); a mono estimate against a stereo reference is
broadcast to both channels. Lengths may differ by a few samples (decoders, resampling): both are
cut to the shorter.

Metric
------
:func:`sdr` is the signal-to-distortion ratio of the Music Demixing Challenge 2021 [#]_ (also
"global SDR", "nSDR"): ``10 log10(sum s^2 / sum (s - s_hat)^2)`` over the whole track, every
channel. It allows no distortion filter: gains, delays and filtering of the estimate all count
as error, so it is never above BSS-eval v3's SDR [#]_ on the same pair (that one first projects
the estimate on the reference through 512-tap filters) and is usually within about 1 dB of
museval's (the SiSEC 2018 figures; Spleeter's published SDRs are of this family [#]_). We use it
because it is cheap (BSS-eval on one 30 s stereo track with three sources takes 40 s here),
deterministic and has no free parameter; ``bench/separation.py --bss-eval N`` also gives
mir_eval's ``bss_eval_images`` on N tracks to relate the two.

Undefined figures are nan: a reference whose energy is below :data:`SILENT_ENERGY` (the stem
does not play in this track) has no SDR. A perfect estimate gives ``+inf``.

Stem groups
-----------
:data:`TRUTH_GROUPS` says which rendered stems each of our stems should contain: ``drums`` and
``percussive`` the drum kit (``Rhythm``), ``melody`` and ``foreground`` the lead (``Melody``),
``accompaniment`` and ``background`` every other part, ``harmonic`` every pitched part. A group
named ``*`` takes every stem not claimed by the other groups of the same split.

References
----------
.. [#] Y. Mitsufuji, G. Fabbro, S. Uhlich, F.-R. Stöter, A. Défossez, M. Kim, W. Choi, C.-Y. Yu,
   K.-W. Cheuk, "Music Demixing Challenge 2021", Frontiers in Signal Processing, 2022 (eq. 1).
.. [#] E. Vincent, R. Gribonval, C. Févotte, "Performance measurement in blind audio source
   separation", IEEE TASLP 14(4), 2006.
.. [#] R. Hennequin, A. Khlif, F. Voituret, M. Moussallam, "Spleeter: a fast and efficient music
   source separation tool with pre-trained models", JOSS 5(50), 2020.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> s, n = rng.standard_normal(1000), rng.standard_normal(1000)
>>> sdr(s, s)
inf
>>> round(sdr(s, s + n), 1)          # an estimate with as much error as signal: about 0 dB
-0.4
>>> truth_for("accompaniment", ["drums", "melody", "accompaniment"], ["Melody", "Bass", "Rhythm", "Pad"])
['Bass', 'Pad']
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from ..errors import ParameterError

__all__ = ["SILENT_ENERGY", "TRUTH_GROUPS", "sdr", "truth_for", "score_stems", "summarize_sdr", "evaluate_stem_dirs"]

#: A reference with less energy (sum of squares, full scale 1) than this is silent: SDR undefined.
#: 1e-6 is a stem 60 dB below a full-scale sine over one sample's worth; any audible part is far above.
SILENT_ENERGY = 1e-6

#: our stem -> the rendered stems (``_truth/stems/<track>/<name>.wav``) it should contain; ``*`` = the rest
TRUTH_GROUPS: dict[str, tuple[str, ...]] = {
    "drums": ("Rhythm",),
    "percussive": ("Rhythm",),
    "melody": ("Melody",),
    "foreground": ("Melody",),
    "accompaniment": ("*",),
    "background": ("*",),
    "harmonic": ("*",),
}


def _as_2d(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        return x[:, None]
    if x.ndim != 2:
        raise ParameterError(f"audio must have shape (n,) or (n, channels), got {x.shape}")
    return x


def sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Signal-to-distortion ratio in dB of one estimate (MDX 2021 definition, see the module).

    Parameters
    ----------
    reference, estimate : np.ndarray [shape=(n,) or (n, channels)]
        The true stem and our estimate, same sample rate. A mono estimate is broadcast over the
        reference's channels; the longer is cut to the shorter.

    Returns
    -------
    float
        dB; ``inf`` for an exact estimate; nan when the reference is silent (:data:`SILENT_ENERGY`).

    Raises
    ------
    ParameterError
        Not 1-D/2-D, non-finite samples, or channel counts that do not broadcast.

    Examples
    --------
    >>> import numpy as np
    >>> s = np.sin(np.arange(100.0))
    >>> round(sdr(s, 0.5 * s), 2)                  # half the amplitude: error = half the signal
    6.02
    >>> sdr(np.zeros(100), s)
    nan
    """
    ref, est = _as_2d(reference), _as_2d(estimate)
    if est.shape[1] not in (1, ref.shape[1]):
        raise ParameterError(f"estimate has {est.shape[1]} channels, reference {ref.shape[1]}")
    if not (np.all(np.isfinite(ref)) and np.all(np.isfinite(est))):
        raise ParameterError("reference and estimate must be finite")
    n = min(ref.shape[0], est.shape[0])
    ref, est = ref[:n], est[:n]
    signal = float(np.sum(ref ** 2))
    if signal < SILENT_ENERGY:
        return math.nan
    error = float(np.sum((ref - est) ** 2))
    return math.inf if error == 0.0 else 10.0 * math.log10(signal / error)


def truth_for(stem: str, split: Sequence[str], available: Sequence[str]) -> list[str]:
    """The rendered stems that ``stem`` (one of ``split``) should contain, among ``available``.

    Raises
    ------
    ParameterError
        ``stem`` has no group in :data:`TRUTH_GROUPS`.
    """
    if stem not in TRUTH_GROUPS:
        raise ParameterError(f"no truth group for stem {stem!r}; known: {', '.join(sorted(TRUTH_GROUPS))}")
    group = TRUTH_GROUPS[stem]
    if "*" in group:
        claimed = {name for other in split if other != stem and "*" not in TRUTH_GROUPS.get(other, ("*",))
                   for name in TRUTH_GROUPS[other]}
        return [name for name in available if name not in claimed]
    return [name for name in available if name in group]


def score_stems(truth: Mapping[str, np.ndarray], estimates: Mapping[str, np.ndarray]) -> dict[str, float]:
    """SDR of each estimated stem against the sum of its truth group (one track).

    Parameters
    ----------
    truth : mapping of str to np.ndarray
        Rendered stem name (``Melody``, ``Rhythm``, ...) -> audio.
    estimates : mapping of str to np.ndarray
        Our stem name (a key of :data:`TRUTH_GROUPS`) -> audio at the truth's rate.

    Returns
    -------
    dict of str to float
        Our stem -> SDR in dB (nan where its group is empty or silent).

    Examples
    --------
    >>> import numpy as np
    >>> t = {"Melody": np.ones(10), "Rhythm": np.full(10, 2.0), "Bass": np.full(10, 3.0)}
    >>> mix = sum(t.values())
    >>> {k: round(v, 2) for k, v in score_stems(t, {"melody": mix, "drums": 0 * mix, "accompaniment": mix}).items()}
    {'melody': -13.98, 'drums': 0.0, 'accompaniment': 0.0}
    """
    split = list(estimates)
    out = {}
    for stem, est in estimates.items():
        names = truth_for(stem, split, list(truth))
        if not names:
            out[stem] = math.nan
            continue
        ref = sum(np.asarray(truth[name], dtype=np.float64) for name in names)
        out[stem] = sdr(ref, est)
    return out


def summarize_sdr(per_track: Sequence[Mapping[str, float]]) -> dict[str, dict]:
    """Per stem over tracks: ``median`` (SiSEC's aggregate), ``mean`` and ``n`` of the finite SDRs.

    Examples
    --------
    >>> summarize_sdr([{"drums": 4.0}, {"drums": 6.0}, {"drums": float("nan")}])
    {'drums': {'median': 5.0, 'mean': 5.0, 'n': 2}}
    """
    stems: list[str] = []
    for row in per_track:
        stems += [k for k in row if k not in stems]
    out = {}
    for stem in stems:
        vals = np.array([row[stem] for row in per_track if stem in row and np.isfinite(row[stem])], float)
        out[stem] = {"median": float(np.median(vals)) if vals.size else math.nan,
                     "mean": float(np.mean(vals)) if vals.size else math.nan, "n": int(vals.size)}
    return out


def _read_wav(path: Path, sr: int | None) -> tuple[np.ndarray, int]:
    import soundfile as sf

    y, rate = sf.read(path, dtype="float32", always_2d=True)
    if sr is not None and rate != sr:
        from ..audio.decode import resample

        y = np.stack([resample(np.ascontiguousarray(y[:, c]), rate, sr) for c in range(y.shape[1])], axis=1)
        rate = sr
    return y, rate


def evaluate_stem_dirs(ours: str | os.PathLike, truth: str | os.PathLike) -> dict:
    """SDR of every track's stems in ``ours/<track>/<stem>.wav`` against ``truth/<track>/<part>.wav``.

    Parameters
    ----------
    ours : path-like
        ``musim separate``'s output (``<warehouse>/stems``).
    truth : path-like
        A generated set's ``_truth/stems``.

    Returns
    -------
    dict
        ``tracks`` (scored: in both folders), ``per_stem`` (:func:`summarize_sdr`),
        ``per_track`` (track -> stem -> dB), ``metric``. Our stems are read at the truth's rate.
    """
    ours, truth = Path(ours), Path(truth)
    per_track: dict[str, dict[str, float]] = {}
    for d in sorted(p for p in ours.iterdir() if p.is_dir()) if ours.is_dir() else []:
        tdir = truth / d.name
        if not tdir.is_dir():
            continue
        parts, rate = {}, None
        for f in sorted(tdir.glob("*.wav")):
            parts[f.stem], rate = _read_wav(f, rate)
        est = {f.stem: _read_wav(f, rate)[0] for f in sorted(d.glob("*.wav")) if f.stem in TRUTH_GROUPS}
        if parts and est:
            per_track[d.name] = score_stems(parts, est)
    return {"metric": "SDR dB (MDX 2021, whole track)", "tracks": len(per_track),
            "per_stem": summarize_sdr(list(per_track.values())), "per_track": per_track}
