"""The numeric modes a model decodes in, and how a model is prepared for each."""

from __future__ import annotations

import warnings

import torch
from torch import nn

from seq2seq.inference.runtime.native.attention import use_native_attention
from seq2seq.inference.runtime.native.int8 import native_int8_available, use_native_int8
from seq2seq.inference.runtime.native.layer import use_native_layers
from seq2seq.inference.runtime.packed import pack_linear_layers, packing_library
from seq2seq.model import Model

PRECISIONS = ("fp32", "bf16", "int8")


def prepare_for_decoding(
    model: Model,
    *,
    precision: str,
    device: torch.device | str = "cpu",
    pack_weights: bool = True,
) -> Model:
    """Put ``model`` (in eval mode, in place) on ``device``, in the form that decodes fastest
    in ``precision`` there.

    - "fp32": on a CPU where a C compiler built the native kernels, encoder and decoder
      layers run their calls in one native call (``native.layer``; a small model's at any
      size, a larger one's over few rows: one sentence's source, or its beams at a step), and
      the other layers' attention at decoding steps in one native call over every sentence
      (``native.attention``), results within fp32 rounding; on x86 linear
      layers keep their weights packed for the matrix-product library fastest there: the
      decoder's for MKL on Intel CPUs (same results), all of them for oneDNN on others
      (results within fp32 rounding); unchanged on a GPU, with ``pack_weights=False`` (no
      second copy of the weights in memory), or where this PyTorch build lacks the packing
      operators;
    - "bf16": unchanged; the search runs under autocast (fast on GPUs and CPUs with AMX);
    - "int8": every linear layer in int8, natively on CPUs with AVX-512 VNNI (weights per
      output, inputs per row: ``native.int8``; the encoder and decoder layers then each in
      one native call, ``native.layer``), else by PyTorch's dynamic quantization
      (activations quantized on the fly) with attention as in fp32; CPU only.

    Returns:
        ``model`` itself, changed in place.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    on_cpu = torch.device(device).type == "cpu"
    if precision == "int8" and not on_cpu:
        raise ValueError(f"int8 decoding runs on the CPU only, not on {device}")
    model.eval().to(device)
    if precision == "fp32" and on_cpu and pack_weights:
        _fast_fp32(model)
    elif precision == "int8":
        _int8(model)
    return model


def _fast_fp32(model: Model) -> None:
    """fp32 on a CPU: native layers and attention, packed weights."""
    use_native_attention(use_native_layers(model))
    library = packing_library()
    if library is not None:  # MKL's layout is per row count: not worth it for the encoder
        pack_linear_layers(model.decoder if library == "mkl" else model, library=library)


def _int8(model: Model) -> None:
    """int8 linear layers (native or PyTorch's), native attention; with native int8
    products, native layers."""
    if native_int8_available():
        use_native_layers(use_native_int8(model))
    else:
        with warnings.catch_warnings():  # torch.ao announces its move to torchao
            warnings.simplefilter("ignore")
            torch.ao.quantization.quantize_dynamic(
                model, {nn.Linear}, dtype=torch.qint8, inplace=True
            )
    use_native_attention(model)
