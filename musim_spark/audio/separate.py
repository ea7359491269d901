"""DSP source separation: stems of a mix without a model (librosa), numpy in, numpy out.

Three splits, each summing back to (about) the mix:

- ``hpss``: harmonic (sustained partials: melody, chords, bass) and percussive (attacks: drums),
  median-filtering HPSS (Fitzgerald 2010) on the STFT, soft masks.
- ``foreground``: foreground (what repeats less: the lead) and background (what repeats: the
  accompaniment), REPET-SIM [#]_: a nearest-neighbour median filter over similar frames.
- ``stereo`` (the default of ``musim separate``): ``drums``, ``melody`` and ``accompaniment``, a
  cascade of the two cues the transcription uses (:mod:`.drums`, :mod:`.stereo`): (1) drums =
  the HPSS percussive soft mask of the channels' mean magnitude, applied to each channel;
  (2) melody = of the rest, the centre of the stereo image (a Gaussian pan-index mask [#]_, where
  pop mixes put the lead) above ``melody_fmin_hz`` (a logistic high-pass: the bass and the kick
  sit in the centre too, below the lead); (3) accompaniment = the rest minus the melody; (4) with
  ``wiener_iterations``, the drums are re-estimated from the mix by the three estimates' power
  spectrograms (the drums' share of each bin, per channel: a single-channel Wiener filter [#]_),
  the melody kept and the accompaniment what is left. Mono audio has no centre: the melody is
  the REPET-SIM foreground of the rest above ``melody_fmin_hz``.

Audio of shape (n, 2) gives stereo stems (masks from both channels, applied to each); mono gives
mono stems. The default backend, basic-pitch, transcribes the mix directly and wants no stems;
drum onsets already use the percussive component internally (:mod:`.drums`). Stems are for
listening, for backends that take them, and for scoring separation against the generated sets'
true stems (:mod:`musim_spark.evaluate.separation`, ``bench/separation.py``).

References
----------
.. [#] Z. Rafii, B. Pardo, "Music/voice separation using the similarity matrix", ISMIR 2012.
.. [#] C. Avendano, "Frequency-domain source identification and manipulation in stereo mixes for
   enhancement, suppression and re-panning applications", IEEE WASPAA 2003.
.. [#] A. Liutkus, F.-R. Stöter, "sigsep/norbert: multichannel Wiener filter", 2019 (the single
   channel, soft-mask form).

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
>>> x = np.stack([y, y + 0.3 * np.sin(2 * np.pi * 330 * t)], axis=1)   # a pad only on the right
>>> sorted(separate(x, sr, method="stereo"))
['accompaniment', 'drums', 'melody']
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..config import SectionSettings
from ..errors import ParameterError

__all__ = ["separate", "METHODS", "SeparateSettings"]

#: method -> the names of its stems
METHODS = {"hpss": ("harmonic", "percussive"), "foreground": ("foreground", "background"),
           "stereo": ("drums", "melody", "accompaniment")}


@dataclasses.dataclass(frozen=True)
class SeparateSettings(SectionSettings):
    """How ``musim separate`` splits a mix (the ``separate:`` section; defaults = ``defaults.yaml``).

    Chosen on a development set (``bench/separation.py --tune``, one seed) and reported on another
    (bench/results/separation.md).

    Attributes
    ----------
    method : str
        A key of :data:`METHODS`.
    drum_kernel : int
        HPSS median filter length (frames and bins) of the drum stage.
    drum_power : float
        Exponent of the HPSS soft masks (larger: harder masks).
    center_width : float
        Standard deviation of the centre's Gaussian pan mask (pan index -1..1).
    melody_fmin_hz, melody_fmin_width_hz : float
        The melody's logistic high-pass: half gain at ``melody_fmin_hz``, slope width in Hz.
    wiener_iterations : int
        Re-estimations of the drums from the mix by the estimates' power spectrograms (0: none).
    margin : float
        HPSS mask margin of the ``hpss`` method (>= 1).
    """

    SECTION = "separate"

    method: str = "stereo"
    drum_kernel: int = 17
    drum_power: float = 2.0
    center_width: float = 0.07
    melody_fmin_hz: float = 180.0
    melody_fmin_width_hz: float = 50.0
    wiener_iterations: int = 1
    margin: float = 1.0

    def __post_init__(self):
        if self.method not in METHODS:
            raise ParameterError(f"separate.method must be one of {', '.join(METHODS)}, got {self.method!r}")
        if int(self.drum_kernel) < 3:
            raise ParameterError(f"separate.drum_kernel must be >= 3, got {self.drum_kernel!r}")
        for name in ("drum_power", "center_width", "melody_fmin_width_hz"):
            if not float(getattr(self, name)) > 0:
                raise ParameterError(f"separate.{name} must be > 0, got {getattr(self, name)!r}")
        if float(self.margin) < 1.0:
            raise ParameterError(f"separate.margin must be >= 1, got {self.margin!r}")
        if int(self.wiener_iterations) < 0:
            raise ParameterError(f"separate.wiener_iterations must be >= 0, got {self.wiener_iterations!r}")

_N_FFT = 2048
_HOP = 512


def _stft(x: np.ndarray) -> np.ndarray:
    """STFT per channel: (n, c) -> (c, bins, frames)."""
    import librosa

    return np.stack([librosa.stft(np.ascontiguousarray(x[:, c]), n_fft=_N_FFT, hop_length=_HOP)
                     for c in range(x.shape[1])])


def _istft(X: np.ndarray, n: int) -> np.ndarray:
    """Inverse of :func:`_stft`: (c, bins, frames) -> (n, c) float32."""
    import librosa

    return np.stack([librosa.istft(X[c], hop_length=_HOP, length=n) for c in range(X.shape[0])],
                    axis=1).astype(np.float32)


def _repet_sim_masks(S: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray]:
    """REPET-SIM foreground and background soft masks of a magnitude spectrogram."""
    import librosa

    # each frame's background is the median of its most similar frames (>= 2 s apart)
    width = int(librosa.time_to_frames(2, sr=sr, hop_length=_HOP))
    S_filter = librosa.decompose.nn_filter(S, aggregate=np.median, metric="cosine",
                                           width=min(width, max(1, (S.shape[1] - 1) // 2 - 1)))
    S_filter = np.minimum(S, S_filter)
    mask_bg = librosa.util.softmask(S_filter, 2 * (S - S_filter), power=2)
    mask_fg = librosa.util.softmask(S - S_filter, 10 * S_filter, power=2)
    return mask_fg, mask_bg


def _stereo_split(x: np.ndarray, sr: int, s: "SeparateSettings") -> dict[str, np.ndarray]:
    """The ``stereo`` cascade (module docstring) on (n, c) audio; stems (n, c)."""
    import librosa

    n = x.shape[0]
    X = _stft(x)
    _, mask_p = librosa.decompose.hpss(np.abs(X).mean(axis=0), kernel_size=int(s.drum_kernel),
                                       power=float(s.drum_power), mask=True)
    drums = _istft(mask_p * X, n)
    rest = x - drums
    R = _stft(rest)
    f = librosa.fft_frequencies(sr=sr, n_fft=_N_FFT)[:, None]
    mask_m = 1.0 / (1.0 + np.exp(-(f - float(s.melody_fmin_hz)) / float(s.melody_fmin_width_hz)))
    if x.shape[1] >= 2:
        aL, aR = np.abs(R[0]), np.abs(R[1])
        pan = (aR - aL) / (aR + aL + 1e-9)
        mask_m = mask_m * np.exp(-0.5 * (pan / float(s.center_width)) ** 2)
    else:
        mask_m = mask_m * _repet_sim_masks(np.abs(R[0]), sr)[0]
    melody = _istft(mask_m * R, n)
    stems = {"drums": drums, "melody": melody, "accompaniment": rest - melody}
    for _ in range(int(s.wiener_iterations)):
        # each channel's bins re-split by the three estimates' power; the drums take their share,
        # the melody keeps its pan-mask estimate (sharper than a power ratio: dev melody -0.5 dB
        # when re-split too) and the accompaniment is what is left, so the stems still sum to the mix
        power = {k: np.abs(_stft(v)) ** 2 for k, v in stems.items()}
        total = sum(power.values()) + 1e-12
        stems["drums"] = _istft(power["drums"] / total * X, n)
        stems["accompaniment"] = x - stems["drums"] - stems["melody"]
    return stems


def separate(y: np.ndarray, sr: int, *, method: str = "hpss", margin: float = 1.0,
             settings: "SeparateSettings | None" = None) -> dict[str, np.ndarray]:
    """Split audio into stems.

    Parameters
    ----------
    y : np.ndarray [shape=(n,) or (n, c)]
        Mono or multichannel audio (masks come from the channels' mean magnitude, or for the
        centre from the first two channels, and apply to each channel).
    sr : int
        Sample rate (Hz).
    method : {'hpss', 'foreground', 'stereo'}
        Ignored when ``settings`` is given (its ``method`` wins).
    margin : float
        HPSS mask margin (>= 1; larger: cleaner stems that no longer sum to the mix).
    settings : SeparateSettings, optional
        Every parameter (default: :class:`SeparateSettings` with ``method`` and ``margin``).

    Returns
    -------
    dict of str to np.ndarray
        The stems (:data:`METHODS`), float32, the shape of ``y``.

    Raises
    ------
    ParameterError
        Unknown method, or audio that is not 1-D or 2-D.
    """
    import librosa

    if settings is None:
        if method not in METHODS:
            raise ParameterError(f"unknown separation method {method!r}; known: {', '.join(METHODS)}")
        settings = SeparateSettings(method=method, margin=margin)
    y = np.asarray(y, dtype=np.float32)
    if y.ndim not in (1, 2):
        raise ParameterError(f"audio must have shape (n,) or (n, channels), got {y.shape}")
    x = y[:, None] if y.ndim == 1 else y
    if settings.method == "stereo":
        stems = _stereo_split(x, sr, settings)
    else:
        X = _stft(x)
        S = np.abs(X).mean(axis=0)
        if settings.method == "hpss":
            masks = librosa.decompose.hpss(S, margin=float(settings.margin), mask=True)
        else:
            masks = _repet_sim_masks(S, sr)
        stems = {name: _istft(m * X, x.shape[0]) for name, m in zip(METHODS[settings.method], masks)}
    return {k: v[:, 0] if y.ndim == 1 else v for k, v in stems.items()}
