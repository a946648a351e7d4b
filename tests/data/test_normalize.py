"""Persian normalization on real sentences of the en-fa data, and its idempotence."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seq2seq.data.normalize import NormalizationConfig, Normalizer

PERSIAN = Normalizer(NormalizationConfig(persian=True, digits="persian"))
ENGLISH = Normalizer(NormalizationConfig())

# Real lines of shared/data/en-fa: Tatoeba (CC BY 2.0 FR, tatoeba.org contributors) and
# FLORES-200 dev (CC BY-SA 4.0, Meta AI), quoted to test the rules on the text they are for.
REAL = [
    # train/tatoeba.fa:824, Arabic yeh and kaf
    ("فقط براي اين چمدان به من كمك كند.", "فقط برای این چمدان به من کمک کند."),
    # test/tatoeba-test.fa:676, tatweel used for emphasis
    (
        "نصیحـت گوش کن جانا که از جان دوست‌تر دارند، جوانان سـعادتـمـند پـند پیر دانا را.",
        "نصیحت گوش کن جانا که از جان دوست‌تر دارند، جوانان سعادتمند پند پیر دانا را.",
    ),
    # dev/flores200-dev.fa:693, a zero-width non-joiner after a space
    ("گذرنامه‌تان را \u200cهمراه خود", "گذرنامه‌تان را همراه خود"),
]


@pytest.mark.parametrize(("raw", "expected"), REAL)
def test_real_persian_sentences(raw: str, expected: str) -> None:
    assert PERSIAN(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("علی\u200c\u200cرضا", "علی\u200cرضا"),  # one non-joiner, not two
        ("\u200cکتاب\u200c", "کتاب"),  # none at the ends
        ("کتاب\u200c ها", "کتاب ها"),  # none next to a space
        ("عدد ١٢٣ و ۴۵۶", "عدد ۱۲۳ و ۴۵۶"),  # Arabic-Indic digits become Persian
        ("ہمہ ە", "همه ه"),  # heh goal and ae become heh
        ("a\u00a0\u00a0b\u2003c ", "a b c"),  # every space is one ASCII space
        ("zero\u200bwidth\ufeff", "zerowidth"),  # invisible characters removed
    ],
)
def test_persian_rules(raw: str, expected: str) -> None:
    assert PERSIAN(raw) == expected


def test_latin_digits_option_and_nfc() -> None:
    latin = Normalizer(NormalizationConfig(persian=True, digits="latin"))
    assert latin("۱۲۳ ١٢٣") == "123 123"
    assert ENGLISH("Cafe\u0301") == "Café"  # e + combining acute -> one code point
    assert len(ENGLISH("Cafe\u0301")) == 4


def test_english_keeps_arabic_letters_alone() -> None:
    assert ENGLISH("كتاب") == "كتاب"


def test_bad_option_is_refused() -> None:
    with pytest.raises(ValueError, match="digits must be one of"):
        NormalizationConfig(digits="roman")


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=40))
def test_normalization_is_idempotent(text: str) -> None:
    for normalizer in (PERSIAN, ENGLISH):
        once = normalizer(text)
        assert normalizer(once) == once
