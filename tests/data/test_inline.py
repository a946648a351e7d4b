"""Inline elements carried into a translation by word alignment: nested, adjacent, empty and
unaligned elements, tags byte for byte and properly nested."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from seq2seq.data.inline import target_ranges, word_spans
from seq2seq.data.markup import parse_html
from tests.helpers import ParsedHtml


def carried(markup: str, target: str, aligned: list[int | None]) -> str:
    """``markup``'s one block translated as ``target``, whose words are ``aligned``."""
    document = parse_html(markup)
    (block,) = document.blocks
    ranges = target_ranges(block, target, source_words=word_spans(block.text), aligned=aligned)
    return document.render([block.render(target, ranges)])


def test_an_element_holds_the_words_its_words_became() -> None:
    # We bought the three red books . -> ما سه کتاب قرمز خریدیم .
    out = carried("<p>We bought the <b>three red</b> books.</p>", "ما سه کتاب قرمز خریدیم.",
                  [0, 3, 5, 4, 1, 6])  # fmt: skip
    assert out == "<p>ما <b>سه کتاب قرمز</b> خریدیم.</p>"


def test_adjacent_elements_follow_their_words_into_the_new_order() -> None:
    out = carried("<p>the <b>red</b> <i class='n'>books</i>.</p>", "کتاب‌های قرمز.", [2, 1, 3])
    assert out == "<p><i class='n'>کتاب‌های</i> <b>قرمز</b>.</p>"


def test_nested_elements_stay_nested_and_a_full_stop_stays_outside() -> None:
    out = carried(
        '<p>We bought <a href="/x">the <b>three</b> red books</a>.</p>',
        "ما سه کتاب قرمز خریدیم.",
        [0, 3, 5, 4, 1, 6],
    )
    assert out == '<p>ما <a href="/x"><b>سه</b> کتاب قرمز</a> خریدیم.</p>'


def test_an_empty_or_unaligned_element_sits_before_the_next_words_translation() -> None:
    out = carried("<p>the <span id=e></span>cat <b>very</b> sat.</p>", "گربه نشست.",
                  [1, 3, 4])  # fmt: skip
    assert out == "<p><span id=e></span>گربه <b></b>نشست.</p>"


def test_text_is_escaped_and_tags_kept_byte_for_byte() -> None:
    out = carried("<p>Fish &amp; <B  CLASS=x>chips</B ></p>", "ماهی & سیب‌زمینی", [0, 1, 2])
    assert out == "<p>ماهی &amp; <B  CLASS=x>سیب‌زمینی</B ></p>"


SOURCE = "<p>one <b>two <i>three</i></b> <span class='s'></span>four <a href='y'>five</a>.</p>"


@given(st.lists(st.one_of(st.none(), st.integers(0, 5)), min_size=6, max_size=6))
def test_any_alignment_gives_the_translation_with_every_tag_once_properly_nested(
    aligned: list[int | None],
) -> None:
    target = "یک دو سه چهار پنج."
    parsed = ParsedHtml(carried(SOURCE, target, aligned))
    assert parsed.text == target
    assert parsed.nested and not parsed.open
    assert sorted(parsed.starts) == sorted(
        ["<p>", "<b>", "<i>", "<span class='s'>", "<a href='y'>"]
    )
