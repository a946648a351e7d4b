#!/usr/bin/env bash
# Start from a pretrained model: fetch a Hugging Face folder (OPUS-MT, NLLB-200), import it,
# evaluate it on the en-fa test sets, fine-tune it (every weight, and LoRA adapters), evaluate
# the three, export the fine-tuned one. Run from anywhere; see README.md beside this script.
#
#   recipes/pretrained/run.sh                            # all steps: Helsinki-NLP/opus-mt-iir-en, fa->en
#   HF_REPO=facebook/nllb-200-distilled-600M SOURCE=en TARGET=fa recipes/pretrained/run.sh
#   recipes/pretrained/run.sh import evaluate            # only some steps
#
# Environment: HF_REPO (Helsinki-NLP/opus-mt-iir-en), SOURCE (fa), TARGET (en), HF_DIR
# (hf/<repository name>: where fetch puts the folder, import reads it), OUT
# (runs/pretrained-<repository name>-SOURCE-TARGET), DATA_ROOT (the en-fa layout), STEPS (2000
# updates per fine-tuning), LORA_RANK (16), TESTSETS (every en-fa test set), TRAIN_ARGS (more
# Hydra overrides), DEVICE (cpu: where evaluate decodes).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bin=$repo/.venv/bin
HF_REPO=${HF_REPO:-Helsinki-NLP/opus-mt-iir-en}
SOURCE=${SOURCE:-fa}
TARGET=${TARGET:-en}
HF_DIR=${HF_DIR:-$repo/hf/${HF_REPO##*/}}
OUT=${OUT:-$repo/runs/pretrained-${HF_REPO##*/}-$SOURCE-$TARGET}
DATA_ROOT=${DATA_ROOT:-$repo/../shared/data/en-fa}
STEPS=${STEPS:-2000}
LORA_RANK=${LORA_RANK:-16}
TESTSETS=${TESTSETS:-flores200-dev tico19-test tatoeba-test idioms software-ui-test tech-docs-test}
steps=()
for step in "$@"; do
  case $step in
    fetch|import|evaluate|finetune|lora|export) steps+=("$step") ;;
    *) echo "usage: $0 [fetch|import|evaluate|finetune|lora|export ...]" >&2; exit 2 ;;
  esac
done
((${#steps[@]})) || steps=(fetch import evaluate finetune lora evaluate export)
[[ -x $bin/seq2seq-train ]] || { echo "error: no $bin: run 'make install' in $repo first" >&2; exit 1; }
case $SOURCE-$TARGET in
  en-fa|fa-en) ;;
  *) echo "error: the en-fa data trains and tests en-fa or fa-en, not $SOURCE-$TARGET" >&2; exit 1 ;;
esac

step_fetch() {  # needs the internet: the only step that does
  "$bin/hf" download "$HF_REPO" --local-dir "$HF_DIR"
}

step_import() {
  "$bin/seq2seq-import" huggingface "$HF_DIR" -o "$OUT/imported" \
    --source-lang "$SOURCE" --target-lang "$TARGET"
}

step_evaluate() {  # every model of the run so far, side by side
  local models=() sets=()
  for name in imported finetuned lora; do
    [[ -d $OUT/$name ]] && models+=(-m "$OUT/$name")
  done
  for name in $TESTSETS; do sets+=(-t "$name"); done
  "$bin/seq2seq-eval" "${models[@]}" --langs "$SOURCE-$TARGET" --beam 5 \
    --data-root "$DATA_ROOT" --device "${DEVICE:-cpu}" "${sets[@]}" --json "$OUT/scores.json" \
    | tee "$OUT/scores.txt"
}

tune() {  # tune NAME [OVERRIDE ...]: fine-tune the imported model into OUT/NAME
  local name=$1
  shift
  # shellcheck disable=SC2086  # TRAIN_ARGS is a list of Hydra overrides
  "$bin/seq2seq-train" "experiment=pretrained_${SOURCE}_$TARGET" "init_from=$OUT/imported" \
    "data.root=$(cd "$DATA_ROOT" && pwd)" "paths.output_dir=$OUT/runs/$name" \
    "trainer.max_steps=$STEPS" test_after_training=false "$@" ${TRAIN_ARGS:-}
  rm -rf "$OUT/$name"
  mv "$OUT/runs/$name/model" "$OUT/$name"
}

step_finetune() {
  tune finetuned
}

step_lora() {
  tune lora "module.lora.rank=$LORA_RANK"
}

step_export() {  # CTranslate2, int8, for the server's fast engine (an untagged model: OPUS-MT's)
  if grep -q '^tags:' "$OUT/finetuned/config.yaml"; then
    echo "a multilingual model is served as it is: seq2seq-serve -m $OUT/finetuned"
    return
  fi
  "$bin/seq2seq-export" -m "$OUT/finetuned" --to ctranslate2 --quantization int8 \
    -o "$OUT/finetuned-ct2" --force
}

mkdir -p "$OUT"
for step in "${steps[@]}"; do
  echo "== $step" >&2
  "step_$step"
done
