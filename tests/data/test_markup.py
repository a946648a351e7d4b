"""HTML: text nodes translated, every other byte of the document kept."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from seq2seq.data.markup import parse_html


def test_text_nodes_are_found_with_entities_decoded() -> None:
    document = parse_html('<p class="a">Fish &amp; chips <b>hot</b>!</p>')
    assert document.texts == ["Fish & chips ", "hot", "!"]
    assert document.render(["Poisson & frites ", "chaud", " !"]) == (
        '<p class="a">Poisson &amp; frites <b>chaud</b> !</p>'
    )


def test_tags_attributes_comments_scripts_and_styles_stay_as_they_were() -> None:
    markup = (
        "<!DOCTYPE html>\n<HTML><head><style>p > b { color: red }</style>"
        "<script>if (a < b && c) { go('x'); }</script></head>\n"
        "<BODY onload=\"f('y')\"><!-- a note --><P  ID=one data-x='1 &amp; 2'>Text</P >"
        '<img src=a.png alt="not translated"/><br>tail</BODY></HTML>'
    )
    document = parse_html(markup)
    assert document.texts == ["Text", "tail"]
    assert document.render(["TEXT", "TAIL"]) == markup.replace(">Text<", ">TEXT<").replace(
        ">tail<", ">TAIL<"
    )


def test_white_space_between_tags_is_not_translated() -> None:
    document = parse_html("<ul>\n  <li>one</li>\n  <li>two</li>\n</ul>")
    assert document.texts == ["one", "two"]


@given(st.lists(st.sampled_from(["<b>", "</b>", "<br/>", "text", " ", "&amp;", "<!-- c -->",
                                 "<a href='x'>", "</a>", "\n", "é"])))  # fmt: skip
def test_rendering_the_texts_unchanged_keeps_the_markup(pieces: list[str]) -> None:
    markup = "".join(pieces)
    document = parse_html(markup)
    assert document.render(document.texts) == markup
