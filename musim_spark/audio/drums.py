"""Drum onsets from the percussive component of a mix (HPSS), as General MIDI drum notes.

Median-filtering HPSS (:func:`librosa.decompose.hpss`) separates sustained partials from broadband
attacks; onsets of the percussive spectrogram in three frequency bands stand for kick (GM 36),
snare (38) and hi-hat (42), the groups the rhythm facet compares.

Examples
--------
>>> import numpy as np
>>> sr = 22050
>>> y = np.zeros(2 * sr, np.float32)
>>> rng = np.random.default_rng(0)
>>> for t in (0.25, 0.75, 1.25, 1.75):   # four noise bursts: hi-hat-like clicks
...     i = int(t * sr); y[i:i + 500] = rng.normal(0, 0.3, 500) * np.exp(-np.arange(500) / 80)
>>> hits = drum_onsets(y, sr)
>>> sorted({round(float(s), 1) for s in hits[hits[:, 2] == 42, 0]})  # the hi-hat band
[0.2, 0.7, 1.2, 1.7]
"""

from __future__ import annotations

import numpy as np

__all__ = ["drum_onsets", "DRUM_BANDS"]

#: (GM drum key, low Hz, high Hz) of the bands whose onsets are reported.
DRUM_BANDS = ((36, 30.0, 150.0), (38, 150.0, 2500.0), (42, 5000.0, 11000.0))

_N_FFT = 1024
_HOP = 256


def drum_onsets(y: np.ndarray, sr: int, *, delta: float = 0.25, min_gap_s: float = 0.06) -> np.ndarray:
    """Onsets of the percussive component of ``y``, one row per hit.

    Parameters
    ----------
    y : np.ndarray
        Mono audio.
    sr : int
        Its sample rate (Hz).
    delta : float
        Peak-picking threshold above the local mean of each band's normalized onset envelope.
    min_gap_s : float
        Two hits of one band are at least this far apart.

    Returns
    -------
    np.ndarray
        Shape (n, 4): ``start_s, end_s, pitch (GM drum key), strength (0-1)``, sorted by time.
    """
    import librosa

    y = np.asarray(y, dtype=np.float32)
    if y.size < _N_FFT:
        return np.zeros((0, 4))
    S = np.abs(librosa.stft(y, n_fft=_N_FFT, hop_length=_HOP))
    _, P = librosa.decompose.hpss(S, margin=2.0)
    freqs = librosa.fft_frequencies(sr=sr, n_fft=_N_FFT)
    wait = max(1, int(round(min_gap_s * sr / _HOP)))
    rows = []
    # Linear-magnitude flux, not dB: a kick's faint click in the hi-hat band is a large jump in dB
    # over an empty band, but a small one in magnitude.
    envs = []
    for key, lo, hi in DRUM_BANDS:
        band = (freqs >= lo) & (freqs < min(hi, sr / 2))
        if not band.any():
            envs.append(None)
            continue
        mag = P[band]
        envs.append(np.maximum(0.0, np.diff(mag, axis=1, prepend=mag[:, :1])).sum(axis=0))
    peak = max((float(e.max()) for e in envs if e is not None and e.size), default=0.0)
    if peak <= 0:
        return np.zeros((0, 4))
    for (key, lo, hi), env in zip(DRUM_BANDS, envs):
        if env is None:
            continue
        # Each band on its own scale (hi-hats are quieter than kicks), unless the band is only
        # bleed: a hundredth of the loudest band's flux.
        top = float(env.max())
        if top < 0.01 * peak:
            continue
        norm = env / top
        peaks = librosa.util.peak_pick(norm, pre_max=3, post_max=3, pre_avg=10, post_avg=10,
                                       delta=delta, wait=wait)
        # A hit is also loud on the band's own scale: the local mean of a quiet passage is low
        # enough for ripples to pass the delta test.
        peaks = peaks[norm[peaks] >= 2 * delta]
        for f in peaks:
            t = librosa.frames_to_time(int(f), sr=sr, hop_length=_HOP)
            rows.append((t, t + 0.05, key, float(min(1.0, norm[f]))))
    if not rows:
        return np.zeros((0, 4))
    out = np.asarray(rows, dtype=np.float64)
    return out[np.lexsort((out[:, 2], out[:, 0]))]
