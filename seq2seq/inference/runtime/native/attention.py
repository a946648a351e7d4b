"""Multi-head attention whose core runs in one native call (``attention.c``) at decoding
steps: each sentence's few queries (its beams) over its keys, for every sentence and head at
once, on torch's threads. Whole sequences (training, the encoder of long sentences) and
calls the kernel does not take run the module's own code."""

from __future__ import annotations

import ctypes

import torch
from torch import Tensor, nn

from seq2seq.inference.runtime.native.build import native_library
from seq2seq.model.attention import CrossAttention, MultiHeadAttention, SelfAttention
from seq2seq.model.cache import KeyValue, PastKeyValues
from seq2seq.model.replace import adopt_parts, replace_children

# Queries per sentence up to which a call is a decoding step (a sentence's beams, a prefix
# of a few tokens): one pass over the keys per query. Longer ones are products of whole
# sequences, where SDPA's blocked kernel is the faster.
NATIVE_MAX_QUERIES = 16


def _strides(tensor: Tensor, *dims: int) -> ctypes.Array:
    return (ctypes.c_long * len(dims))(*(tensor.stride(dim) for dim in dims))


def native_attention(
    query: Tensor, key: Tensor, value: Tensor, *, mask: Tensor | None
) -> Tensor | None:
    """softmax(Q K^T / sqrt(d_k)) V per sentence and head, the heads merged; None where the
    kernel does not apply (no native library; not fp32 on the CPU without gradients; more
    than ``NATIVE_MAX_QUERIES`` queries; a mask that differs by head).

    Args:
        query: (batch, heads, tgt_len, d_k), its last dimension contiguous.
        key, value: (batch, heads, src_len, d_k), alike in strides.
        mask: bool, broadcastable to (batch, 1, tgt_len, src_len); True = may attend.

    Returns:
        (batch, tgt_len, heads * d_k).
    """
    batch, heads, queries, head_dim = query.shape
    keys = key.size(2)
    if not _applies(query, key, value, mask) or queries > NATIVE_MAX_QUERIES:
        return None
    library = native_library()
    if library is None:
        return None
    if mask is not None:
        mask = mask.expand(batch, 1, queries, keys)
    out = query.new_empty(batch, queries, heads * head_dim)
    status = library.attention(
        query.data_ptr(), _strides(query, 0, 1, 2), key.data_ptr(), value.data_ptr(),
        _strides(key, 0, 1, 2), None if mask is None else mask.data_ptr(),
        None if mask is None else _strides(mask, 0, 2), batch, heads, queries, keys, head_dim,
        out.data_ptr(), torch.get_num_threads(),
    )  # fmt: skip
    if status:
        raise MemoryError("native attention found no memory for its scratch space")
    return out


def _applies(query: Tensor, key: Tensor, value: Tensor, mask: Tensor | None) -> bool:
    """fp32 on the CPU without gradients, keys and values alike in strides, each last
    dimension contiguous, and a bool mask of one row per sentence and query, or none."""
    tensors = (query, key, value)
    return (
        all(t.dtype is torch.float32 and t.is_cpu and t.stride(-1) == 1 for t in tensors)
        and not any(t.requires_grad for t in tensors)
        and key.stride() == value.stride()
        and (
            mask is None
            or (mask.dtype is torch.bool and mask.dim() == 4 and mask.size(1) == 1
                and mask.size(-1) == key.size(2) and mask.stride(-1) == 1)
        )
    )  # fmt: skip


class _NativeAttend:
    """What both native attention modules share: adopting a module's sub-modules and settings
    (the same parameters and state dict), and ``attend`` natively where it applies."""

    def adopt(self, module: MultiHeadAttention) -> None:
        adopt_parts(self, module)
        self.n_heads, self.head_dim, self.dropout = module.n_heads, module.head_dim, module.dropout

    def attend(
        self,
        query: Tensor,
        kv: KeyValue | PastKeyValues,
        *,
        mask: Tensor | None,
        is_causal: bool = False,
        need_weights: bool = False,
    ) -> tuple[Tensor, Tensor | None]:
        """``MultiHeadAttention.attend``, its core in one native call where it applies."""
        context = None
        if not (need_weights or is_causal or self.training):
            context = native_attention(query, kv.key, kv.value, mask=mask)
        if context is None:
            return super().attend(
                query, kv, mask=mask, is_causal=is_causal, need_weights=need_weights
            )
        return self.out_proj(context), None


class NativeSelfAttention(_NativeAttend, SelfAttention):
    """A ``SelfAttention`` (the same sub-modules and parameters) attending natively."""

    def __init__(self, module: SelfAttention) -> None:
        self.adopt(module)


class NativeCrossAttention(_NativeAttend, CrossAttention):
    """A ``CrossAttention`` (the same sub-modules and parameters) attending natively."""

    def __init__(self, module: CrossAttention) -> None:
        self.adopt(module)


def use_native_attention(model: nn.Module) -> nn.Module:
    """Replace, in place, every self- and cross-attention module of ``model`` by a native one
    sharing its parameters, where the kernels could be built here; returns ``model``."""
    if native_library() is None:
        return model
    native = {SelfAttention: NativeSelfAttention, CrossAttention: NativeCrossAttention}
    return replace_children(
        model, lambda _, child: native[type(child)](child) if type(child) in native else None
    )
