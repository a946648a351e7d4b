"""Heatmaps of attention probabilities with subword labels, Persian shown as a reader expects.

Matplotlib draws characters one by one, left to right, each in its isolated form. Persian and
Arabic text is therefore reshaped first (each letter to the joined form its neighbours ask
for, ``arabic_reshaper``) and then put in visual order (``python-bidi``, the Unicode
bidirectional algorithm: right-to-left runs reversed). DejaVu Sans, matplotlib's default font,
has the Arabic presentation forms that reshaping produces.
"""

from __future__ import annotations

import math
from pathlib import Path

import arabic_reshaper
from bidi.algorithm import get_display
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from torch import Tensor

from seq2seq.analysis.attention import SentenceAttention, sentence_attention
from seq2seq.modeldir.format import LoadedModel

CELL_INCHES = 0.32  # per token, so that labels stay readable on long sentences


def display_label(text: str) -> str:
    """``text`` as it must be drawn by a left-to-right renderer (unchanged if it has no RTL)."""
    return get_display(arabic_reshaper.reshape(text))


def _heatmap(ax: Axes, weights: Tensor, *, rows: list[str], cols: list[str], title: str) -> None:
    """weights (len(rows), len(cols)), probabilities in [0, 1]."""
    ax.imshow(weights.float().numpy(), cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(range(len(cols)), [display_label(c) for c in cols], rotation=90, fontsize=8)
    ax.set_yticks(range(len(rows)), [display_label(r) for r in rows], fontsize=8)
    ax.set_title(title, fontsize=9)


def _grid(panels: list[Tensor], titles: list[str], *, rows: list[str], cols: list[str],
          title: str) -> Figure:  # fmt: skip
    ncols = min(4, len(panels))
    nrows = math.ceil(len(panels) / ncols)
    width = ncols * (1.5 + CELL_INCHES * len(cols))
    height = nrows * (1.5 + CELL_INCHES * len(rows)) + 0.4
    figure = Figure(figsize=(width, height), layout="constrained")
    axes = figure.subplots(nrows, ncols, squeeze=False).flatten()
    for ax, weights, panel_title in zip(axes, panels, titles, strict=False):
        _heatmap(ax, weights, rows=rows, cols=cols, title=panel_title)
    for ax in axes[len(panels) :]:
        ax.set_axis_off()
    figure.suptitle(title, fontsize=10)
    return figure


def plot_heads(weights: Tensor, *, rows: list[str], cols: list[str], title: str) -> Figure:
    """One layer's heads side by side.

    Args:
        weights: (heads, len(rows), len(cols)): queries down, keys across.
        rows, cols: the query and key tokens.
    """
    panels = list(weights)
    titles = [f"head {h + 1}" for h in range(len(panels))]
    return _grid(panels, titles, rows=rows, cols=cols, title=title)


def plot_layers(layers: list[Tensor], *, rows: list[str], cols: list[str], title: str) -> Figure:
    """The head-averaged attention of every layer side by side.

    Args:
        layers: per layer, (heads, len(rows), len(cols)).
    """
    panels = [weights.mean(0) for weights in layers]
    titles = [f"layer {n + 1} (mean of heads)" for n in range(len(panels))]
    return _grid(panels, titles, rows=rows, cols=cols, title=title)


def save_png(figure: Figure, path: Path) -> Path:
    """Write ``figure`` as a PNG (parent folders created) and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png", dpi=100)
    return path


def cross_attention_figure(attention: SentenceAttention) -> Figure:
    """Every layer's head-averaged cross-attention, source across.

    Row t is the decoder position that predicts target token t + 1, and is labelled with that
    token (the last row with "</s>"), so that the picture reads as an alignment.
    """
    return plot_layers(
        attention.cross,
        rows=[*attention.tgt_tokens[1:], "</s>"],
        cols=attention.src_tokens,
        title="cross-attention: where each predicted target token (row) looks in the source",
    )


def save_attention_pngs(
    loaded: LoadedModel, sources: list[str], translations: list[str], folder: Path, *, first: int
) -> None:
    """One PNG per non-empty source line, ``folder/<line number>.png`` (numbered from
    ``first``): the cross-attention of the model over its translation of that line."""
    for number, (source, target) in enumerate(zip(sources, translations, strict=True), first):
        if source.strip():
            attention = sentence_attention(loaded, source, target)
            save_png(cross_attention_figure(attention), folder / f"{number:06d}.png")
