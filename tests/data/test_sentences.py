"""Sentence splitting: English abbreviations and decimals, Persian punctuation, no text lost."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from seq2seq.data.sentences import split_sentences


@pytest.mark.parametrize(
    "sentences",
    [
        ["It rained.", "We stayed in!", "Did you?", "Yes…"],
        ["Mr. Smith met Dr. Jones at 3.30 p.m. today."],
        ["See Fig. 3 and No. 5 of the U.S. list.", "Then stop."],
        ["It costs 3.14 dollars, e.g. a lot.", "He lives in the U.S.", "Now he works."],
        ["J. K. Rowling wrote it.", "Visit example.com now."],
        ['He said "Go home."', "Then he left."],
        ["It ended in 1999.", "The next one began."],
        ["سلام.", "حالت چطور است؟", "خوبم؛", "ممنون!"],
        ["قیمت ۳.۵ دلار است.", "خرید."],
    ],
)
def test_sentences_end_where_a_reader_sees_them_end(sentences: list[str]) -> None:
    assert split_sentences(" ".join(sentences)).sentences == sentences
    assert split_sentences("\n".join(sentences)).sentences == sentences


def test_white_space_and_paragraph_breaks_are_kept_between_translations() -> None:
    split = split_sentences("  One. Two?\n\n\tThree.\n")
    assert split.sentences == ["One.", "Two?", "Three."]
    assert split.join(["Un.", "Deux ?", "Trois."]) == "  Un. Deux ?\n\n\tTrois.\n"


def test_text_without_sentences() -> None:
    assert split_sentences(" \n ").sentences == []
    assert split_sentences(" \n ").join([]) == " \n "
    with pytest.raises(ValueError, match="1 translations for 0 sentences"):
        split_sentences("").join(["x"])


@given(st.text(alphabet=st.sampled_from('ab .?!؟؛\n\t"Mr')))
@example(". ?")  # a line that starts with a full stop
def test_joining_the_sentences_gives_the_text_back(text: str) -> None:
    split = split_sentences(text)
    assert split.join(split.sentences) == text
    assert all(s and s == s.strip() for s in split.sentences)
