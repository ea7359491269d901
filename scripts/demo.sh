#!/usr/bin/env bash
# Set up (scripts/setup.sh), generate a small sample data set and run the pipeline end to end on
# local Spark: sample-data -> ingest -> similarity (the catalog sweep) -> evaluate -> export -> run (the
# nightly job, with nothing new) -> compare (+ HTML pair reports: a tempo cover, a plagiarism-like case, an
# unrelated pair, and one query against many) -> status.
# Usage: scripts/demo.sh [OUT_DIR]   (default ./demo; the data set is OUT_DIR/sample, tables OUT_DIR/warehouse)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/setup.sh"
cd "$ROOT"

OUT="${1:-demo}"
SAMPLE="$OUT/sample"
export MUSIM_WAREHOUSE="$OUT/warehouse"
mkdir -p "$OUT"
t0=$(date +%s)

step() { printf '\n== %s\n' "$*"; }

if [ ! -f "$SAMPLE/_truth/truth.csv" ]; then
  step "musim sample-data: 3 originals x 9 covers + 3 regular originals, 30 s each, with faults and zip parts"
  musim sample-data "$SAMPLE" --songs 3 --regular 3 --seconds 30 --seed 7 --faults --zip-parts 64M
else
  step "sample data already at $SAMPLE (delete it to regenerate)"
fi

step "musim ingest --root $SAMPLE"
musim ingest --root "$SAMPLE"

step "musim ingest again: nothing changed, so nothing is committed"
musim ingest --root "$SAMPLE"

step "musim similarity: every track against all originals (retrieval, then exact scoring)"
musim similarity --top-k 3
step "musim similarity again: nothing new, so no Spark work"
musim similarity --top-k 3

step "musim evaluate: the sweep's matches against the generated truth"
musim evaluate --truth "$SAMPLE/_truth"
step "musim separate: drums, melody and accompaniment stems of the rendered audio (DSP, no model)"
musim separate
step "musim transcribe: audio to notes with the embedded basic-pitch model (CPU here, a GPU where there is one)"
musim transcribe
step "musim similarity --source audio: the same sweep on our transcriptions"
musim similarity --source audio --top-k 3
step "musim evaluate --source both: the audio path against the MIDI path, and the stems' SDR"
musim evaluate --truth "$SAMPLE/_truth" --source both

step "musim export: label JSON per track, matches.csv, sweep.html with the top pairs' reports"
musim export --out "$OUT/export" --reports 10

step "musim run: the nightly job (ingest, similarity, export); nothing is new, so Spark is not started"
musim run --root "$SAMPLE" --out "$OUT/export"

ORG=$(ls "$SAMPLE"/Similar/*/*/Org/*.mid | head -1)
SONG_DIR=$(dirname "$(dirname "$ORG")")
COVER=$(ls "$SONG_DIR"/Cover_Tempo_*/*.mid | head -1)
OTHER=$(ls "$SAMPLE"/Similar/*/*/Org/*.mid | sed -n 2p)

step "musim compare: an original and its tempo cover"
musim compare "$ORG" "$COVER" --html "$OUT/compare_cover.html"
step "musim compare: a plagiarism-like case (a phrase of one POP909 song, transposed and re-timed, inside another)"
mapfile -t PLAG < <(python scripts/plagiarism_case.py "$OUT/plagiarism")
[ "${#PLAG[@]}" -eq 2 ] || { echo "demo: no plagiarism-like case was written" >&2; exit 1; }
musim compare "${PLAG[0]}" "${PLAG[1]}" --html "$OUT/compare_plagiarism.html"
step "musim compare: two different originals (unrelated)"
musim compare "$ORG" "$OTHER" --html "$OUT/compare_other.html"
step "musim compare: the plagiarism-like query against its source and two unrelated originals, ranked"
musim compare "${PLAG[0]}" "$ORG" "${PLAG[1]}" "$OTHER" --html "$OUT/compare_query"

step "musim status"
musim status

printf '\n== done in %s s\n' "$(( $(date +%s) - t0 ))"
printf '   data set:      %s (truth in %s/_truth)\n' "$SAMPLE" "$SAMPLE"
printf '   Delta tables:  %s\n' "$MUSIM_WAREHOUSE"
printf '   pair reports:  %s/compare_cover.html, compare_plagiarism.html, compare_other.html (open offline)\n' "$OUT"
printf '   one vs many:   %s/compare_query/index.html\n' "$OUT"
printf '   sweep:         %s/export/sweep.html (labels in %s/export, matches.csv beside them)\n' "$OUT" "$OUT"
