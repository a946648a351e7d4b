#!/usr/bin/env bash
# The English->Persian recipe: data, training in a fixed 2-core budget, checkpoint averaging,
# evaluation on every test set. Run from anywhere; see README.md beside this script.
#
#   recipes/en-fa/run.sh                                 # all steps, data from ../shared/data/en-fa
#   recipes/en-fa/run.sh --download [--mirror URL]       # fetch the data into data/en-fa first
#   recipes/en-fa/run.sh train average                   # only some steps: data train average evaluate
#
# Environment: EXPERIMENT (en_fa_tiny), BUDGET (00:00:40:00, trainer.max_time), OUT
# (runs/$EXPERIMENT), DATA_ROOT (where the en-fa layout is or goes), TRAIN_ARGS (more overrides),
# DEVICE (cpu: where evaluate decodes; cuda on a GPU).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bin=$repo/.venv/bin
EXPERIMENT=${EXPERIMENT:-en_fa_tiny}
BUDGET=${BUDGET:-00:00:40:00}
OUT=${OUT:-$repo/runs/$EXPERIMENT}
download=false mirror=() steps=()
while (($#)); do
  case $1 in
    --download) download=true ;;
    --mirror) mirror=(--mirror "$2"); shift ;;
    data|train|average|evaluate) steps+=("$1") ;;
    *) echo "usage: $0 [--download [--mirror URL]] [data|train|average|evaluate ...]" >&2; exit 2 ;;
  esac
  shift
done
((${#steps[@]})) || steps=(data train average evaluate)
if $download; then DATA_ROOT=${DATA_ROOT:-$repo/data/en-fa}; else DATA_ROOT=${DATA_ROOT:-$repo/../shared/data/en-fa}; fi
[[ -x $bin/seq2seq-train ]] || { echo "error: no $bin: run 'make install' in $repo first" >&2; exit 1; }

data() {
  if $download; then
    "$bin/seq2seq-download" en-fa --root "$DATA_ROOT" "${mirror[@]}"
  elif [[ ! -d $DATA_ROOT ]]; then
    echo "error: no data at $DATA_ROOT: set DATA_ROOT or use --download" >&2; exit 1
  fi
}

train() {
  if compgen -G "$OUT/checkpoints/*.ckpt" >/dev/null; then  # average would mix the two runs
    echo "error: $OUT/checkpoints holds an earlier run's checkpoints: move them away or set OUT" >&2
    exit 1
  fi
  # shellcheck disable=SC2086  # TRAIN_ARGS is a list of Hydra overrides
  "$bin/seq2seq-train" "experiment=$EXPERIMENT" "data.root=$(cd "$DATA_ROOT" && pwd)" \
    "paths.output_dir=$OUT" "trainer.max_time=$BUDGET" test_after_training=false ${TRAIN_ARGS:-}
}

average() {
  mapfile -t last < <(ls "$OUT"/checkpoints/step-*.ckpt 2>/dev/null | sort | tail -n 5)
  ((${#last[@]})) || { echo "error: no $OUT/checkpoints/step-*.ckpt to average (one is saved every 500 updates)" >&2; exit 1; }
  "$bin/seq2seq-average" "${last[@]}" -o "$OUT/averaged"
}

evaluate() {
  "$bin/seq2seq-eval" -m "$OUT/model" -m "$OUT/averaged" --beam 5 --data-root "$DATA_ROOT" \
    --device "${DEVICE:-cpu}" \
    -t flores200-dev -t tico19-test -t tatoeba-test -t idioms -t software-ui-test -t tech-docs-test \
    --json "$OUT/scores.json" \
    | tee "$OUT/scores.txt"
}

for step in "${steps[@]}"; do
  echo "== $step" >&2
  "$step"
done
