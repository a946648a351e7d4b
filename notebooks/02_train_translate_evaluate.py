# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 02 · Train, translate, evaluate: the demo experiment end to end
#
# The demo is a synthetic English → Persian corpus that the project writes itself (numbers,
# dates, quantities, adjective-noun phrases that Persian reorders). A tiny Transformer
# (2+2 layers, d_model 128) learns it in a few minutes on 2 CPU cores. Outputs go to
# `runs/notebooks/` (or `$SEQ2SEQ_NOTEBOOK_RUNS`); notebook 03 reuses the model.

# %%
import csv
import os
import subprocess
import sys
from pathlib import Path

from matplotlib.figure import Figure
from matplotlib_inline.backend_inline import set_matplotlib_formats

from seq2seq import Translator
from seq2seq.evaluation.metrics import corpus_scores

set_matplotlib_formats("png")
RUNS = Path(os.environ.get("SEQ2SEQ_NOTEBOOK_RUNS", "../runs/notebooks")).resolve()
RUN = RUNS / "demo"
print("writing to", RUNS)

# %% [markdown]
# ## 1. Train
#
# `seq2seq-train experiment=demo` composes `conf/train.yaml` with `conf/experiment/demo.yaml`,
# generates the corpus, trains SentencePiece, binarizes, trains 1500 updates and exports the
# best checkpoint (dev BLEU) as a model directory. It runs in its own process, as a user would
# run it; a second run of this notebook finds the model and skips training.

# %%
if not (RUN / "model" / "config.yaml").is_file():
    command = [
        str(Path(sys.executable).parent / "seq2seq-train"), "experiment=demo",
        f"paths.output_dir={RUN}", f"paths.data_dir={RUNS}/data",
        f"paths.prepared_dir={RUNS}/data-cache", "trainer.enable_progress_bar=false",
    ]  # fmt: skip
    finished = subprocess.run(command, capture_output=True, text=True)
    print(finished.stdout[-1500:])
    assert finished.returncode == 0, finished.stderr[-3000:]
print(sorted(p.name for p in (RUN / "model").iterdir()))

# %% [markdown]
# ## 2. The training curve
#
# Lightning's CSV logger wrote `train/loss` (label-smoothed cross-entropy) every 10 updates
# and `val/bleu` (greedy decoding of the dev set) every 500.

# %%
with (RUN / "logs" / "metrics.csv").open() as stream:
    rows = list(csv.DictReader(stream))
loss = [(int(r["step"]), float(r["train/loss"])) for r in rows if r.get("train/loss")]
bleu = [(int(r["step"]), float(r["val/bleu"])) for r in rows if r.get("val/bleu")]
figure = Figure(figsize=(10, 3.5), layout="constrained")
left, right = figure.subplots(1, 2)
left.plot(*zip(*loss, strict=True))
left.set(title="training loss", xlabel="update", ylabel="label-smoothed cross-entropy")
right.plot(*zip(*bleu, strict=True), marker="o")
right.set(title="dev BLEU (greedy)", xlabel="update", ylabel="BLEU")
figure

# %% [markdown]
# ## 3. Translate the test set with beam search and score it
#
# `Translator` loads the self-contained model directory (weights, SentencePiece model,
# normalization), batches sentences by tokens and restores their order.

# %%
test = RUNS / "data" / "demo-1-20000" / "test"
sources = (test / "demo.en").read_text(encoding="utf-8").splitlines()
references = (test / "demo.fa").read_text(encoding="utf-8").splitlines()
translator = Translator.load(RUN / "model")
hypotheses = translator.translate(sources)
for source, hypothesis, reference in list(zip(sources, hypotheses, references, strict=True))[:5]:
    print(f"{source}\n  ours: {hypothesis}\n  ref:  {reference}")

# %%
scores = corpus_scores(hypotheses, references)
print(f"test BLEU {scores.bleu:.1f}, chrF {scores.chrf:.1f} ({len(sources)} sentences, beam 5)")
print("BLEU signature:", scores.bleu_signature)
assert scores.bleu > 50, "the demo model should translate its own test set well"
