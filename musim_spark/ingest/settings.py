"""The ``ingest:`` section of the configuration, as a frozen dataclass.

Examples
--------
>>> from musim_spark.config import Config, SparkSettings
>>> conf = Config(path="example.yaml", spark=SparkSettings(),
...               sections={"ingest": {"tracks_per_task": 8, "wav_format": {"channels": 1}}})
>>> s = IngestSettings.from_config(conf)
>>> s.tracks_per_task, s.wav_format.channels, s.wav_format.sample_rate
(8, 1, 44100)
>>> IngestSettings.from_config(None) == IngestSettings()
True
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any, Mapping

from ..config import Config, section_dataclass
from ..errors import ParameterError
from .wavheader import WavFormat
from .zipparts import ZipBounds

__all__ = ["IngestSettings"]


@dataclasses.dataclass(frozen=True)
class IngestSettings:
    """How ingest checks and batches its input.

    Attributes
    ----------
    wav_format : WavFormat
        The audio format the data set promises; anything else is ``WAV_WRONG_FORMAT``.
    require_audio : bool
        A track without ``.wav`` is rejected (``WAV_MISSING``). The CLI's ``--no-audio`` turns it
        off for MIDI-only sets.
    validate_labels : bool
        Check each label against the full JSON Schema (``LABEL_INVALID``); the fields ingest
        relies on are always checked.
    hash_algorithm : str
        A :mod:`hashlib` name for the content hashes (``sha256``; the column names say sha256,
        so change it only together with the table schema).
    tracks_per_task : int
        Tracks per Spark task (each Python task costs ~0.15 s of overhead: batch many tracks).
    max_tasks : int
        Upper bound on parse tasks (0: no bound).
    read_chunk_bytes : int
        Read size while hashing.
    zip : ZipBounds
        Bounds on split-zip input.
    landing_dir : str
        Folder under the warehouse that split-zip input is extracted into: a relative path that
        stays below the warehouse and is not a table's folder (``_landing``).
    max_removed_share : float
        Largest share (0-1) of the tracks in ``tracks`` one run may remove (tracks whose files are
        gone or now incomplete) before ingest refuses the root as emptied, unmounted or wrong
        (:func:`.incremental.check_removals`); the CLI's ``--allow-removals N%`` overrides it.
    """

    wav_format: WavFormat = WavFormat()
    require_audio: bool = True
    validate_labels: bool = True
    hash_algorithm: str = "sha256"
    tracks_per_task: int = 64
    max_tasks: int = 0
    read_chunk_bytes: int = 1 << 20
    zip: ZipBounds = ZipBounds()
    landing_dir: str = "_landing"
    max_removed_share: float = 0.1

    def __post_init__(self) -> None:
        if self.hash_algorithm not in hashlib.algorithms_available:
            raise ParameterError(f"ingest.hash_algorithm {self.hash_algorithm!r} is not a hashlib algorithm")
        if self.tracks_per_task < 1:
            raise ParameterError(f"ingest.tracks_per_task must be >= 1, got {self.tracks_per_task}")
        _check_landing_dir(self.landing_dir)
        if not 0.0 <= self.max_removed_share <= 1.0:
            raise ParameterError(f"ingest.max_removed_share must be within 0-1, got {self.max_removed_share}")

    @classmethod
    def from_config(cls, config: Config | None) -> "IngestSettings":
        """The settings of ``config``'s ``ingest:`` section (unknown keys refused, at any depth).

        Parameters
        ----------
        config : musim_spark.config.Config or None
            None: the dataclass defaults (the same as the packaged default configuration).

        Raises
        ------
        ParameterError
            On an unknown key or a bad value.
        """
        if config is None:
            return cls()
        return cls._from_mapping(config.section("ingest"))

    @classmethod
    def _from_mapping(cls, section: Mapping[str, Any]) -> "IngestSettings":
        """Build from the ``ingest:`` mapping (nested ``wav_format`` and ``zip`` mappings)."""
        values = dict(section)
        if "wav_format" in values:
            values["wav_format"] = section_dataclass(WavFormat, values["wav_format"], where="ingest.wav_format")
        if "zip" in values:
            values["zip"] = section_dataclass(ZipBounds, values["zip"], where="ingest.zip")
        return section_dataclass(cls, values, where="ingest")


def _check_landing_dir(landing_dir: str) -> None:
    """Refuse a landing area outside the warehouse, the warehouse itself, or a table's folder."""
    import posixpath

    norm = posixpath.normpath(str(landing_dir).replace("\\", "/")) if landing_dir else ""
    if (not landing_dir or landing_dir.startswith(("/", "\\")) or norm in (".", "..") or norm.startswith("../")
            or (len(landing_dir) > 1 and landing_dir[1] == ":")):
        raise ParameterError(f"ingest.landing_dir {landing_dir!r} must be a relative folder below the warehouse")
    if not norm.split("/")[0].startswith(("_", ".")):
        raise ParameterError(f"ingest.landing_dir {landing_dir!r} must start with '_' (a warehouse folder that "
                             f"is no table)")
