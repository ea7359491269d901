"""Sample-data settings: the ``sample_data:`` section of the configuration as a frozen dataclass.

Library code never reads the file; ``musim sample-data`` calls :meth:`SampleDataSettings.from_config`
once. The defaults here equal the packaged defaults (``musim_spark/resources/defaults.yaml``).

Relative data folders (``pop909_dir``, ``soundfont``) are resolved against the current working
directory when the settings are loaded, like the command's own path options (``OUT``, ``--pop909``):
nothing is found relative to the package or a repository checkout, so an installed package behaves
the same as a checkout.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Mapping

from ..config import Config, SectionSettings
from .plan import DEFAULT_GENRE_MIX

__all__ = ["SampleDataSettings"]


@dataclasses.dataclass(frozen=True)
class SampleDataSettings(SectionSettings):
    """The ``sample_data`` section of the configuration.

    Attributes
    ----------
    pop909_dir : str
        The POP909 songs (relative: against the current working directory, see :meth:`from_config`).
    soundfont : str or None
        A General MIDI ``.sf2``; None means the TimGM6mb.sf2 inside pretty_midi.
    processes : int
        Worker processes for writing/rendering tracks (1 = in this process).
    midi_noise : float
        Default per-note error rate of the delivered MIDI (0 = clean).
    genre_mix : Mapping[str, float]
        Share of originals per genre (normalised).
    min_melody_notes : int
        POP909 songs whose (cropped) melody has fewer notes are skipped.
    fault_seconds : float
        Length of the extra tracks made for ``--faults``.
    songs, regular, seed : int
        Defaults of the CLI options.
    """

    SECTION = "sample_data"

    pop909_dir: str = "../shared/data/pop909"
    soundfont: str | None = None
    processes: int = 2
    midi_noise: float = 0.0
    genre_mix: Mapping[str, float] = dataclasses.field(default_factory=lambda: dict(DEFAULT_GENRE_MIX))
    min_melody_notes: int = 16
    fault_seconds: float = 8.0
    songs: int = 3
    regular: int = 2
    seed: int = 0

    @classmethod
    def from_config(cls, config: Config | None) -> SampleDataSettings:
        """The ``sample_data`` section of a loaded configuration (None: the defaults).

        Relative ``pop909_dir`` and ``soundfont`` are made absolute against the current working
        directory, so the settings mean the same in worker processes and after a ``chdir``.

        Raises
        ------
        ParameterError
            On a key the section does not have.
        """
        s = super().from_config(config)
        return dataclasses.replace(s, pop909_dir=_absolute(s.pop909_dir), soundfont=_absolute(s.soundfont))


def _absolute(value: str | None) -> str | None:
    if not value:
        return value
    return str(Path(value).expanduser().resolve())
