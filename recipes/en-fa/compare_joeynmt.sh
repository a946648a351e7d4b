#!/usr/bin/env bash
# JoeyNMT 2.3.0 and ours side by side: the same training data, the same SentencePiece model,
# a Transformer of the same size (2+2 layers, d_model 128, 4 heads, ffn 512), the same
# wall-clock budget on the same machine, one after the other; both scored by seq2seq-eval
# (beam 5) on FLORES-200 dev, TICO-19 test and the software-ui and tech-docs test parts.
#
#   recipes/en-fa/compare_joeynmt.sh                  # en-fa; DIRECTION=fa-en for the reverse
#
# Environment: DIRECTION (en-fa), BUDGET_MINUTES (40), WORK (runs/compare-joeynmt-$DIRECTION),
# DATA_ROOT (../shared/data/en-fa), TESTSETS (catalog names), TRAIN_ARGS (more overrides for
# ours and for the data both get), OURS (the OUT of a recipe run already made with the same
# data: scored as it is instead of training ours again; its SentencePiece model must be the
# one the data preparation here makes). Needs `make install` first; JoeyNMT gets its own venv
# in WORK.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bin=$repo/.venv/bin
DIRECTION=${DIRECTION:-en-fa}
BUDGET_MINUTES=${BUDGET_MINUTES:-40}
WORK=${WORK:-$repo/runs/compare-joeynmt-$DIRECTION}
DATA_ROOT=$(cd "${DATA_ROOT:-$repo/../shared/data/en-fa}" && pwd)
src=${DIRECTION%-*} tgt=${DIRECTION#*-}
experiment=${src}_${tgt}_tiny
TESTSETS=${TESTSETS:-flores200-dev tico19-test tatoeba-test software-ui-test tech-docs-test}
joey=$WORK/joeynmt
ours=${OURS:-$WORK/ours}
if [[ -z ${OURS:-} ]] && compgen -G "$ours/checkpoints/*.ckpt" >/dev/null; then  # run.sh would refuse them later
  echo "error: $WORK/ours/checkpoints holds an earlier run's checkpoints: move them away or set WORK" >&2
  exit 1
fi
if [[ -n ${OURS:-} && ! -f $OURS/model/spm.model ]]; then
  echo "error: OURS=$OURS is not the output of a recipe run: it has no model/spm.model" >&2
  exit 1
fi
# The OpenMP thread-waiting defaults that the seq2seq-* commands set, for JoeyNMT too.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE} GOMP_SPINCOUNT=${GOMP_SPINCOUNT:-10000}
mkdir -p "$joey"

echo "== our data preparation (its SentencePiece model is shared with JoeyNMT)" >&2
# shellcheck disable=SC2086  # TRAIN_ARGS is a list of Hydra overrides
"$bin/seq2seq-prepare" "experiment=$experiment" "data.root=$DATA_ROOT" \
  "paths.prepared_dir=$WORK/prepared" ${TRAIN_ARGS:-}
prepared=$(dirname "$(ls "$WORK"/prepared/*/meta.json)")
spm=$prepared/spm.model
if [[ -n ${OURS:-} ]]; then
  # The two files differ in the staging paths SentencePiece records; pieces and scores must not.
  if ! "$bin/python" -c "import sentencepiece as s, sys
def pieces(path):
    p = s.SentencePieceProcessor(model_file=path)
    return [(p.id_to_piece(i), p.get_score(i)) for i in range(p.get_piece_size())]
sys.exit(pieces(sys.argv[1]) != pieces(sys.argv[2]))" "$spm" "$OURS/model/spm.model"; then
    echo "error: $OURS/model/spm.model is not the SentencePiece model of this data: OURS was trained on other data or settings" >&2
    exit 1
  fi
  spm=$OURS/model/spm.model
fi
# JoeyNMT looks pieces up by string; its specials (<unk> <pad> <s> </s>, ids 0-3) are ours too.
"$bin/python" -c "import sentencepiece as s, sys; p = s.SentencePieceProcessor(model_file=sys.argv[1])
print('\n'.join(p.id_to_piece(i) for i in range(p.get_piece_size())))" "$spm" > "$joey/vocab.txt"
# The training pairs ours trains on (held-out parts and pairs sharing a side with a dev or
# test sentence removed, normalized, text filters applied; JoeyNMT filters lengths itself).
cp "$prepared/train.clean.src" "$joey/train.$src"
cp "$prepared/train.clean.tgt" "$joey/train.$tgt"
for lang in "$src" "$tgt"; do
  cp "$DATA_ROOT/dev/flores200-dev.$lang" "$joey/dev.$lang"
done

echo "== JoeyNMT 2.3.0 in its own venv" >&2
if [[ ! -f $joey/venv/installed ]]; then
  python3.11 -m venv "$joey/venv"
  # torch 2.13 (the CPU build), protobuf 3.20; the wheel imports importlib_metadata without
  # declaring it, and calls SetVocabulary, which sentencepiece 0.2.1+ lacks.
  "$joey/venv/bin/pip" install -q torch==2.13.0 joeynmt==2.3.0 protobuf==3.20.3 \
    importlib_metadata sentencepiece==0.2.0
  touch "$joey/venv/installed"
fi
side() {  # one side of JoeyNMT's data section
  cat <<YAML
    $1:
        lang: "$2"
        max_length: 250
        level: "bpe"
        voc_file: "$joey/vocab.txt"
        tokenizer_type: "sentencepiece"
        tokenizer_cfg: {model_file: "$spm"}
YAML
}
stack() {  # one stack of JoeyNMT's model section: conf/model/transformer_tiny.yaml, en_fa_tiny's dropout
  cat <<YAML
    $1:
        type: "transformer"
        num_layers: 2
        num_heads: 4
        embeddings: {embedding_dim: 128, scale: true, dropout: 0.1}
        hidden_size: 128
        ff_size: 512
        dropout: 0.1
        layer_norm: "post"
YAML
}
cat > "$joey/config.yaml" <<YAML
name: "joeynmt-$DIRECTION-tiny"
joeynmt_version: "2.3.0"
data:
    train: "$joey/train"
    dev: "$joey/dev"
    dataset_type: "plain"
    sample_dev_subset: 500
$(side src "$src")
$(side trg "$tgt")
testing:
    beam_size: 5
    beam_alpha: 1.0
    batch_size: 2048
    batch_type: "token"
    max_output_length: 150
    eval_metrics: ["bleu", "chrf"]
training:
    random_seed: 1234
    optimizer: "adam"
    adam_betas: [0.9, 0.98]
    scheduling: "warmupinversesquareroot"
    learning_rate_warmup: 1000
    learning_rate: 0.0028
    learning_rate_min: 1.0e-8
    label_smoothing: 0.1
    loss: "crossentropy"
    normalization: "tokens"
    # JoeyNMT counts tokens its own way: 4,096 gives it about 1,100 target tokens an update,
    # already fewer than our 2,048-token batches hold (about 1,750).
    batch_size: 4096
    batch_type: "token"
    epochs: 100000
    validation_freq: 1000
    logging_freq: 100
    # The checkpoint of best dev chrF, as en_fa_tiny's callbacks.best.monitor picks ours.
    early_stopping_metric: "chrf"
    model_dir: "$joey/model"
    overwrite: true
    shuffle: true
    use_cuda: false
    keep_best_ckpts: 1
model:
    initializer: "xavier_uniform"
    embed_initializer: "xavier_uniform"
    tied_embeddings: true
    tied_softmax: true
$(stack encoder)
$(stack decoder)
YAML

echo "== JoeyNMT training, $BUDGET_MINUTES minutes" >&2
# JoeyNMT has no time budget of its own: stop it like Ctrl-C (it saves and ends cleanly).
timeout --signal=INT "${BUDGET_MINUTES}m" "$joey/venv/bin/python" -m joeynmt train --skip-test \
  "$joey/config.yaml" || [[ $? == 124 ]]

if [[ -z ${OURS:-} ]]; then
  echo "== ours, $BUDGET_MINUTES minutes" >&2
  OUT=$ours EXPERIMENT=$experiment DATA_ROOT=$DATA_ROOT \
    BUDGET=00:00:$(printf %02d "$BUDGET_MINUTES"):00 \
    TRAIN_ARGS="paths.prepared_dir=$WORK/prepared ${TRAIN_ARGS:-}" \
    "$repo/recipes/en-fa/run.sh" train average
fi

echo "== both translate and are scored (beam 5)" >&2
for testset in $TESTSETS; do
  "$bin/python" -c "import sys; from pathlib import Path
from seq2seq.evaluation.testsets import read_test_set
data = read_test_set(sys.argv[1], sys.argv[2], sys.argv[3], root=Path(sys.argv[4]))
print(''.join(line + '\n' for line in data.sources), end='')" \
    "$testset" "$src" "$tgt" "$DATA_ROOT" > "$joey/$testset.src"
  # JoeyNMT takes its best checkpoint (dev chrF), or its latest if it never validated.
  "$joey/venv/bin/python" -m joeynmt translate "$joey/config.yaml" < "$joey/$testset.src" \
    > "$joey/$testset.hyp"
  # Ours twice: the best-dev model (what JoeyNMT keeps too) and the average of the last five.
  "$bin/seq2seq-eval" -m "$ours/model" -m "$ours/averaged" --hyp "$joey/$testset.hyp" \
    -t "$testset" --data-root "$DATA_ROOT" --json "$WORK/$testset.json" | tee "$WORK/$testset.txt"
done
