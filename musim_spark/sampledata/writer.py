"""Write one generated track: delivered and clean MIDI, MusicXML, label, and (optionally) audio.

Every writer is byte-stable: the same :class:`~musim_spark.sampledata.plan.TrackJob` gives the
same bytes.
"""

from __future__ import annotations

import io
from pathlib import Path

from ..labels import dump_label
from ..layout import track_path
from ..midi import piece_to_pretty_midi
from ..model import Piece
from .musicxml import midi_to_musicxml
from .noise import add_transcription_noise
from .plan import TrackJob, seeded_rng
from .render import SAMPLE_RATE, TAIL_S, render_piece, wav_bytes

__all__ = ["midi_bytes", "write_track"]


def midi_bytes(piece: Piece) -> bytes:
    """Standard MIDI File bytes of a Piece (pretty_midi writer; deterministic)."""
    buf = io.BytesIO()
    piece_to_pretty_midi(piece).write(buf)
    return buf.getvalue()


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def write_track(job: TrackJob) -> dict:
    """Worker: write one track's MIDI, MusicXML, label, truth MIDI and (optionally) audio + stems.

    Returns facts about what was written (``audio_s``: seconds of audio rendered).
    """
    out = Path(job.out)
    tid = job.tid
    piece = job.result.piece
    clean = midi_bytes(piece)
    _write(out / "_truth" / "midi" / f"{tid.track_id}.mid", clean)
    if job.midi_noise > 0:
        delivered = midi_bytes(add_transcription_noise(piece, rate=job.midi_noise, rng=seeded_rng(*job.noise_seed)))
    else:
        delivered = clean
    mid_path = out / track_path(tid, "mid")
    _write(mid_path, delivered)
    _write(out / track_path(tid, "xml"), midi_to_musicxml(mid_path, title=f"생성곡 {tid.song_no}"))
    _write(out / track_path(tid, "json"), dump_label(job.label))
    audio_s = 0.0
    if job.audio:
        mix, stems = render_piece(piece, sf2_path=job.soundfont, duration=round(job.result.duration + TAIL_S, 2))
        _write(out / track_path(tid, "wav"), wav_bytes(mix))
        for name, stem in stems.items():
            _write(out / "_truth" / "stems" / tid.track_id / f"{name}.wav", wav_bytes(stem))
        audio_s = len(mix) / SAMPLE_RATE
    return {"track_id": tid.track_id, "audio_s": audio_s}
