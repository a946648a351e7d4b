# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 03 · Cross-attention as alignment: Persian puts the adjective after the noun
#
# "the three **red books**" is "سه **کتاب قرمز**" (three book red): the noun comes first.
# Cross-attention lets each target position look at the source; a trained model learns to
# look at the source word it is translating, so its weights draw the alignment, and here the
# alignment lines cross. This uses the demo model of notebook 02 (run that first).

# %%
import os
from pathlib import Path

import torch
from matplotlib_inline.backend_inline import set_matplotlib_formats

from seq2seq import Translator
from seq2seq.analysis.attention import sentence_attention
from seq2seq.analysis.plot import cross_attention_figure, display_label, plot_heads

set_matplotlib_formats("png")
RUNS = Path(os.environ.get("SEQ2SEQ_NOTEBOOK_RUNS", "../runs/notebooks")).resolve()
MODEL = RUNS / "demo" / "model"
assert (MODEL / "config.yaml").is_file(), f"no model at {MODEL}: run notebook 02 first"
translator = Translator.load(MODEL)

# %% [markdown]
# ## 1. Translate, then read the attention of the translation
#
# The translation is fed back through the model (teacher forcing) on the explicit-softmax path,
# which returns every layer's attention probabilities: (heads, target positions, source tokens).
# Position *t* of the decoder input (`<s>` first) is the one that predicts target token *t + 1*;
# `cross_attention_figure` labels each row with the token it predicts.

# %%
source = "the three red books"
(translation,) = translator.translate([source])
print(source, "->", translation)
attention = sentence_attention(translator.loaded, source, translation)
print("source tokens:", attention.src_tokens)
print("target tokens:", attention.tgt_tokens)
cross_attention_figure(attention)

# %% [markdown]
# ## 2. The heads of the last layer
#
# Different heads specialise: some follow the word being translated, some look at the end of
# the sentence or spread out.

# %%
last = attention.cross[-1]
plot_heads(last, rows=attention.tgt_tokens, cols=attention.src_tokens,
           title="last decoder layer, cross-attention per head")  # fmt: skip

# %% [markdown]
# ## 3. Read off the alignment
#
# For each predicted target token, the source token with the most attention (averaged over
# layers and heads). Row *t* predicts target token *t + 1*, so we pair row *t* with it.

# %%
mean = torch.stack(attention.cross).mean(dim=(0, 1))  # (tgt_len, src_len)
predicted = [*attention.tgt_tokens[1:], "</s>"]
links = []
for row, token in enumerate(predicted):
    column = int(mean[row].argmax())
    links.append((row, column))
    print(f"{display_label(token):>12} <- {attention.src_tokens[column]:<10} "
          f"({mean[row, column]:.2f})")  # fmt: skip
crossing = any(r1 < r2 and c1 > c2 for r1, c1 in links for r2, c2 in links)
print("alignment lines cross:", crossing)

# %% [markdown]
# ## 4. More phrases
#
# Try your own: quantities, colours, sizes. Each call writes nothing; `seq2seq-translate
# --attention-out DIR` does the same for a whole file, one picture per line.

# %%
for phrase in ("a big house", "the two black cats"):
    (output,) = translator.translate([phrase])
    print(phrase, "->", output)
cross_attention_figure(sentence_attention(translator.loaded, "the two black cats", output))
