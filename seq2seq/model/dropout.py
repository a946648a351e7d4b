"""Dropout (Srivastava et al. 2014) with a cheaper random mask on CPU."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

_LANES = 4  # 16-bit random numbers per 64-bit draw


def keep_mask(shape: torch.Size, p: float, *, device: torch.device) -> Tensor:
    """A bool mask of ``shape``, each element True with probability 1 - p.

    Each element takes 16 random bits (four per 64-bit draw of the generator) and is kept when
    they are at least p * 2^16: p is rounded to a multiple of 2^-16 (0.1 becomes 0.100006).
    A float32 uniform draw per element, as ``torch.rand`` makes, costs over four times as much
    on CPU: ~6.6 ms against ~1.4 ms for 2M elements on 2 cores.
    """
    numel = shape.numel()
    words = torch.empty(-(-numel // _LANES), dtype=torch.int64, device=device)
    words.random_(-(2**63), None)  # the whole 64-bit range: every lane is uniform
    lanes = words.view(torch.int16)[:numel].view(shape)
    return lanes.ge(round(p * 2**16) - 2**15)


def dropout(x: Tensor, p: float, training: bool) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by 1 / (1 - p).

    Same distribution as ``F.dropout`` (up to ``p``'s rounding in ``keep_mask``). On CPU
    ``F.dropout`` draws its mask with a Bernoulli sampler, and dropout runs 5 times per layer:
    this forward+backward takes ~4.8 ms instead of ~14 ms on a (1024, 2048) activation on
    2 cores. Elsewhere (CUDA's fused kernel) it defers to ``F.dropout``.

    Args:
        x: any shape.
        p: drop probability in [0, 1).
        training: apply only when True; identity otherwise.
    """
    if not training or p == 0.0:
        return x
    if x.device.type != "cpu":
        return F.dropout(x, p, training)
    keep = keep_mask(x.shape, p, device=x.device).to(x.dtype).mul_(1.0 / (1.0 - p))
    return x * keep
