"""HTML: text nodes translated, every other byte of the document kept."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from seq2seq.data.markup import parse_html


def test_a_block_is_its_text_with_inline_elements_over_their_characters() -> None:
    document = parse_html('<p class="a">Fish &amp; chips <b>hot <i>and</i></b> cold!</p>')
    (block,) = document.blocks
    assert block.text == "Fish & chips hot and cold!"
    (bold,) = block.elements
    assert (bold.start_tag, bold.end_tag, block.text[bold.start : bold.end]) == (
        "<b>", "</b>", "hot and",
    )  # fmt: skip
    (italic,) = bold.children
    assert block.text[italic.start : italic.end] == "and"
    assert document.render(["<u>new</u>"]) == '<p class="a"><u>new</u></p>'


def test_block_elements_breaks_and_badly_nested_tags_end_blocks() -> None:
    document = parse_html("<div>one<p>two <b>x<i>y</b>z</i></p>three<br>four</div>")
    assert document.texts == ["one", "two ", "x", "y", "z", "three", "four"]
    assert all(not block.elements for block in document.blocks)


def test_an_element_placed_in_a_translation_keeps_its_tags_byte_for_byte() -> None:
    (block,) = parse_html("<p>the <b class='x'>red</b><span id=e></span> books</p>").blocks
    places = {"<b class='x'>": (8, 11), "<span id=e>": (0, 0)}
    assert block.render("books & red", lambda e: places[e.start_tag]) == (
        "<span id=e></span>books &amp; <b class='x'>red</b>"
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
def test_rendering_the_blocks_unchanged_keeps_the_markup(pieces: list[str]) -> None:
    markup = "".join(pieces)
    document = parse_html(markup)
    assert document.render([block.unchanged() for block in document.blocks]) == markup
