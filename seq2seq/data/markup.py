"""HTML whose text nodes are translated while everything else stays exactly as it was.

``parse_html`` finds the text nodes (entities decoded); ``HtmlText.render`` writes the document
again with new text in them (escaped). Tags with their attributes, end tags, comments, the
doctype, entities outside text nodes, and the content of ``script`` and ``style`` are copied
byte for byte from the input: the parser only tells where each construct starts.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from html.parser import HTMLParser

RAW_TEXT = frozenset({"script", "style"})
"""Elements whose content is code, not text."""


@dataclass(frozen=True)
class HtmlText:
    """A document cut at its text nodes.

    Attributes:
        texts: the text of each node that holds more than white space, entities decoded.
        pieces: the document as raw markup strings, with ``None`` where ``texts`` go.
    """

    texts: list[str]
    pieces: list[str | None]

    def render(self, translations: list[str]) -> str:
        """The document with ``translations[i]`` in place of ``texts[i]``."""
        if len(translations) != len(self.texts):
            raise ValueError(f"{len(translations)} translations for {len(self.texts)} texts")
        replacements = iter(translations)
        return "".join(
            html.escape(next(replacements), quote=False) if piece is None else piece
            for piece in self.pieces
        )


class _Starts(HTMLParser):
    """Records where each construct starts and whether it is translatable text."""

    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.line_starts = [0] + [i + 1 for i, c in enumerate(markup) if c == "\n"]
        self.events: list[tuple[int, str | None]] = []  # (offset, decoded text or None)
        self.in_raw_text = False

    def _offset(self) -> int:
        line, column = self.getpos()
        return self.line_starts[line - 1] + column

    def _markup(self) -> None:
        self.events.append((self._offset(), None))

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self._markup()
        self.in_raw_text = tag in RAW_TEXT  # the parser itself reads to its end tag

    def handle_endtag(self, tag: str) -> None:
        self._markup()
        self.in_raw_text = False

    def handle_data(self, data: str) -> None:
        text = None if self.in_raw_text else data
        if text is not None and self.events and self.events[-1][1] is not None:
            return  # the rest of one text node: it is cut at the same place
        self.events.append((self._offset(), text))

    def handle_startendtag(self, tag: str, attrs: list) -> None:
        self._markup()

    def handle_comment(self, data: str) -> None:
        self._markup()

    handle_decl = handle_pi = unknown_decl = handle_comment


def parse_html(markup: str) -> HtmlText:
    """Cut ``markup`` at its translatable text nodes."""
    parser = _Starts(markup)
    parser.feed(markup)
    parser.close()
    starts = [offset for offset, _ in parser.events] + [len(markup)]
    texts: list[str] = []
    pieces: list[str | None] = []
    for (start, text), end in zip(parser.events, starts[1:], strict=True):
        raw = markup[start:end]
        if text is None or not raw.strip():
            pieces.append(raw)
        else:
            texts.append(html.unescape(raw))
            pieces.append(None)
    return HtmlText(texts, pieces)
