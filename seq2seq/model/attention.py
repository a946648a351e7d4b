"""Scaled dot-product and multi-head attention (Vaswani et al. 2017, Section 3.2)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seq2seq.model.cache import KeyValue, PastKeyValues
from seq2seq.model.dropout import dropout
from seq2seq.model.init import init_linear


def causal_mask(size: int, *, device: torch.device | None = None) -> Tensor:
    """The decoder's look-ahead mask: position i may attend to positions j <= i.

    Returns:
        (size, size) bool, True where attention is allowed (lower triangle).
    """
    return torch.ones(size, size, dtype=torch.bool, device=device).tril()


def attention_probabilities(
    query: Tensor, key: Tensor, *, mask: Tensor | None = None, is_causal: bool = False
) -> Tensor:
    """softmax(Q K^T / sqrt(d_k)), the weights of Eq. (1), Section 3.2.1, computed explicitly.

    Dividing by sqrt(d_k) keeps the dot products at unit variance, so the softmax does not
    saturate as d_k grows. Masked positions get -inf before the softmax, hence probability 0.

    Args:
        query: (batch, heads, tgt_len, d_k)
        key: (batch, heads, src_len, d_k)
        mask: bool, broadcastable to (batch, heads, tgt_len, src_len); True = may attend.
        is_causal: also apply the look-ahead mask (tgt_len == src_len).

    Returns:
        (batch, heads, tgt_len, src_len), each row sums to 1 over allowed positions.
    """
    scores = query @ key.transpose(-2, -1) / math.sqrt(query.size(-1))
    if is_causal:
        scores = scores.masked_fill(~causal_mask(scores.size(-1), device=scores.device), -math.inf)
    if mask is not None:
        scores = scores.masked_fill(~mask, -math.inf)
    return scores.softmax(dim=-1)


# Few queries over few keys in many (sentence, head) pairs: SDPA's fp32 flash kernel costs
# more to set up per pair than the products it saves; with few pairs (one sentence at a time)
# its single call beats the explicit path's six operators (docs/benchmarks.md, "Explicit
# attention for few queries over few keys").
EXPLICIT_MAX_SCORES = 1024  # queries x keys per sentence and head
EXPLICIT_MIN_PAIRS = 64  # sentences x heads


def explicit_is_faster(query: Tensor, key_len: int) -> bool:
    """Whether explicit matrix products beat ``F.scaled_dot_product_attention`` on a CPU here.

    Two such cases (docs/benchmarks.md): bf16/fp16 training, where SDPA's flash kernel has a
    slow bf16 backward and its "math" kernel copies queries and keys once more (fp32 training
    keeps flash); and fp32 inference with at most ``EXPLICIT_MAX_SCORES`` scores per sentence
    and head in at least ``EXPLICIT_MIN_PAIRS`` (sentence, head) pairs, the decoding steps of
    greedy and beam search in batches (bf16 keeps flash there).

    Args:
        query: (batch, heads, tgt_len, d_k)
        key_len: src_len, the number of keys each query attends over.
    """
    if query.device.type != "cpu":
        return False
    if query.requires_grad:
        return query.dtype in (torch.bfloat16, torch.float16)
    batch, heads, queries, _ = query.shape
    return (
        query.dtype == torch.float32
        and queries * key_len <= EXPLICIT_MAX_SCORES
        and batch * heads >= EXPLICIT_MIN_PAIRS
    )


class MultiHeadAttention(nn.Module):
    """MultiHead(Q, K, V) = Concat(head_1, ..., head_h) W^O, Section 3.2.2.

    Subclasses project the inputs to per-head queries, keys and values; this class attends
    and projects the concatenated heads back with W^O. The fast path is
    ``F.scaled_dot_product_attention``; the explicit path returns the probabilities too.
    """

    def __init__(self, d_model: int, n_heads: int, *, dropout: float = 0.0) -> None:
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model ({d_model}) must be divisible by n_heads ({n_heads})")
        self.n_heads = n_heads
        self.head_dim = d_model // n_heads
        self.dropout = dropout
        self.out_proj = nn.Linear(d_model, d_model)
        init_linear(self.out_proj)

    def split_heads(self, projected: Tensor, parts: int) -> tuple[Tensor, ...]:
        """(batch, len, parts * d_model) -> ``parts`` views of (batch, heads, len, d_k)."""
        batch, length, _ = projected.shape
        heads = projected.view(batch, length, parts, self.n_heads, self.head_dim)
        return heads.permute(2, 0, 3, 1, 4).unbind(0)

    def attend(
        self,
        query: Tensor,
        kv: KeyValue | PastKeyValues,
        *,
        mask: Tensor | None,
        is_causal: bool = False,
        need_weights: bool = False,
    ) -> tuple[Tensor, Tensor | None]:
        """Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k)) V per head, then W^O.

        Args:
            query: (batch, heads, tgt_len, d_k)
            kv: keys and values, each (batch, heads, src_len, d_k)
            mask: bool, broadcastable to (batch, heads, tgt_len, src_len); True = may attend.
            is_causal: apply the look-ahead mask (full target sequence only).
            need_weights: also return the attention probabilities (slower, explicit path).

        Returns:
            output (batch, tgt_len, d_model) and probabilities
            (batch, heads, tgt_len, src_len) or None.
        """
        probs = None
        if need_weights or explicit_is_faster(query, kv.key.size(2)):
            probs = attention_probabilities(query, kv.key, mask=mask, is_causal=is_causal)
            context = dropout(probs, self.dropout, self.training) @ kv.value
        else:
            dropout_p = self.dropout if self.training else 0.0
            context = F.scaled_dot_product_attention(
                query, kv.key, kv.value, attn_mask=mask, dropout_p=dropout_p, is_causal=is_causal
            )
        batch, _, tgt_len, _ = context.shape
        merged = context.transpose(1, 2).reshape(batch, tgt_len, -1)
        return self.out_proj(merged), probs if need_weights else None


class SelfAttention(MultiHeadAttention):
    """Self-attention (Section 3.2.3): queries, keys and values from the same sequence.

    ``qkv_proj`` holds [W^Q; W^K; W^V] stacked, so one matrix product projects all three.
    """

    def __init__(self, d_model: int, n_heads: int, *, dropout: float = 0.0) -> None:
        super().__init__(d_model, n_heads, dropout=dropout)
        self.qkv_proj = nn.Linear(d_model, 3 * d_model)
        init_linear(self.qkv_proj, parts=3, gain=2**-0.5)

    def forward(
        self,
        x: Tensor,
        *,
        mask: Tensor | None = None,
        is_causal: bool = False,
        past: PastKeyValues | None = None,
        need_weights: bool = False,
    ) -> tuple[Tensor, KeyValue | PastKeyValues, Tensor | None]:
        """Attend from every position of ``x`` to ``past`` entries and ``x`` itself.

        Args:
            x: (batch, len, d_model)
            mask: bool, broadcastable to (batch, heads, len, past_len + len); True = may attend.
            is_causal: the look-ahead mask over ``x`` (only without ``past``).
            past: keys/values of earlier entries, (batch, heads, past_len, d_k), or None.
            need_weights: also return the attention probabilities.

        Returns:
            output (batch, len, d_model), the keys/values of all entries
            (batch, heads, past_len + len, d_k), and probabilities or None.
        """
        query, key, value = self.split_heads(self.qkv_proj(x), 3)
        kv = KeyValue(key, value) if past is None else past.append(KeyValue(key, value))
        out, probs = self.attend(
            query, kv, mask=mask, is_causal=is_causal, need_weights=need_weights
        )
        return out, kv, probs


class CrossAttention(MultiHeadAttention):
    """Encoder-decoder attention (Section 3.2.3): decoder queries, encoder keys and values.

    ``kv_proj`` holds [W^K; W^V] stacked; ``project_memory`` runs it once per source sentence.
    """

    def __init__(self, d_model: int, n_heads: int, *, dropout: float = 0.0) -> None:
        super().__init__(d_model, n_heads, dropout=dropout)
        self.q_proj = nn.Linear(d_model, d_model)
        self.kv_proj = nn.Linear(d_model, 2 * d_model)
        init_linear(self.q_proj, gain=2**-0.5)
        init_linear(self.kv_proj, parts=2, gain=2**-0.5)

    def project_memory(self, memory: Tensor) -> KeyValue:
        """Encoder states (batch, src_len, d_model) -> keys/values (batch, heads, src_len, d_k)."""
        return KeyValue(*self.split_heads(self.kv_proj(memory), 2))

    def forward(
        self,
        x: Tensor,
        memory: KeyValue,
        *,
        mask: Tensor | None = None,
        need_weights: bool = False,
    ) -> tuple[Tensor, Tensor | None]:
        """Attend from decoder states ``x`` to the projected encoder output.

        Args:
            x: (batch, tgt_len, d_model)
            memory: from ``project_memory``, each (batch, heads, src_len, d_k).
            mask: (batch, 1, 1, src_len) bool, True at real source tokens; or None.
            need_weights: also return the attention probabilities.

        Returns:
            output (batch, tgt_len, d_model) and probabilities
            (batch, heads, tgt_len, src_len) or None.
        """
        (query,) = self.split_heads(self.q_proj(x), 1)
        return self.attend(query, memory, mask=mask, need_weights=need_weights)
