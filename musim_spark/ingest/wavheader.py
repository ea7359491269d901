"""RIFF/WAVE header facts without decoding the audio.

Only the chunk headers are read (a few dozen bytes, seeking over everything else), so checking a
multi-megabyte WAV costs one or two small reads. The file's size on disk tells whether the
``data`` chunk holds as many bytes as its header promises.

Examples
--------
>>> import struct
>>> fmt = struct.pack("<HHIIHH", 1, 2, 44100, 44100 * 4, 4, 16)
>>> head = (b"RIFF" + struct.pack("<I", 36 + 8) + b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt
...         + b"data" + struct.pack("<I", 8))
>>> info = parse_wav_header(head + bytes(8), path="a.wav")
>>> info.sample_rate, info.channels, info.sample_width, info.frames
(44100, 2, 2, 2)
"""

from __future__ import annotations

import dataclasses
import io
import os
import struct
from typing import BinaryIO

from ..errors import InputError, QuarantineReason

__all__ = ["WavInfo", "WavFormat", "read_wav_header", "parse_wav_header", "check_wav_format", "wav_info_from_file"]

# WAVE_FORMAT_PCM and WAVE_FORMAT_EXTENSIBLE (whose sub-format we then read).
_PCM = 1
_EXTENSIBLE = 0xFFFE
#: At most this many chunks are walked before ``data`` (real files have 1-5: fmt, LIST, bext...).
_MAX_CHUNKS = 64


@dataclasses.dataclass(frozen=True)
class WavInfo:
    """Facts from a WAV header.

    Attributes
    ----------
    sample_rate : int
        Hz.
    channels : int
    sample_width : int
        Bytes per sample of one channel (2 for 16-bit).
    format_tag : int
        1 for PCM (the sub-format's tag for WAVE_FORMAT_EXTENSIBLE).
    frames : int
        Sample frames the ``data`` chunk holds.
    data_offset : int
        Byte offset of the first sample.
    data_bytes : int
        Size of the ``data`` chunk as its header declares it.
    """

    sample_rate: int
    channels: int
    sample_width: int
    format_tag: int
    frames: int
    data_offset: int
    data_bytes: int

    @property
    def duration_s(self) -> float:
        """Play time in seconds (``frames / sample_rate``)."""
        return self.frames / self.sample_rate if self.sample_rate else 0.0


@dataclasses.dataclass(frozen=True)
class WavFormat:
    """The audio format the data set promises (``ingest.wav_format`` in conf).

    Attributes
    ----------
    sample_rate : int
        Hz (44,100).
    channels : int
        2 (stereo).
    sample_width : int
        Bytes per sample (2: 16-bit).
    """

    sample_rate: int = 44100
    channels: int = 2
    sample_width: int = 2


def read_wav_header(fileobj: BinaryIO, *, size: int, path: str) -> WavInfo:
    """Walk a WAV file's chunks up to ``data``, reading headers only.

    Parameters
    ----------
    fileobj : binary file, seekable
        Positioned anywhere; it is rewound.
    size : int
        The file's size in bytes (``os.stat``); a ``data`` chunk promising more raises.
    path : str
        How to name the file in errors.

    Returns
    -------
    WavInfo

    Raises
    ------
    InputError
        ``WAV_NOT_AUDIO`` if it is not RIFF/WAVE with a ``fmt `` chunk before ``data``;
        ``WAV_TRUNCATED`` if a chunk (``data`` included) runs past the end of the file.
    """
    fileobj.seek(0)
    head = fileobj.read(12)
    if len(head) < 12 or head[:4] not in (b"RIFF", b"RF64") or head[8:12] != b"WAVE":
        raise InputError(path, QuarantineReason.WAV_NOT_AUDIO,
                         f"does not start with a RIFF/WAVE header (first bytes {head[:12]!r})")
    pos = 12
    fmt = None
    for _ in range(_MAX_CHUNKS):
        fileobj.seek(pos)
        ch = fileobj.read(8)
        if len(ch) < 8:
            what = "no 'data' chunk" if fmt is not None else "no 'fmt ' chunk"
            raise InputError(path, QuarantineReason.WAV_TRUNCATED if pos < size else QuarantineReason.WAV_NOT_AUDIO,
                             f"{what} before the end of the file ({size} bytes)")
        cid, csize = ch[:4], struct.unpack("<I", ch[4:])[0]
        body = pos + 8
        if cid == b"fmt ":
            if csize < 16:
                raise InputError(path, QuarantineReason.WAV_NOT_AUDIO, f"'fmt ' chunk of {csize} bytes (< 16)")
            raw = fileobj.read(min(csize, 40))
            if len(raw) < 16:
                raise InputError(path, QuarantineReason.WAV_TRUNCATED, "file ends inside the 'fmt ' chunk")
            tag, channels, rate, _byte_rate, block_align, bits = struct.unpack("<HHIIHH", raw[:16])
            if tag == _EXTENSIBLE and len(raw) >= 26:
                tag = struct.unpack("<H", raw[24:26])[0]
            fmt = (tag, channels, rate, block_align, bits)
        elif cid == b"data":
            if fmt is None:
                raise InputError(path, QuarantineReason.WAV_NOT_AUDIO, "'data' chunk before any 'fmt ' chunk")
            tag, channels, rate, block_align, bits = fmt
            if body + csize > size:
                raise InputError(
                    path, QuarantineReason.WAV_TRUNCATED,
                    f"data chunk promises {csize} bytes from offset {body} but the file has {size} bytes "
                    f"({size - body} of audio)",
                )
            width = (bits + 7) // 8
            align = block_align or channels * width
            frames = csize // align if align else 0
            return WavInfo(int(rate), int(channels), int(width), int(tag), int(frames), int(body), int(csize))
        pos = body + csize + (csize & 1)  # chunks are word-aligned
        if pos > size:
            raise InputError(path, QuarantineReason.WAV_TRUNCATED,
                             f"chunk {cid!r} of {csize} bytes runs past the end of the file ({size} bytes)")
    raise InputError(path, QuarantineReason.WAV_NOT_AUDIO, f"no 'data' chunk within the first {_MAX_CHUNKS} chunks")


def parse_wav_header(data: bytes, *, path: str, size: int | None = None) -> WavInfo:
    """:func:`read_wav_header` on bytes (``size`` defaults to ``len(data)``)."""
    return read_wav_header(io.BytesIO(data), size=len(data) if size is None else size, path=path)


def check_wav_format(info: WavInfo, expected: WavFormat, *, path: str) -> None:
    """Refuse audio that is not the data set's format (PCM at ``expected``'s rate, channels, width).

    Raises
    ------
    InputError
        ``WAV_WRONG_FORMAT``, the detail naming what was found and what was expected.
    """
    found = (info.format_tag, info.sample_rate, info.channels, info.sample_width)
    want = (_PCM, expected.sample_rate, expected.channels, expected.sample_width)
    if found != want:
        raise InputError(
            path, QuarantineReason.WAV_WRONG_FORMAT,
            f"{_describe(*found)}; expected {_describe(*want)}",
        )


def _describe(tag: int, rate: int, channels: int, width: int) -> str:
    kind = "PCM" if tag == _PCM else f"format tag {tag}"
    return f"{kind} {rate} Hz, {8 * width}-bit, {channels} channel{'s' if channels != 1 else ''}"


def wav_info_from_file(path: str | os.PathLike, *, name: str | None = None) -> WavInfo:
    """:func:`read_wav_header` on a file path."""
    size = os.stat(path).st_size
    with open(path, "rb") as f:
        return read_wav_header(f, size=size, path=name or os.fspath(path))

