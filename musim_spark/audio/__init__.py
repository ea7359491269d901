"""Audio to notes: decode, separate, transcribe (issue 12). Pure numpy-in/numpy-out modules.

- :mod:`.decode`: decode once, check (quarantine reasons), resample once.
- :mod:`.chunking`: overlapping windows of long audio and note stitching (bounded memory).
- :mod:`.backends`: the transcription backends (``basic-pitch`` embedded ONNX; ``omnizart`` stub).
- :mod:`.melody`: the melody line of polyphonic notes.
- :mod:`.drums`: drum onsets from the percussive (HPSS) component.
- :mod:`.separate`: DSP stems (harmonic / percussive, foreground / background).
- :mod:`.transcribe`: all of it, audio in, rows of the ``transcribed_notes`` table out.
- :mod:`.stage` (Spark) and :mod:`.command`: ``musim transcribe``; :mod:`.separate_command`: ``musim separate``.

Nothing here is imported by ``import musim_spark.audio``: onnxruntime and librosa load on first use.
"""
