"""DSP source separation: stems of a mix without a model (librosa), numpy in, numpy out.

Two splits, each summing back to (about) the mix:

- ``hpss``: harmonic (sustained partials: melody, chords, bass) and percussive (attacks: drums),
  median-filtering HPSS (Fitzgerald 2010) on the STFT, soft masks.
- ``foreground``: foreground (what repeats less: the lead) and background (what repeats: the
  accompaniment), REPET-SIM: a nearest-neighbour median filter over similar frames.

The default backend, basic-pitch, transcribes the mix directly and wants no stems; drum onsets
already use the percussive component internally (:mod:`.drums`). Stems are for listening, for
backends that take them, and for scoring separation against the generated sets' true stems.

Examples
--------
>>> import numpy as np
>>> sr = 22050
>>> t = np.arange(sr) / sr
>>> y = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
>>> y[::2205] += 0.8                                  # ten clicks on a steady tone
>>> stems = separate(y, sr, method="hpss")
>>> sorted(stems)
['harmonic', 'percussive']
>>> bool(np.abs(stems["percussive"]).max() > np.abs(stems["harmonic"][::2205]).max() / 4)
True
"""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError

__all__ = ["separate", "METHODS"]

#: method -> the names of its stems
METHODS = {"hpss": ("harmonic", "percussive"), "foreground": ("foreground", "background")}

_N_FFT = 2048
_HOP = 512


def separate(y: np.ndarray, sr: int, *, method: str = "hpss", margin: float = 1.0) -> dict[str, np.ndarray]:
    """Split mono audio into two stems.

    Parameters
    ----------
    y : np.ndarray
        Mono audio.
    sr : int
        Sample rate (Hz).
    method : {'hpss', 'foreground'}
    margin : float
        HPSS mask margin (>= 1; larger: cleaner stems that no longer sum to the mix).

    Returns
    -------
    dict of str to np.ndarray
        The stems (:data:`METHODS`), float32, the length of ``y``.

    Raises
    ------
    ParameterError
        Unknown method.
    """
    import librosa

    if method not in METHODS:
        raise ParameterError(f"unknown separation method {method!r}; known: {', '.join(METHODS)}")
    y = np.asarray(y, dtype=np.float32)
    D = librosa.stft(y, n_fft=_N_FFT, hop_length=_HOP)
    if method == "hpss":
        H, P = librosa.decompose.hpss(D, margin=margin)
        parts = (H, P)
    else:
        S, phase = librosa.magphase(D)
        # REPET-SIM: each frame's background is the median of its most similar frames (>= 2 s apart).
        width = int(librosa.time_to_frames(2, sr=sr, hop_length=_HOP))
        S_filter = librosa.decompose.nn_filter(S, aggregate=np.median, metric="cosine",
                                               width=min(width, max(1, S.shape[1] // 2 - 1)))
        S_filter = np.minimum(S, S_filter)
        mask_bg = librosa.util.softmask(S_filter, 2 * (S - S_filter), power=2)
        mask_fg = librosa.util.softmask(S - S_filter, 10 * S_filter, power=2)
        parts = (mask_fg * D, mask_bg * D)
    return {name: librosa.istft(part, hop_length=_HOP, length=y.size).astype(np.float32)
            for name, part in zip(METHODS[method], parts)}
