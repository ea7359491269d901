import numpy as np
import pytest

from musim_spark.errors import InputError, MusimError, ParameterError, QuarantineReason
from musim_spark.midi import read_midi, write_midi
from musim_spark.model import Note, Piece, Track


def test_note_validation():
    with pytest.raises(ParameterError, match="before or when it starts"):
        Note(60, 1.0, 1.0)
    with pytest.raises(ParameterError, match="outside 0-127"):
        Note(128, 0.0, 1.0)
    with pytest.raises(ValueError):  # ParameterError is a ValueError: older callers keep catching it
        Note(-1, 0.0, 1.0)


def test_model_errors_are_parameter_errors():
    with pytest.raises(ParameterError, match="not one of"):
        Track("Melody", role="lead")
    piece = Piece((Track("Melody"), Track("Chord")))
    assert piece.track("melody") is piece.tracks[0]
    with pytest.raises(ParameterError, match=r"no track 'Bass'; tracks: \['Melody', 'Chord'\]"):
        piece.track("Bass")
    assert issubclass(ParameterError, MusimError) and issubclass(ParameterError, ValueError)


def test_write_read_round_trip_with_roles(tmp_path):
    piece = Piece((
        Track("Melody", (Note(64, 0.5, 1.0), Note(60, 0.0, 0.5)), program=0),
        Track("Rhythm", (Note(36, 0.0, 0.1, 100),), is_drum=True),
        Track("Chord", (Note(48, 0.0, 1.0), Note(52, 0.0, 1.0)), program=0),
    ), tempo_bpm=120.0)
    path = tmp_path / "a.mid"
    write_midi(piece, path)
    back = read_midi(path, melody="melody", rhythm="Rhythm", chord="Chord")
    assert [t.name for t in back.tracks] == ["Melody", "Rhythm", "Chord"]
    assert back.track("Melody").pitches().tolist() == [60, 64]  # sorted by onset
    assert back.track("Melody").role == "melody" and back.track("Rhythm").is_drum
    np.testing.assert_allclose(back.track("Melody").onsets(), [0.0, 0.5], atol=1e-3)
    iv, hz = back.to_intervals_pitches()
    assert iv.shape == (4, 2) and np.isclose(hz.min(), 440 * 2 ** ((48 - 69) / 12))


def test_corrupt_and_empty_midi(tmp_path):
    with pytest.raises(InputError) as e:
        read_midi(b"MThd\x00\x00\x00\x06\x00\x01\x00\x02\x01\xe0garbage" * 3, name="c.mid")
    assert e.value.reason is QuarantineReason.MIDI_CORRUPT and "c.mid" in str(e.value)
    with pytest.raises(InputError) as e:
        read_midi(b"", name="z.mid")
    assert e.value.reason is QuarantineReason.MIDI_EMPTY
    empty = tmp_path / "e.mid"
    write_midi(Piece((Track("Melody"),)), empty)
    with pytest.raises(InputError) as e:
        read_midi(empty)
    assert e.value.reason is QuarantineReason.MIDI_EMPTY
