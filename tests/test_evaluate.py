"""musim evaluate without Spark: the metrics (validate, then metric; negatives and undefined cases), the
figures of a hand-built warehouse against a hand-written truth.csv, the CLI and its refusals."""

from __future__ import annotations

import csv
import json
import math

import pytest

from musim_spark import cli
from musim_spark.errors import ParameterError
from musim_spark.evaluate.metrics import (hit_rate, mean_reciprocal_rank, mean_section_iou, precision_recall_f1,
                                          validate_decisions, validate_ranking)
from musim_spark.evaluate.score import evaluate_matches
from musim_spark.evaluate.truth import read_truth
from musim_spark.sampledata.generate import TRUTH_COLUMNS
from musim_spark.sections import Section, truth_json

from test_export import BAL, MATCHES, ORG, REG, RHY, TEMPO, build_warehouse


# ----------------------------------------------------------------------------------------- metrics
def test_ranking_metrics():
    truth = {"c1": "o1", "c2": "o2", "c3": "o3", "c4": "o1"}
    ranked = {"c1": ["o1", "o2"], "c2": ["o1", "o3", "o2"], "c3": [], "x": ["o9"]}   # c4 not scored at all
    assert hit_rate(ranked, truth) == 0.25
    assert mean_reciprocal_rank(ranked, truth) == pytest.approx((1 + 1 / 3) / 4)
    assert hit_rate({"c1": ["o2", "o1"]}, {"c1": "o1"}) == 0.0          # can fail: the own original second
    assert math.isnan(hit_rate({}, {})) and math.isnan(mean_reciprocal_rank({}, {}))


def test_ranking_validation():
    with pytest.raises(ParameterError, match="twice"):
        validate_ranking({"c": ["o", "o"]}, {"c": "o"})
    with pytest.raises(ParameterError, match="sequence"):
        hit_rate({"c": "o1"}, {"c": "o1"})          # a string is not a ranking


def test_decision_metrics():
    assert precision_recall_f1({1, 2, 3, 4}, {1, 2, 5, 6}) == (0.5, 0.5, 0.5)
    assert precision_recall_f1({1}, {2}) == (0.0, 0.0, 0.0)
    p, r, f = precision_recall_f1(set(), {1})
    assert math.isnan(p) and r == 0.0 and f == 0.0
    p, r, f = precision_recall_f1({1}, set())            # an original group: no positive
    assert p == 0.0 and math.isnan(r) and f == 0.0
    assert all(math.isnan(x) for x in precision_recall_f1(set(), set()))
    with pytest.raises(ParameterError, match="must be a set"):
        validate_decisions([1, 1], {1})


def test_section_iou_metric():
    assert mean_section_iou([([(0, 10)], [(0, 10)])]) == 1.0
    assert mean_section_iou([([(0, 10)], [(20, 30)]), ([], [])]) == 0.5
    assert math.isnan(mean_section_iou([]))
    with pytest.raises(ParameterError, match="end >= start"):
        mean_section_iou([([(10, 0)], [(0, 10)])])


# ------------------------------------------------------------------------------------------ figures
def truth_rows():
    """The truth of test_export's warehouse: RHY and TEMPO are covers of ORG; BAL, REG originals."""
    def row(tid, original, genre, cover_type, sections=()):
        return {"track_id": tid, "original_track_id": original, "kind": tid.split("_")[0], "genre": genre,
                "song_no": tid.split("_")[2], "cover_type": cover_type, "source_song": "001", "duration_s": "20.000000",
                "transpose_semitones": "0", "tempo_ratio": "1.000000", "params": "{}",
                "melody_sections": truth_json(sections), "rhythm_sections": truth_json(sections[:1]),
                "chord_sections": truth_json(sections), "instruments_changed": "[]"}
    return [row(ORG, "", "Trot", "Org"), row(BAL, "", "Ballade", "Org"), row(REG, "", "Ballade", "Org"),
            # rhythm truth: RHY's 4 s of 20 s (not a rhythm positive), TEMPO's 12 s (one)
            row(RHY, ORG, "Trot", "Rhythm_A", (Section(1000, 4000, 1200, 4000),)),
            row(TEMPO, ORG, "Trot", "Tempo_A", (Section(0, 12000, 0, 14400), Section(15000, 2000, 18000, 2400)))]


def write_truth(path, rows):
    path.mkdir(parents=True, exist_ok=True)
    with open(path / "truth.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=TRUTH_COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    return path


def test_figures_of_a_hand_built_sweep(tmp_path):
    truth = read_truth(write_truth(tmp_path / "_truth", truth_rows()))
    ev = evaluate_matches(MATCHES, truth)
    assert (ev["tracks"], ev["covers"], ev["queries_scored"]) == (5, 2, 5)
    assert ev["retrieval"] == {"hit_rate": 0.5, "mrr": 0.75, "n": 2}      # RHY rank 1, TEMPO rank 2
    o = ev["decisions"]["overall"]
    # melody >= 50: RHY-ORG, TEMPO-ORG, ORG-BAL, BAL-ORG; positives RHY-ORG, TEMPO-ORG
    assert (o["melody"]["precision"], o["melody"]["recall"], o["melody"]["f1"]) == (0.5, 1.0, pytest.approx(2 / 3))
    # rhythm >= 50: TEMPO-ORG only; headline positives: TEMPO only (RHY's rhythm truth is 20 % of it)
    assert (o["rhythm"]["f1"], o["rhythm"]["n_positive"]) == (1.0, 1)
    assert (o["rhythm_every_cover"]["recall"], o["rhythm_every_cover"]["n_positive"]) == (0.5, 2)
    assert o["combined"]["n_predicted"] == 4 and o["combined"]["precision"] == 0.5
    by = ev["decisions"]["by_cover_type"]
    assert set(by) == {"Org", "Rhythm_A", "Tempo_A"}
    assert by["Rhythm_A"]["combined"]["f1"] == 1.0
    assert by["Org"]["combined"]["precision"] == 0.0 and math.isnan(by["Org"]["combined"]["recall"])
    # IoU: RHY melody 4 s predicted over 2 sections (1-5 s, 9-11 s) vs truth 1-5 s: 4/6
    iou = ev["section_iou"]
    assert iou["melody"]["n"] == 2
    tempo_iou = 6000 / (12000 + 2000)          # predicted 0-6 s against truth 0-12 s + 15-17 s
    assert iou["melody"]["mean"] == pytest.approx((4000 / 6000 + tempo_iou) / 2)
    assert iou["rhythm"]["mean"] == pytest.approx(0.0)                  # no rhythm section predicted


def test_a_perfect_sweep_scores_one(tmp_path):
    truth = read_truth(write_truth(tmp_path / "_truth", truth_rows()))
    perfect = [dict(MATCHES[0], melody_sections=[{"query_start_ms": 1000, "query_duration_ms": 4000,
                                                   "original_start_ms": 1200, "original_duration_ms": 4000}]),
               dict(MATCHES[3], rank=1, rhythm_similarity=10.0)]
    ev = evaluate_matches(perfect, truth)
    assert ev["retrieval"]["hit_rate"] == 1.0 and ev["retrieval"]["mrr"] == 1.0
    assert ev["decisions"]["overall"]["melody"]["f1"] == 1.0
    assert ev["decisions"]["overall"]["rhythm"]["f1"] == 0.0            # TEMPO's rhythm missed


# ---------------------------------------------------------------------------------------------- CLI
def test_cli_json_and_text(tmp_path, capsys):
    wh = tmp_path / "wh"
    build_warehouse(wh)
    write_truth(tmp_path / "set" / "_truth", truth_rows())
    assert cli.main(["evaluate", "--warehouse", str(wh), "--truth", str(tmp_path / "set" / "_truth"), "--json"]) == 0
    ev = json.loads(capsys.readouterr().out)
    assert ev["source"] == "midi" and ev["retrieval"]["hit_rate"] == 0.5
    assert ev["decisions"]["by_cover_type"]["Org"]["combined"]["recall"] is None     # nan -> null
    # the set's root works too; text: a table
    assert cli.main(["evaluate", "--warehouse", str(wh), "--truth", str(tmp_path / "set")]) == 0
    text = capsys.readouterr().out
    assert "hit rate 0.500, MRR 0.750" in text and "F1" in text and "Tempo_A" in text


def test_cli_refusals_are_one_line(tmp_path, capsys):
    wh = tmp_path / "wh"
    build_warehouse(wh, with_matches=False)
    truth = write_truth(tmp_path / "_truth", truth_rows())
    assert cli.main(["evaluate", "--warehouse", str(wh), "--truth", str(truth)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "run `musim similarity` first" in err

    assert cli.main(["evaluate", "--warehouse", str(wh), "--truth", str(tmp_path / "nowhere")]) == 1
    assert "no truth.csv" in capsys.readouterr().err

    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "truth.csv").write_text("track_id,original_track_id\nx,\n")
    assert cli.main(["evaluate", "--warehouse", str(wh), "--truth", str(broken)]) == 1
    err = capsys.readouterr().err
    assert str(broken / "truth.csv") in err and "duration_s" in err

    rows = truth_rows()
    rows[3]["melody_sections"] = "[{oops"
    write_truth(tmp_path / "bad", rows)
    with pytest.raises(Exception, match=r"line 5: column melody_sections"):
        read_truth(tmp_path / "bad")


def test_cli_both_sources_and_stems(tmp_path, capsys):
    """--source both: both sweeps and the audio path's F1 minus the MIDI path's; stems under the warehouse: SDR."""
    import numpy as np
    import soundfile as sf

    wh = tmp_path / "wh"
    audio = [dict(r, source="audio", melody_similarity=0.0, is_similar=False) for r in MATCHES]
    build_warehouse(wh, matches=list(MATCHES) + audio)
    write_truth(tmp_path / "set" / "_truth", truth_rows())
    t = np.arange(2205) / 22050
    parts = {"Melody": 0.4 * np.sin(2 * np.pi * 440 * t), "Rhythm": 0.4 * np.sign(np.sin(2 * np.pi * 5 * t))}
    (tmp_path / "set" / "_truth" / "stems" / ORG).mkdir(parents=True)
    (wh / "stems" / ORG).mkdir(parents=True)
    for name, y in parts.items():
        sf.write(tmp_path / "set" / "_truth" / "stems" / ORG / f"{name}.wav", y, 22050)
    sf.write(wh / "stems" / ORG / "melody.wav", parts["Melody"], 22050)          # exact
    sf.write(wh / "stems" / ORG / "drums.wav", parts["Rhythm"] + parts["Melody"], 22050)   # the mix
    assert cli.main(["evaluate", "--warehouse", str(wh), "--truth", str(tmp_path / "set"), "--source", "both",
                     "--json"]) == 0
    ev = json.loads(capsys.readouterr().out)
    assert ev["midi"]["decisions"]["overall"]["melody"]["f1"] == pytest.approx(2 / 3)
    assert ev["audio"]["decisions"]["overall"]["melody"]["f1"] == 0.0
    assert ev["audio_minus_midi_f1"]["melody"] == pytest.approx(-2 / 3)
    sep = ev["separation"]
    assert sep["tracks"] == 1 and sep["per_track"][ORG]["melody"] is None   # the same 16-bit samples: inf (JSON null)
    # the mix as the drums: the error is the melody, drum energy 0.16 / melody energy 0.08: +3 dB
    assert sep["per_track"][ORG]["drums"] == pytest.approx(3.0, abs=0.1)
    assert cli.main(["evaluate", "--warehouse", str(wh), "--truth", str(tmp_path / "set"), "--source", "both"]) == 0
    text = capsys.readouterr().out
    assert "audio minus midi, decision F1: melody -0.667" in text and "separation" in text
