#!/usr/bin/env bash
# Sequence-level knowledge distillation (Kim & Rush 2016) on the en-fa recipe: a teacher
# translates the training sources with beam search, and students of the tiny preset train on
# its translations, alone ("distilled") or beside the original targets ("mixed"). Run from
# anywhere; see README.md beside this script ("Distillation").
#
#   TEACHER="runs/s1/averaged runs/s2/averaged" recipes/en-fa/distill.sh     # every step
#   recipes/en-fa/distill.sh translate layout          # some steps: translate layout train evaluate
#
# Environment: TEACHER (model directories, several for an ensemble), TRAIN (the training pairs
# to translate: FILE.src and FILE.tgt; default the first teacher's prepared data, train.clean),
# OUT (runs/en_fa_distill), DATA_ROOT (the en-fa layout), STUDENTS (distilled mixed), STEPS
# (8140: each student's updates, those of the recipe's 40 minutes), BASELINE (a model trained
# from scratch, which evaluate's paired bootstrap compares each student with), DEVICE (cpu).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bin=$repo/.venv/bin
read -r -a teacher <<<"${TEACHER:-}"
OUT=${OUT:-$repo/runs/en_fa_distill}
DATA_ROOT=$(cd "${DATA_ROOT:-$repo/../shared/data/en-fa}" && pwd)
read -r -a students <<<"${STUDENTS:-distilled mixed}"
STEPS=${STEPS:-8140}
steps=("$@")
((${#steps[@]})) || steps=(translate layout train evaluate)
[[ -x $bin/seq2seq-train ]] || { echo "error: no $bin: run 'make install' in $repo first" >&2; exit 1; }

train_pairs() {  # the training pairs' path without its .src/.tgt
  if [[ -n ${TRAIN:-} ]]; then echo "$TRAIN"; return; fi
  ((${#teacher[@]})) || { echo "error: set TEACHER to the teacher's model directories" >&2; exit 2; }
  "$bin/python" -c 'import json, sys; print(json.load(open(sys.argv[1]))["data"]["prepared"])' \
    "${teacher[0]}/metadata.json" | sed 's|$|/train.clean|'
}

translate() {  # the teacher's beam-5 translations; --resume goes on after a stop
  local members=() model
  train_pairs >/dev/null
  for model in "${teacher[@]}"; do members+=(-m "$model"); done
  mkdir -p "$OUT"
  "$bin/seq2seq-translate" "${members[@]}" -i "$(train_pairs).src" -o "$OUT/teacher.fa" \
    --beam 5 --engine torch --resume
}

layout() {  # a data root: the recipe's layout, plus the distilled and the original pairs
  local pairs
  pairs=$(train_pairs)
  mkdir -p "$OUT/data/train"
  ln -sfn "$DATA_ROOT/dev" "$OUT/data/dev"
  ln -sfn "$DATA_ROOT/test" "$OUT/data/test"
  for file in "$DATA_ROOT"/train/*; do ln -sfn "$file" "$OUT/data/train/"; done
  cp "$pairs.src" "$OUT/data/train/distilled.en"
  cp "$OUT/teacher.fa" "$OUT/data/train/distilled.fa"
  cp "$pairs.src" "$OUT/data/train/original.en"
  cp "$pairs.tgt" "$OUT/data/train/original.fa"
}

corpora() {  # the Hydra list of a student's training files
  case $1 in
    distilled) echo "[{en:train/distilled.en,fa:train/distilled.fa}]" ;;
    mixed) echo "[{en:train/distilled.en,fa:train/distilled.fa},{en:train/original.en,fa:train/original.fa}]" ;;
    *) echo "error: no student $1 (distilled or mixed)" >&2; exit 2 ;;
  esac
}

train() {  # each student as the recipe trains its model, for STEPS updates
  local student files
  for student in "${students[@]}"; do
    files=$(corpora "$student")
    DATA_ROOT=$OUT/data OUT=$OUT/$student BUDGET=00:12:00:00 \
      TRAIN_ARGS="trainer.max_steps=$STEPS data.train=$files" \
      "$repo/recipes/en-fa/run.sh" train average
  done
}

evaluate() {  # the students' models and averages on every test set, after BASELINE if set
  local systems=() student
  [[ -z ${BASELINE:-} ]] || systems+=(-m "$BASELINE")
  for student in "${students[@]}"; do systems+=(-m "$OUT/$student/model" -m "$OUT/$student/averaged"); done
  "$bin/seq2seq-eval" "${systems[@]}" --beam 5 --data-root "$DATA_ROOT" --device "${DEVICE:-cpu}" \
    -t flores200-dev -t tico19-test -t tatoeba-test -t idioms -t software-ui-test -t tech-docs-test \
    --json "$OUT/scores.json" | tee "$OUT/scores.txt"
}

for step in "${steps[@]}"; do
  case $step in
    translate|layout|train|evaluate) echo "== $step" >&2; "$step" ;;
    *) echo "usage: $0 [translate|layout|train|evaluate ...]" >&2; exit 2 ;;
  esac
done
