"""HTML whose text is translated block by block while every tag stays exactly as it was.

``parse_html`` cuts a document into blocks: the text of a run of text nodes and the inline
elements between them (``<p>We bought the <b>three red</b> books.</p>`` is one block, "We bought
the three red books.", holding one ``b`` over "three red"), entities decoded. ``HtmlText.render``
writes the document again with new markup for each block; ``Block.render`` gives that markup
from a translation and where each inline element's text went in it (``seq2seq.data.inline``).

Tags with their attributes, end tags, comments, the doctype, entities outside text, and the
content of ``script`` and ``style`` are copied byte for byte from the input: the parser only
tells where each construct starts. Inline elements that do not nest properly within a run, and
void ones (``<br>``, ``<img>``), end the block instead.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser

RAW_TEXT = frozenset({"script", "style"})
"""Elements whose content is code, not text."""
INLINE = frozenset(
    {"a", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "del", "dfn", "em", "font", "i"}
    | {"ins", "kbd", "mark", "q", "s", "samp", "small", "span", "strong", "sub", "sup", "time"}
    | {"u", "var"}
)
"""Elements inside a sentence's text: their text is translated with the words around it."""


@dataclass(frozen=True)
class Inline:
    """An inline element of a block.

    Attributes:
        start_tag, end_tag: as written in the document.
        start, end: the characters of the block's text it holds.
        children: the inline elements inside it, in document order.
    """

    start_tag: str
    end_tag: str
    start: int
    end: int
    children: list[Inline] = field(default_factory=list)


Ranges = Callable[[Inline], tuple[int, int]]


@dataclass(frozen=True)
class Block:
    """Text to translate as a whole (entities decoded) and its inline elements."""

    text: str
    elements: list[Inline]

    def render(self, text: str, ranges: Ranges) -> str:
        """Markup of ``text`` with each element around ``ranges(element)`` of it (ranges
        nested as the elements are and disjoint among siblings), text escaped."""
        return _render(text, self.elements, 0, len(text), ranges)

    def unchanged(self) -> str:
        """The block's own markup: its text with each element where it was."""
        return self.render(self.text, lambda element: (element.start, element.end))


def _render(text: str, elements: list[Inline], low: int, high: int, ranges: Ranges) -> str:
    placed = sorted(((ranges(element), element) for element in elements), key=lambda p: p[0])
    parts, position = [], low
    for (start, end), element in placed:
        inner = _render(text, element.children, start, end, ranges)
        parts += [html.escape(text[position:start], quote=False), element.start_tag, inner]
        parts.append(element.end_tag)
        position = end
    parts.append(html.escape(text[position:high], quote=False))
    return "".join(parts)


@dataclass(frozen=True)
class HtmlText:
    """A document cut at its blocks.

    Attributes:
        blocks: each run of text and inline elements that holds more than white space.
        pieces: the document as raw markup strings, with ``None`` where ``blocks`` go.
    """

    blocks: list[Block]
    pieces: list[str | None]

    @property
    def texts(self) -> list[str]:
        return [block.text for block in self.blocks]

    def render(self, blocks: list[str]) -> str:
        """The document with the markup ``blocks[i]`` in place of block i."""
        if len(blocks) != len(self.blocks):
            raise ValueError(f"{len(blocks)} translations for {len(self.blocks)} blocks")
        replacements = iter(blocks)
        return "".join(next(replacements) if piece is None else piece for piece in self.pieces)


@dataclass(frozen=True)
class _Event:
    raw: str
    text: str | None = None  # decoded, for a text node
    opens: str | None = None  # the tag name of an inline start tag
    closes: str | None = None  # the tag name of an inline end tag


class _Starts(HTMLParser):
    """Records where each construct starts, and what it is."""

    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.line_starts = [0] + [i + 1 for i, c in enumerate(markup) if c == "\n"]
        self.events: list[tuple[int, dict]] = []  # (offset, _Event fields but raw)
        self.in_raw_text = False

    def _offset(self) -> int:
        line, column = self.getpos()
        return self.line_starts[line - 1] + column

    def _markup(self, **what: str) -> None:
        self.events.append((self._offset(), what))

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self._markup(**({"opens": tag} if tag in INLINE else {}))
        self.in_raw_text = tag in RAW_TEXT  # the parser itself reads to its end tag

    def handle_endtag(self, tag: str) -> None:
        self._markup(**({"closes": tag} if tag in INLINE else {}))
        self.in_raw_text = False

    def handle_data(self, data: str) -> None:
        if self.in_raw_text:
            self._markup()
        elif not (self.events and "text" in self.events[-1][1]):  # else: the same text node
            self._markup(text=data)

    def handle_startendtag(self, tag: str, attrs: list) -> None:
        self._markup()

    def handle_comment(self, data: str) -> None:
        self._markup()

    handle_decl = handle_pi = unknown_decl = handle_comment


def _events(markup: str) -> list[_Event]:
    parser = _Starts(markup)
    parser.feed(markup)
    parser.close()
    starts = [offset for offset, _ in parser.events] + [len(markup)]
    events = []
    for (start, what), end in zip(parser.events, starts[1:], strict=True):
        raw = markup[start:end]
        if "text" in what:
            what = {"text": html.unescape(raw)}
        events.append(_Event(raw, **what))
    return events


def parse_html(markup: str) -> HtmlText:
    """Cut ``markup`` at its blocks of text."""
    blocks: list[Block] = []
    pieces: list[str | None] = []
    run: list[_Event] = []
    for event in [*_events(markup), _Event("")]:
        if event.text is not None or event.opens or event.closes:
            run.append(event)
            continue
        for block, raw in _blocks(run):
            blocks += [block] if block is not None else []
            pieces.append(None if block is not None else raw)
        run = []
        pieces.append(event.raw)
    return HtmlText(blocks, [piece for piece in pieces if piece != ""])


def _blocks(run: list[_Event]) -> list[tuple[Block | None, str]]:
    """A run of text and inline tags as one block where its elements nest properly, else a
    block per text node; (None, raw) for markup and white space."""
    block = _nested(run)
    if block is not None:
        return [(block, "")] if block.text.strip() else [(None, "".join(e.raw for e in run))]
    return [
        (Block(event.text, []), "") if event.text and event.text.strip() else (None, event.raw)
        for event in run
    ]


def _nested(run: list[_Event]) -> Block | None:
    """The run as one block, or None where its inline tags do not nest."""
    text, top = "", Inline("", "", 0, 0)
    open_elements: list[tuple[str, _Event, int, list[Inline]]] = []
    children = top.children
    for event in run:
        if event.text is not None:
            text += event.text
        elif event.opens:
            open_elements.append((event.opens, event, len(text), children))
            children = []
        elif not open_elements or open_elements[-1][0] != event.closes:
            return None
        else:
            _, start_tag, start, outer = open_elements.pop()
            outer.append(Inline(start_tag.raw, event.raw, start, len(text), children))
            children = outer
    return Block(text, top.children) if not open_elements else None
