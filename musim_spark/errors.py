"""One exception hierarchy and the quarantine reason codes.

Every error the library raises on purpose is a :class:`MusimError`. Third-party errors are
wrapped with ``raise ... from exc`` and the message names the offending file or value.

Quarantine reasons are stable codes: they are stored in the ``quarantine`` table, written by
``musim sample-data --faults`` into ``_truth/faults.csv``, and scripted against by users, so a
code is never renamed (add new ones instead).
"""

from __future__ import annotations

import enum

__all__ = [
    "MusimError",
    "ParameterError",
    "InputError",
    "ModelError",
    "WriteError",
    "StageNotBuiltError",
    "WarehouseLockedError",
    "QuarantineReason",
    "one_line",
]


class MusimError(Exception):
    """Base class of every error musim-spark raises on purpose."""


class ParameterError(MusimError, ValueError):
    """A function or command was called with an invalid argument or configuration.

    Also a :class:`ValueError`, so code written against the built-in error keeps catching it.
    """


class InputError(MusimError):
    """An input file is unreadable or malformed.

    Parameters
    ----------
    path : str
        The offending file (relative to the data-set root where one is known).
    reason : QuarantineReason
        The stable code recorded in quarantine.
    detail : str
        A readable explanation, naming the bad value.
    """

    def __init__(self, path: str, reason: "QuarantineReason", detail: str):
        self.path = str(path)
        self.reason = QuarantineReason(reason)
        self.detail = detail
        super().__init__(f"{self.path}: {self.reason.value}: {detail}")


class ModelError(MusimError):
    """A model (transcription, separation) is missing, failed to load or returned bad output."""


class WriteError(MusimError):
    """A table write or commit failed or was refused (schema mismatch, conflicting commit...)."""


class StageNotBuiltError(MusimError):
    """A pipeline stage named by the interface is not implemented yet."""


class WarehouseLockedError(MusimError):
    """Another run holds the warehouse's write lock (:mod:`musim_spark.io.lock`); the message names it."""


def one_line(exc: BaseException) -> str:
    """A third-party error as one line: its first non-empty line, or its type name when it has none.

    Messages of this project are one line (the CLI prints them after the command name); some
    libraries put a Rust backtrace (deltalake) or a source excerpt (PyYAML) after the first line,
    and some raise with no message at all (``EOFError()`` from a truncated file).

    Examples
    --------
    >>> one_line(ValueError("Json error: bad\\n   0: <unknown>\\n   1: <unknown>"))
    'Json error: bad'
    >>> one_line(EOFError())
    'EOFError'
    """
    for line in str(exc).splitlines():
        if line.strip():
            return line.strip()
    return type(exc).__name__


class QuarantineReason(str, enum.Enum):
    """Why an input was rejected. The value is the code stored in tables and faults.csv."""

    # audio
    WAV_TRUNCATED = "WAV_TRUNCATED"            #: header promises more frames than the file holds
    WAV_NOT_AUDIO = "WAV_NOT_AUDIO"            #: not a RIFF/WAVE file at all
    WAV_WRONG_FORMAT = "WAV_WRONG_FORMAT"      #: not 44.1 kHz / 16-bit / stereo PCM
    WAV_MISSING = "WAV_MISSING"                #: the track has no .wav
    # MIDI
    MIDI_EMPTY = "MIDI_EMPTY"                  #: zero bytes, or a valid file with no notes
    MIDI_CORRUPT = "MIDI_CORRUPT"              #: bytes that do not parse as Standard MIDI
    MIDI_MISSING = "MIDI_MISSING"              #: the track has no .mid
    MIDI_TOO_LONG = "MIDI_TOO_LONG"            #: an event past the reader's tick bound (a note hours long)
    # MusicXML
    XML_MISSING = "XML_MISSING"                #: the track has no .xml/.musicxml
    XML_CORRUPT = "XML_CORRUPT"                #: not well-formed XML
    # label
    LABEL_MISSING = "LABEL_MISSING"            #: the track has no .json label
    LABEL_NOT_JSON = "LABEL_NOT_JSON"          #: does not parse as JSON
    LABEL_NOT_UTF8 = "LABEL_NOT_UTF8"          #: bytes that are not UTF-8
    LABEL_MISSING_FIELDS = "LABEL_MISSING_FIELDS"  #: a required field is absent
    LABEL_INVALID = "LABEL_INVALID"            #: fails label.schema.json for another reason
    LABEL_PATH_ESCAPES_ROOT = "LABEL_PATH_ESCAPES_ROOT"  #: soundPath/midiPath leaves the data-set root
    LABEL_DUPLICATE = "LABEL_DUPLICATE"        #: a second label claims a track that has its own
    # layout
    STRAY_FILE = "STRAY_FILE"                  #: a file that belongs to no track
    NAME_FOLDER_MISMATCH = "NAME_FOLDER_MISMATCH"  #: file name disagrees with its folder path
    TRACK_REJECTED = "TRACK_REJECTED"          #: a good file whose track was rejected for another file
    PARSE_ERROR = "PARSE_ERROR"                #: the stage raised unexpectedly on this input (a bug to report)
    NAME_NOT_UTF8 = "NAME_NOT_UTF8"            #: a file or folder name that is not UTF-8 (path stored escaped)
    DUPLICATE = "DUPLICATE"                    #: a second copy of a track in another folder (detail: the kept one)
    # archives
    ZIP_ENTRY_UNSAFE = "ZIP_ENTRY_UNSAFE"      #: an archive entry that would escape the root
    ZIP_TOO_LARGE = "ZIP_TOO_LARGE"            #: decompressed size over the configured bound
    ZIP_CORRUPT = "ZIP_CORRUPT"                #: archive parts that do not form a readable zip
    # incremental runs
    REMOVED = "REMOVED"                        #: a track that was ingested before and is gone now
    # later stages
    EMPTY_TRANSCRIPTION = "EMPTY_TRANSCRIPTION"  #: the transcription found no note in audible audio
    AUDIO_NONFINITE = "AUDIO_NONFINITE"        #: NaN or infinite samples (a float WAV written by a broken tool)
    AUDIO_UNDECODABLE = "AUDIO_UNDECODABLE"    #: the decoder refused the file (transcribe stage)
    AUDIO_SILENT = "AUDIO_SILENT"              #: no sample above the silence floor: nothing to transcribe
    AUDIO_CLIPPED = "AUDIO_CLIPPED"            #: too many samples at full scale: pitches smear into distortion
    AUDIO_BAD_RATE = "AUDIO_BAD_RATE"          #: a sample rate too low to carry the model's pitch range
    AUDIO_TOO_LONG = "AUDIO_TOO_LONG"          #: longer than the configured bound (a runaway file)
    AUDIO_TOO_SHORT = "AUDIO_TOO_SHORT"        #: shorter than one analysis frame
