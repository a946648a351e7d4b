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
# # 04 · GPT from the decoder: a language model is the Transformer's decoder alone
#
# Take the decoder of notebook 01, drop its cross-attention (there is no encoder to attend
# to), and train it to predict the next token of plain text: that is a GPT-style language
# model (Radford et al. 2018). Everything below runs on the project's own modules:
# `DecoderOnlyTransformer` is `Decoder` built with `encoder_layers=0`, whose `DecoderLayer`s
# then keep masked self-attention and the feed-forward network only. Outputs go to
# `runs/notebooks/` (or `$SEQ2SEQ_NOTEBOOK_RUNS`).

# %%
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import torch
from matplotlib_inline.backend_inline import set_matplotlib_formats

from seq2seq.analysis.plot import plot_heads
from seq2seq.inference.generate import continue_prompt
from seq2seq.inference.language_model import LanguageModel
from seq2seq.inference.options import Sampling
from seq2seq.inference.runtime.cache import DecoderCache
from seq2seq.inference.search.stepwise import drawing, most_probable
from seq2seq.model import DecoderOnlyTransformer
from seq2seq.model.attention import causal_mask
from seq2seq.training.presets import load_model_config

set_matplotlib_formats("png")
torch.manual_seed(0)
RUNS = Path(os.environ.get("SEQ2SEQ_NOTEBOOK_RUNS", "../runs/notebooks")).resolve()
RUN = RUNS / "demo_lm"

# %% [markdown]
# ## 1. Masked self-attention: the scores a token may not use are -inf
#
# A language model predicts token *t + 1* from tokens 1..*t*. In training it sees the whole
# sentence at once, so each position must be kept from looking ahead: the look-ahead mask
# sets the scores $QK^T/\sqrt{d_k}$ of later positions to $-\infty$ before the softmax, and
# $e^{-\infty} = 0$ gives them probability 0.

# %%
words = "من امروز سه کتاب قرمز خریدم".split()
n = len(words)
query, key = torch.randn(n, 16), torch.randn(n, 16)
scores = query @ key.T / 16**0.5
masked = scores.masked_fill(~causal_mask(n), float("-inf"))
print(masked.numpy().round(2))
probabilities = masked.softmax(-1)
assert (probabilities.triu(1) == 0).all()  # nothing above the diagonal
plot_heads(probabilities[None], rows=words, cols=words, title="one head under the look-ahead mask")

# %% [markdown]
# ## 2. The model: `lm_tiny`, and what weight tying saves
#
# The output projection (d_model → vocabulary) is the input embedding matrix itself
# (Section 3.4 of the paper; GPT-2 does the same). With a 1,000-piece vocabulary that is
# 128,000 parameters fewer, 14% of this model.

# %%
config = load_model_config("lm_tiny", src_vocab_size=1000, tgt_vocab_size=1000)
lm = DecoderOnlyTransformer(config).eval()
assert lm.decoder.output_proj.weight is lm.decoder.embed.tokens.weight
tied = sum(p.numel() for p in lm.parameters())
print(f"{config.decoder_layers} layers, d_model {config.d_model}: {tied:,} parameters tied, "
      f"{tied + 1000 * config.d_model:,} untied")  # fmt: skip
print("cross-attention in its layers:", {layer.cross_attn for layer in lm.decoder.layers})

# %% [markdown]
# A token never sees a later one: change token 4 and the outputs at positions 0-3 do not move.

# %%
tokens = torch.randint(4, 1000, (1, 8))
changed = tokens.clone()
changed[0, 4] = 5
with torch.no_grad():
    before, after = lm(tokens), lm(changed)
print("outputs 0-3 equal:", torch.allclose(before[0, :4], after[0, :4]))
print("output 4 equal:", torch.allclose(before[0, 4], after[0, 4]))

# %% [markdown]
# ## 3. Train it on the demo corpus's Persian side
#
# `seq2seq-train experiment=demo_lm` is the demo experiment's data and tokenizer with
# `task: language_model`: each batch holds the Persian sentences alone, the loss covers every
# token, and the exported model is the checkpoint of lowest dev loss. 600 updates (about a
# minute here) are enough to see what follows; a second run of the notebook skips training.

# %%
if not (RUN / "model" / "config.yaml").is_file():
    command = [
        str(Path(sys.executable).parent / "seq2seq-train"), "experiment=demo_lm",
        "trainer.max_steps=600", "trainer.val_check_interval=300",
        "callbacks.steps.every_n_train_steps=300", "test_after_training=false",
        f"paths.output_dir={RUN}", f"paths.data_dir={RUNS}/data",
        f"paths.prepared_dir={RUNS}/data-cache", "trainer.enable_progress_bar=false",
    ]  # fmt: skip
    finished = subprocess.run(command, capture_output=True, text=True)
    print(finished.stdout[-600:])
    assert finished.returncode == 0, finished.stderr[-3000:]
model = LanguageModel.load(RUN / "model")
tokenizer = model.loaded.tgt_tokenizer
print("dev perplexity:", round(model.loaded.metadata["best_dev"]["val/ppl"], 1))

# %% [markdown]
# ## 4. One token at a time, with and without the key/value cache
#
# Generating means running the model once per new token. Without a cache, step *t* runs the
# whole prefix again: 1 + 2 + ... + n positions for n tokens. With the cache, each step runs
# the newest position only and attends to the keys and values stored for the earlier ones:
# n positions in all. Both give the same tokens.

# %%
net = model.model
prompt = [2, *tokenizer.encode(["من"])[0]]  # bos first


def without_cache(steps: int) -> list[int]:
    sequence = list(prompt)
    for _ in range(steps):
        with torch.no_grad():
            logits = net(torch.tensor([sequence]))[0, -1]
        logits[3] = float("-inf")  # no end of sentence: always `steps` tokens
        sequence.append(int(logits.argmax()))
    return sequence[len(prompt) :]


def with_cache(steps: int) -> list[int]:
    cache = DecoderCache.without_memory(net.decoder, rows=1, reserve=len(prompt) + steps)
    with torch.no_grad():
        logits, cache = cache.extend(torch.tensor([prompt]))
        logits, new = logits[:, -1], []
        for _ in range(steps):
            logits[:, 3] = float("-inf")
            token = logits.argmax(-1)
            new.append(int(token))
            logits, cache = cache.step(token[:, None])
    return new


with_cache(5)  # the first call prepares the weights for this CPU's matrix products
for steps in (25, 100):
    start = time.perf_counter()
    slow = without_cache(steps)
    middle = time.perf_counter()
    fast = with_cache(steps)
    end = time.perf_counter()
    assert slow == fast
    positions = steps * (steps + 1) // 2 + steps * (len(prompt) - 1)
    print(f"{steps} tokens: {positions:,} positions run without the cache, {steps} with it: "
          f"{middle - start:.2f} s against {end - middle:.2f} s")  # fmt: skip

# %% [markdown]
# ## 5. Greedy search loops; top-k sampling does not
#
# Greedy decoding takes the likeliest token every time. A language model gives its own recent
# text a high probability, so once a phrase repeats, repeating it again is likelier still:
# greedy output falls into a loop. Sampling from the k likeliest tokens (Fan et al. 2018)
# breaks the loop, because an unlikely step now and then leads somewhere else.


# %%
def repeated_trigrams(ids: list[int]) -> float:
    """The share of the text's token 3-grams that occurred before in it."""
    trigrams = list(zip(ids, ids[1:], ids[2:], strict=False))
    counts = Counter(trigrams)
    return sum(c - 1 for c in counts.values()) / max(len(trigrams), 1)


prompt_ids = tokenizer.encode(["من"])[0]
greedy = continue_prompt(net, prompt_ids, count=1, max_tokens=60, choose=most_probable, min_len=60)
generator = torch.Generator().manual_seed(1)
top_k = continue_prompt(
    net, prompt_ids, count=3, max_tokens=60, min_len=60,
    choose=drawing(Sampling(top_k=40), generator=generator),
)  # fmt: skip
print(f"greedy ({repeated_trigrams(greedy[0]):.0%} of 3-grams repeated):")
print(" ", tokenizer.decode([prompt_ids + greedy[0]])[0])
for sample in top_k:
    print(f"top-k 40 ({repeated_trigrams(sample):.0%} repeated):")
    print(" ", tokenizer.decode([prompt_ids + sample])[0])

# %% [markdown]
# The same from the command line, where `--top-k 1` is greedy and a seed makes the draws
# repeatable:
#
# ```bash
# seq2seq-sample -m runs/notebooks/demo_lm/model --prompt "من" -n 3 --top-k 40 --seed 1
# seq2seq-score -m runs/notebooks/demo_lm/model -i some-persian.txt   # log-probabilities
# ```
#
# And `seq2seq-translate --lm DIR --lm-weight W` fuses such a model into beam search over a
# translation model of the same vocabulary (the `demo` experiment's, here).

# %%
print(model.sample("من", count=3, max_tokens=20, sampling=Sampling(top_k=40, seed=1)))
