"""Heatmaps render to PNG, and Persian labels are drawn joined and right-to-left."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import torch

from seq2seq.analysis.plot import display_label, plot_heads, plot_layers, save_png

PERSIAN = ["▁سه", "▁کتاب", "▁قرمز", "</s>"]
ENGLISH = ["▁the", "▁three", "▁red", "▁books", "</s>"]


def presentation_form(char: str) -> bool:
    """A contextual glyph (initial, medial, final, isolated) of Arabic Presentation Forms."""
    return 0xFB50 <= ord(char) <= 0xFDFF or 0xFE70 <= ord(char) <= 0xFEFF


def test_persian_labels_are_reshaped_into_joined_forms_in_visual_order() -> None:
    shown = display_label("کتاب")
    assert shown != "کتاب" and all(presentation_form(c) for c in shown)
    # Visual order, last letter first; alef does not join to the next letter, so beh stands
    # alone and alef takes its final form after the medial teh.
    assert [unicodedata.name(c).removeprefix("ARABIC LETTER ") for c in shown] == [
        "BEH ISOLATED FORM", "ALEF FINAL FORM", "TEH MEDIAL FORM", "KEHEH INITIAL FORM",
    ]  # fmt: skip


def test_latin_labels_are_left_alone() -> None:
    assert [display_label(t) for t in ENGLISH] == ENGLISH


def test_heatmap_with_persian_labels_renders_to_png(tmp_path: Path) -> None:
    weights = torch.softmax(torch.randn(4, len(PERSIAN), len(ENGLISH)), dim=-1)
    figure = plot_heads(weights, rows=PERSIAN, cols=ENGLISH, title="layer 1 cross-attention")
    path = save_png(figure, tmp_path / "out" / "heads.png")
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 10_000
    drawn = [label.get_text() for label in figure.axes[0].get_yticklabels()]
    assert drawn == [display_label(t) for t in PERSIAN] and drawn != PERSIAN
    assert [label.get_text() for label in figure.axes[0].get_xticklabels()] == ENGLISH
    assert len(figure.axes) == 4 and figure.axes[3].get_title() == "head 4"


def test_layer_panels_show_the_mean_over_heads() -> None:
    layers = [torch.softmax(torch.randn(4, 3, 5), dim=-1) for _ in range(2)]
    figure = plot_layers(layers, rows=PERSIAN[:3], cols=ENGLISH, title="cross-attention")
    shown = figure.axes[1].get_images()[0].get_array()
    assert torch.allclose(torch.as_tensor(shown.data), layers[1].mean(0))
