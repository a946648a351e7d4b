"""Encoder and decoder layers whose calls run as one native call (``layers.c``): a decoder
layer's decoding steps, an encoder layer's sentences, shared among torch's threads; in fp32
where every thread gets a part of the call or the call is small (``runs_natively``), over int8
products (``NativeInt8Linear``) every call. Other calls, and every call where the native path
does not apply, run the layer's own PyTorch code."""

from __future__ import annotations

import ctypes
import sys

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seq2seq.inference.runtime.cache import KeyValueBuffer
from seq2seq.inference.runtime.native.build import native_library
from seq2seq.inference.runtime.native.int8 import NativeInt8Linear
from seq2seq.model import AttentionMaps, DecoderLayer, EncoderLayer, KeyValue
from seq2seq.model.replace import adopt_parts, replace_children

# Multiply-adds of an fp32 call (rows x the layer's weights) up to which one native call on
# one thread beats the layer's operators on all of torch's threads (Zen 4, the base preset: 10
# rows). A call with a part for every thread (its sentences, or groups of beams, at least the
# threads) is native at any size: its fp32 products keep up with oneDNN's (docs/benchmarks.md,
# "Layers in one native call"); so is every call over int8 products.
NATIVE_ALONE = 2**25
PANEL = 64  # columns of a panel of fp32 weights (layers.c)
_POINTER, _INT, _FLOAT = ctypes.c_void_p, ctypes.c_int, ctypes.c_float


class _Linear(ctypes.Structure):
    """fp32 (``weight`` in panels, ``_panels``) or int8 (``packed``, ``scales``,
    ``compensation``, as ``NativeInt8Linear`` holds them)."""

    _fields_ = (
        ("weight", _POINTER), ("bias", _POINTER), ("in_", _INT), ("out", _INT),
        ("packed", _POINTER), ("scales", _POINTER), ("compensation", _POINTER),
    )  # fmt: skip


class _Norm(ctypes.Structure):
    _fields_ = (("weight", _POINTER), ("bias", _POINTER), ("eps", _FLOAT))


_LINEARS = ("qkv", "self_out", "cross_q", "cross_out", "w1", "w2")
_NORMS = ("self_norm", "cross_norm", "ffn_norm")


class _Layer(ctypes.Structure):
    _fields_ = (
        ("d", _INT), ("heads", _INT), ("ffn", _INT), ("pre_norm", _INT), ("swish", _INT),
        *((name, _Linear) for name in _LINEARS), *((name, _Norm) for name in _NORMS),
    )  # fmt: skip


Layer = EncoderLayer | DecoderLayer


class _Described:
    """A layer's weights as ``layers.c`` reads them: the C structure and the tensors it points
    into (the fp32 weights' panels; the biases and norms themselves), which a caller
    holds for as long as the C code runs."""

    __slots__ = ("layer", "tensors")

    def __init__(self, layer: _Layer | None = None, tensors: tuple[Tensor, ...] = ()) -> None:
        self.layer, self.tensors = layer, tensors


class _Kernel:
    """A layer's ``_Described`` weights, with the parameters' addresses and in-place change
    counts when they were described (a tensor made in inference mode keeps no count)."""

    __slots__ = ("counted", "described", "parameters", "signature")

    def __init__(self) -> None:
        self.described = _Described()
        self.parameters: list[Tensor] = []
        self.counted: list[Tensor] = []
        self.signature: tuple[list[int], list[int]] = ([], [])

    def of(self, layer: Layer) -> _Described:
        """The weights of ``layer``, described again once a parameter moved or changed in
        place. Threads that decode at once each hold what they were given, so a description
        replaced meanwhile is freed only after their calls."""
        if not self.parameters:
            self.parameters = list(layer.parameters())
            self.counted = [p for p in self.parameters if not p.is_inference()]
        signature = [p.data_ptr() for p in self.parameters], [p._version for p in self.counted]
        described = self.described
        if signature != self.signature:
            described = _described(layer)
            self.described, self.signature = described, signature
        return described


class _Native:
    """What both native layers share: adopting a layer's sub-modules (the same parameters and
    state dict), the kernel structure of its weights, and which calls go native."""

    def adopt(self, layer: Layer) -> None:
        adopt_parts(self, layer)
        self.kernel = _Kernel()
        linears = [m for m in _linears(self) if m is not None]
        weights = sum(m.in_features * m.out_features for m in linears)
        int8 = all(type(m) is NativeInt8Linear for m in linears)
        self.alone_rows = sys.maxsize if int8 else NATIVE_ALONE // weights

    def __getstate__(self) -> dict:
        """Copies and pickles make their own kernel structure (it holds addresses)."""
        return {**self.__dict__, "kernel": _Kernel()}

    def runs_natively(self, x: Tensor, maps: AttentionMaps | None) -> bool:
        """Whether a call over ``x`` (batch, len, d_model) may be native: fp32 on the CPU, a
        part for every thread or few rows (``alone_rows``), no gradient to record, no
        autocast, no attention maps asked for."""
        return (
            (x.size(0) >= torch.get_num_threads() or x.size(0) * x.size(1) <= self.alone_rows)
            and maps is None
            and x.dtype is torch.float32
            and x.is_cpu
            and not (torch.is_grad_enabled() and x.requires_grad)
            and not torch.is_autocast_enabled("cpu")
        )


class NativeEncoderLayer(_Native, EncoderLayer):
    """An ``EncoderLayer`` (the same sub-modules and parameters, the same state dict) whose
    calls in fp32 on the CPU without gradients run in ``layers.c`` (``runs_natively``):
    results within fp32 rounding of the layer's own. The C code reads each fp32 weight in
    panels, a copy made at the first native call and made again when a parameter changes in
    place."""

    def __init__(self, layer: EncoderLayer) -> None:
        self.adopt(layer)

    def forward(
        self, x: Tensor, *, mask: Tensor | None, maps: AttentionMaps | None = None
    ) -> Tensor:
        """``EncoderLayer.forward``; natively where ``runs_natively`` says so and ``mask`` is
        one row per sentence, or none."""
        batch, length, _ = x.shape
        if self.runs_natively(x, maps) and (mask is None or _mask_of(mask, (batch, 1, 1, length))):
            out = x.contiguous().clone()
            weights = self.kernel.of(self)
            status = native_library().encoder_layer(
                ctypes.byref(weights.layer),
                out.data_ptr(),
                batch,
                length,
                _address(mask),
                torch.get_num_threads(),
            )
            _raise_on(status)
            return out
        return super().forward(x, mask=mask, maps=maps)


class NativeDecoderLayer(_Native, DecoderLayer):
    """A ``DecoderLayer`` (the same sub-modules and parameters, the same state dict) whose
    incremental steps in fp32 on the CPU without gradients run in ``layers.c``
    (``runs_natively``): results within fp32 rounding of the layer's own. The C code reads
    each fp32 weight in panels, a copy made at the first native step and made again when a
    parameter changes in place."""

    def __init__(self, layer: DecoderLayer) -> None:
        self.adopt(layer)

    def forward(
        self,
        x: Tensor,
        memory: KeyValue | None,
        *,
        memory_mask: Tensor | None,
        past: KeyValueBuffer | None = None,
        self_mask: Tensor | None = None,
        maps: AttentionMaps | None = None,
    ) -> tuple[Tensor, KeyValue | KeyValueBuffer]:
        """``DecoderLayer.forward``; natively where ``runs_natively`` and ``step_applies`` say
        so."""
        if self.runs_natively(x, maps) and step_applies(x, memory, memory_mask, past, self_mask):
            return self.native_step(x, memory, memory_mask=memory_mask, past=past,
                                    self_mask=self_mask)  # fmt: skip
        return super().forward(
            x, memory, memory_mask=memory_mask, past=past, self_mask=self_mask, maps=maps
        )

    def native_step(
        self,
        x: Tensor,
        memory: KeyValue,
        *,
        memory_mask: Tensor | None,
        past: KeyValueBuffer,
        self_mask: Tensor | None,
    ) -> tuple[Tensor, KeyValueBuffer]:
        """One step of the layer in one native call; the arguments as ``forward``'s, checked
        by ``step_applies``.

        Returns:
            (groups, width, d_model), and ``past`` grown by the rows' new entries.
        """
        groups, width, _ = x.shape
        out = x.contiguous().clone()
        key, value = memory.key.contiguous(), memory.value.contiguous()
        grown = past.grown(key, width)
        weights = self.kernel.of(self)
        status = native_library().decoder_layer_step(
            ctypes.byref(weights.layer), out.data_ptr(), groups, width,
            grown.buffer.data_ptr(), grown.buffer.size(3), past.length, _address(self_mask),
            key.data_ptr(), value.data_ptr(), key.size(2), _address(memory_mask),
            torch.get_num_threads(),
        )  # fmt: skip
        _raise_on(status)
        return out, grown


def step_applies(
    x: Tensor,
    memory: KeyValue | None,
    memory_mask: Tensor | None,
    past: KeyValueBuffer | None,
    self_mask: Tensor | None,
) -> bool:
    """Whether a decoder layer's call is a step that the native layer takes: cross-attention
    over fp32 keys; a self-attention cache of ``KeyValueBuffer``; a self-attention mask of one
    row per new position (none only for one new position per group) and a memory mask of one
    row per group, or none.

    Args:
        x: (groups, width, d_model), each group's new rows.
    """
    if memory is None or not isinstance(past, KeyValueBuffer):
        return False
    groups, width, _ = x.shape
    entries = past.length + width
    return (
        memory.key.dtype is torch.float32
        and (width == 1 if self_mask is None else _mask_of(self_mask, (groups, 1, width, entries)))
        and (memory_mask is None or _mask_of(memory_mask, (groups, 1, 1, memory.key.size(2))))
    )


def _mask_of(mask: Tensor, shape: tuple[int, ...]) -> bool:
    """Whether ``mask`` is a bool mask of ``shape`` (not one to broadcast)."""
    return mask.dtype is torch.bool and mask.shape == shape


def _address(mask: Tensor | None) -> int | None:
    """The address of a bool mask's contiguous bytes, or None for no mask."""
    return None if mask is None else mask.contiguous().data_ptr()


def _raise_on(status: int) -> None:
    if status:
        raise MemoryError("a native layer found no memory for its scratch space")


def _linears(layer: Layer) -> tuple[nn.Module | None, ...]:
    """The layer's linear layers in ``_LINEARS``' order; None for an encoder's
    cross-attention."""
    attn, ffn = layer.self_attn, layer.ffn
    cross = layer.cross_attn if _is_cross(layer) else None
    cross_linears = (None, None) if cross is None else (cross.q_proj, cross.out_proj)
    return attn.qkv_proj, attn.out_proj, *cross_linears, ffn.w_1, ffn.w_2


def _residuals(layer: Layer) -> tuple[nn.Module | None, ...]:
    """The layer's residual blocks in ``_NORMS``' order; None for an encoder's
    cross-attention."""
    cross = layer.cross_attn_residual if _is_cross(layer) else None
    return layer.self_attn_residual, cross, layer.ffn_residual


def _is_cross(layer: Layer) -> bool:
    return getattr(layer, "cross_attn", None) is not None


def _described(layer: Layer) -> _Described:
    """The C structure of ``layer``'s weights, with the tensors it points into."""
    kept: list[Tensor] = []

    def keep(tensor: Tensor) -> int:
        kept.append(tensor.detach().contiguous())
        return kept[-1].data_ptr()

    def linear(module: nn.Module | None) -> _Linear:
        if module is None:
            return _Linear()
        bias = module.bias
        bias = keep(torch.zeros(module.out_features) if bias is None else bias)
        shape = module.in_features, module.out_features
        if type(module) is NativeInt8Linear:
            int8 = module.packed, module.scales, module.compensation
            return _Linear(None, bias, *shape, *map(keep, int8))
        return _Linear(keep(_panels(module.weight.detach())), bias, *shape)

    def norm(residual: nn.Module | None) -> _Norm:
        if residual is None:
            return _Norm()
        return _Norm(keep(residual.norm.weight), keep(residual.norm.bias), residual.norm.eps)

    attn, ffn = layer.self_attn, layer.ffn
    described = _Layer(
        attn.head_dim * attn.n_heads, attn.n_heads, ffn.w_1.out_features,
        int(layer.self_attn_residual.pre_norm), int(ffn.activation is F.silu),
        *map(linear, _linears(layer)), *map(norm, _residuals(layer)),
    )  # fmt: skip
    return _Described(described, tuple(kept))


def _panels(weight: Tensor) -> Tensor:
    """An fp32 weight (out, in) as ``layers.c`` reads it: (ceil(out / PANEL), in, PANEL),
    panel p holding columns [PANEL * p, PANEL * (p + 1)) of the product, zeros past out."""
    out, in_ = weight.shape
    padded = weight.new_zeros(-(-out // PANEL) * PANEL, in_)
    padded[:out] = weight
    return padded.view(-1, PANEL, in_).transpose(1, 2)


def native_layer_supported(layer: nn.Module) -> bool:
    """Whether ``layer`` is one that ``layers.c`` can run: an encoder layer, or a decoder layer
    with cross-attention, of plain linear layers (no adapters) with fp32 weights or native
    int8 ones, layer norms with weights, and a ReLU or swish feed-forward network."""
    if type(layer) not in (EncoderLayer, DecoderLayer):
        return False
    if type(layer) is DecoderLayer and not _is_cross(layer):
        return False
    linears = [m for m in _linears(layer) if m is not None]
    residuals = [r for r in _residuals(layer) if r is not None]
    return (
        all(_linear_supported(m) for m in linears)
        and all(type(r.norm) is nn.LayerNorm and r.norm.weight is not None for r in residuals)
        and layer.ffn.activation in (F.relu, F.silu)
    )


def _linear_supported(module: nn.Module) -> bool:
    return type(module) is NativeInt8Linear or (
        type(module) is nn.Linear and module.weight.dtype is torch.float32
    )


def use_native_layers(model: nn.Module) -> nn.Module:
    """Replace, in place, every encoder and decoder layer of ``model`` that the native kernels
    support by a native one sharing its parameters, where the kernels could be built here;
    returns ``model``."""
    if native_library() is None:
        return model
    native = {EncoderLayer: NativeEncoderLayer, DecoderLayer: NativeDecoderLayer}
    return replace_children(
        model,
        lambda _, child: native[type(child)](child) if native_layer_supported(child) else None,
    )
