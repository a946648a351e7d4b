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
# # 01 · The Transformer of "Attention Is All You Need", piece by piece
#
# Every mechanism below runs on the project's own modules (`seq2seq.model`), on the example
# *"Transformers learn from data."* → *"ترانسفورمرها از داده‌ها یاد می‌گیرند"*.
# Nothing is trained here: the weights are random, and we look at what the computation does.

# %%
import math

import torch
from matplotlib.figure import Figure
from matplotlib_inline.backend_inline import set_matplotlib_formats

from seq2seq.analysis.plot import plot_heads
from seq2seq.model import Transformer, TransformerConfig
from seq2seq.model.attention import SelfAttention, attention_probabilities, causal_mask
from seq2seq.model.embedding import sinusoidal_table

set_matplotlib_formats("png")  # show every matplotlib Figure as a picture
torch.manual_seed(0)
source = "Transformers learn from data .".split()
target = "ترانسفورمرها از داده‌ها یاد می‌گیرند".split()
print(source, target, sep="\n")

# %% [markdown]
# ## 1. Scaled dot-product attention (Section 3.2.1)
#
# $\mathrm{Attention}(Q, K, V) = \mathrm{softmax}(QK^T / \sqrt{d_k})\,V$: each query position
# takes a weighted average of the values, weighted by how well its query matches each key.
# `attention_probabilities` computes the softmax part; every row is a probability distribution.

# %%
d_k = 64
query = torch.randn(1, 1, len(target), d_k)  # (batch, heads, tgt_len, d_k)
key = torch.randn(1, 1, len(source), d_k)  # (batch, heads, src_len, d_k)
value = torch.randn(1, 1, len(source), d_k)
weights = attention_probabilities(query, key)  # (1, 1, tgt_len, src_len)
print("each row sums to", weights.sum(-1).flatten().tolist())
assert torch.allclose(weights.sum(-1), torch.ones(1, 1, len(target)))
print("output shape:", tuple((weights @ value).shape))
plot_heads(weights[0], rows=target, cols=source, title="one head, random queries and keys")

# %% [markdown]
# ## 2. Why divide by $\sqrt{d_k}$
#
# With unit-variance entries, the dot product of a query and a key is a sum of $d_k$ products,
# so its standard deviation grows like $\sqrt{d_k}$. Large scores push the softmax into
# saturation: almost all the weight on one key, and vanishing gradients for the rest.
# Dividing by $\sqrt{d_k}$ brings the scores back to unit variance.

# %%
for width in (4, 64, 512):
    q, k = torch.randn(10_000, width), torch.randn(10_000, width)
    scores = (q * k).sum(-1)
    raw = torch.randn(1000, 10, width) @ torch.randn(1000, width, 1)
    peak_raw = raw.squeeze(-1).softmax(-1).max(-1).values.mean()
    peak_scaled = (raw.squeeze(-1) / math.sqrt(width)).softmax(-1).max(-1).values.mean()
    print(
        f"d_k={width:4d}: std of q.k = {scores.std():6.2f} (sqrt(d_k) = {math.sqrt(width):5.2f}); "
        f"largest softmax weight over 10 keys: {peak_raw:.2f} unscaled, {peak_scaled:.2f} scaled"
    )

# %% [markdown]
# ## 3. Multi-head attention: $d_k = d_{model} / h$ (Section 3.2.2)
#
# The base model has $d_{model} = 512$ and $h = 8$ heads, so each head works in
# $d_k = 64$ dimensions. One matrix product projects Q, K and V for all heads at once; the
# result is then split into heads, which attend in parallel.

# %%
attention = SelfAttention(d_model=512, n_heads=8)
x = torch.randn(1, len(source), 512)  # (batch, len, d_model)
q, k, v = attention.split_heads(attention.qkv_proj(x), 3)
print("fused projection:", tuple(attention.qkv_proj.weight.shape), "= [W_Q; W_K; W_V]")
print("per-head queries:", tuple(q.shape), "= (batch, heads, len, d_k), d_k =", attention.head_dim)
out, _, probs = attention(x, need_weights=True)
print("output:", tuple(out.shape), " probabilities:", tuple(probs.shape))

# %% [markdown]
# ## 4. The decoder's look-ahead mask
#
# While predicting target word $t$ the decoder must not see words $t+1, \dots$. Scores of
# future positions are set to $-\infty$ **before** the softmax, so their probability is exactly 0
# and the remaining weights still sum to 1.

# %%
print(causal_mask(len(target)).int())
q = torch.randn(1, 1, len(target), d_k)
masked = attention_probabilities(q, q, is_causal=True)[0]
print("largest probability above the diagonal:", masked[0].triu(1).abs().max().item())
assert masked[0].triu(1).eq(0).all()
plot_heads(
    masked, rows=target, cols=target, title="decoder self-attention with the look-ahead mask"
)

# %% [markdown]
# ## 5. Sinusoidal position encodings (Section 3.5)
#
# $PE_{(pos, 2i)} = \sin(pos / 10000^{2i/d_{model}})$ and $PE_{(pos, 2i+1)} = \cos(\dots)$;
# this project stores all sines first and all cosines second (the fairseq/Marian layout).
# Each dimension is a sinusoid of a different wavelength, from $2\pi$ to $10000 \cdot 2\pi$.

# %%
table = sinusoidal_table(64, 128)  # (positions, d_model)
figure = Figure(figsize=(10, 3.5), layout="constrained")
left, right = figure.subplots(1, 2)
left.imshow(table.T.numpy(), aspect="auto", cmap="RdBu")
left.set(title="PE: dimension (rows) by position (columns)", xlabel="position", ylabel="dimension")
for dim in (0, 8, 32):
    right.plot(table[:, dim].numpy(), label=f"dimension {dim} (sin)")
right.set(title="a few dimensions", xlabel="position")
right.legend(fontsize=8)
figure

# %% [markdown]
# ## 6. Without positions, self-attention cannot tell word order
#
# Self-attention and the position-wise feed-forward layers treat the input as a *set*: permute
# the input words and the encoder's outputs come out permuted the same way
# (permutation-equivariance). Adding position encodings breaks this symmetry, which is how the
# model knows the order of the words.

# %%
cfg = TransformerConfig(src_vocab_size=16, tgt_vocab_size=16, d_model=32, n_heads=4,
                        encoder_layers=2, decoder_layers=2, ffn_dim=64, dropout=0.0,
                        learned_positions=True)  # fmt: skip
model = Transformer(cfg).eval()
ids = torch.tensor([[4, 5, 6, 7, 8, 3]])  # "Transformers learn from data . </s>" as toy ids
order = torch.tensor([2, 0, 1, 3, 4, 5])  # "from Transformers learn data . </s>"
with torch.no_grad():
    model.encoder.embed.positions.table.zero_()  # learned positions, set to zero: none at all
    without = model.encode(ids).states
    permuted = model.encode(ids[:, order]).states
    equivariant = torch.allclose(permuted, without[:, order], atol=1e-6)
    print("no positions: outputs permuted alike?", equivariant)
    model.encoder.embed.positions.table.copy_(sinusoidal_table(cfg.max_positions, cfg.d_model))
    with_positions = model.encode(ids).states
    permuted = model.encode(ids[:, order]).states
    still = torch.allclose(permuted, with_positions[:, order], atol=1e-6)
    print("with sinusoids: outputs permuted alike?", still)
assert equivariant and not still
