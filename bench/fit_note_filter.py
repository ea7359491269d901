"""Fit the transcription note filter (:mod:`musim_spark.audio.notefilter`) on the development set.

On the development set of ``bench/transcription.py`` (``sample-data --songs 2 --seed 0``, six
tracks, FluidSynth audio beside the MIDI it was rendered from): basic-pitch's candidate notes of
each mono mix (the configured onset/frame thresholds and minimum length, no filter, no onset
shift), the filter's features of each (:func:`~musim_spark.audio.notefilter.note_features`), and as
label whether mir_eval matches the candidate to a pitched truth note (onset only, 50 ms). A
logistic regression (scikit-learn, C=1, standardised features) is fit and printed as the ``COEF``
block; ``--write`` puts it into ``musim_spark/audio/notefilter.py``. The held-out set is never read
here: ``bench/transcription.py`` scores the result on it.

Usage::

    .venv/bin/python bench/fit_note_filter.py [--songs 2] [--seed 0] [--write]
"""

from __future__ import annotations

import argparse
import dataclasses
import re

import numpy as np

import transcription as tb  # bench/transcription.py


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--songs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--write", action="store_true", help="rewrite COEF in musim_spark/audio/notefilter.py")
    args = ap.parse_args()
    import mir_eval
    from sklearn.linear_model import LogisticRegression

    from musim_spark.audio import notefilter
    from musim_spark.audio.backends import _model_frames_to_time, get_backend
    from musim_spark.audio.decode import load_audio
    from musim_spark.audio.settings import TranscribeSettings

    out = tb.dataset(args.songs, args.seconds, args.seed)
    settings = dataclasses.replace(TranscribeSettings(onnx_threads=1), note_filter=0.0, onset_shift_ms=0.0)
    backend = get_backend("basic-pitch")
    X, Y = [], []
    for mid in sorted((out / "_truth" / "midi").glob("*.mid")):
        ref, _, _ = tb.truth_notes(mid)
        y = load_audio(next(out.rglob(f"{mid.stem}.wav")), settings, sample_rate=backend.sample_rate, mono=True)
        act = backend.activations(y, settings)
        cand = backend.notes(y, settings)  # start, end, pitch, amplitude
        times = _model_frames_to_time(act["note"].shape[0] + 1)
        X.append(notefilter.note_features(cand, act["note"], act["onset"], times=times))
        est_iv = np.stack([cand[:, 0], np.maximum(cand[:, 1], cand[:, 0] + 1e-3)], axis=1)
        pairs = mir_eval.transcription.match_notes(ref[:, 1:3], tb._hz(ref[:, 0]), est_iv, tb._hz(cand[:, 2]),
                                                   onset_tolerance=0.05, offset_ratio=None)
        label = np.zeros(cand.shape[0], dtype=bool)
        label[[j for _, j in pairs]] = True
        Y.append(label)
        print(f"{mid.stem}: {cand.shape[0]} candidates, {label.mean():.2f} real", flush=True)
    x, yv = np.concatenate(X), np.concatenate(Y)
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    clf = LogisticRegression(C=1.0, max_iter=1000).fit((x - mean) / scale, yv)
    lines = ["COEF = {"]
    for name, m, s, w in zip(notefilter.FEATURES, mean, scale, clf.coef_[0]):
        lines.append(f'    "{name}": ({m:.6g}, {s:.6g}, {w:.6g}),')
    lines += ["}", f"INTERCEPT = {clf.intercept_[0]:.6g}"]
    block = "\n".join(lines)
    print(f"{x.shape[0]} candidates, {yv.mean():.3f} real; fitted:\n{block}")
    if args.write:
        path = tb.ROOT / "musim_spark" / "audio" / "notefilter.py"
        text = path.read_text(encoding="utf-8")
        text, n = re.subn(r"COEF = \{\n.*?\n\}\nINTERCEPT = [^\n]*", block, text, count=1, flags=re.S)
        if n != 1:
            raise SystemExit(f"no COEF block found in {path}")
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
