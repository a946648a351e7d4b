"""A lexical shortlist as CTranslate2's vocabulary map (``vmap.txt``), so that CTranslate2
decodes over the very target tokens that our search keeps.

The map is text, a line per rule: source piece, a tab, the target pieces it brings in. The line
whose source is empty lists the pieces always kept. CTranslate2 keeps unk, bos and eos, the
always-kept pieces and the pieces of every source token's line (``VocabularyMap`` in
``src/vocabulary_map.cc``), and normalizes over them alone: with our special and frequent pieces
on the empty line, its kept set is ``Shortlist.kept``'s for the same sources.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from seq2seq.common.special import SPECIAL_IDS
from seq2seq.modeldir.shortlist import Shortlist

VMAP = "vmap.txt"  # the name CTranslate2 reads in a model's folder


def vocabulary_map_lines(
    shortlist: Shortlist, *, src_pieces: Sequence[str], tgt_pieces: Sequence[str]
) -> Iterator[str]:
    """The lines of the vocabulary map (without line ends): first the always-kept pieces (the
    special ones and the frequent ones), then each source piece that has a list.
    ``src_pieces`` and ``tgt_pieces``: each vocabulary's pieces, in id order."""
    always = list(range(SPECIAL_IDS)) + shortlist.frequent.tolist()
    yield "\t" + " ".join(tgt_pieces[target] for target in always)
    for source, row in enumerate(shortlist.lists.tolist()):
        targets = " ".join(tgt_pieces[target] for target in row if target >= 0)
        if source >= SPECIAL_IDS and targets:
            yield f"{src_pieces[source]}\t{targets}"


def write_vocabulary_map(
    shortlist: Shortlist, folder: Path, *, src_pieces: Sequence[str], tgt_pieces: Sequence[str]
) -> Path:
    """Write ``folder/vmap.txt`` for ``shortlist``; return its path."""
    path = Path(folder) / VMAP
    lines = vocabulary_map_lines(shortlist, src_pieces=src_pieces, tgt_pieces=tgt_pieces)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def with_vocabulary_map(
    converted: Path, shortlist: Shortlist, *, src_pieces: Sequence[str], tgt_pieces: Sequence[str]
) -> tempfile.TemporaryDirectory:
    """A temporary folder that holds a link to each file of the CTranslate2 model
    ``converted`` and the vocabulary map of ``shortlist``: the cached conversion stays one
    per weights, whichever shortlist each user of it decodes with."""
    view = tempfile.TemporaryDirectory(prefix="seq2seq-vmap-")
    for file in Path(converted).iterdir():
        if file.name != VMAP:
            (Path(view.name) / file.name).symlink_to(file.resolve())
    write_vocabulary_map(shortlist, Path(view.name), src_pieces=src_pieces, tgt_pieces=tgt_pieces)
    return view
