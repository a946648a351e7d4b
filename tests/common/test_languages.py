"""A language given by its ISO 639-1 code or its FLORES-200 code finds the model's own code."""

from __future__ import annotations

import pytest

from seq2seq.common.languages import language_name, resolve

NLLB = ["eng_Latn", "pes_Arab", "prs_Arab", "zho_Hans", "zho_Hant"]
M2M100 = ["en", "fa", "zh"]


@pytest.mark.parametrize(
    ("given", "known", "found"),
    [
        ("eng_Latn", NLLB, "eng_Latn"),
        ("en", NLLB, "eng_Latn"),
        ("fa", NLLB, "pes_Arab"),  # Iranian Persian, not Dari
        ("prs_Arab", NLLB, "prs_Arab"),
        ("zh", NLLB, "zho_Hans"),
        ("fa", M2M100, "fa"),
        ("pes_Arab", M2M100, "fa"),
        ("zho_Hant", M2M100, None),  # not the variety "zh" names
        ("de", NLLB, None),
        ("deu_Latn", M2M100, None),
    ],
)
def test_a_code_or_its_alias_finds_the_model_s_code(given, known, found) -> None:
    assert resolve(given, known) == found


def test_names_follow_the_aliases() -> None:
    assert language_name("pes_Arab") == language_name("fa") == "Persian"
    assert language_name("eng_Latn") == "English" and language_name("de") == "German"


def test_every_code_of_nllb_has_a_name_and_scripts_tell_variants_apart() -> None:
    nllb = pytest.importorskip("transformers.models.nllb.tokenization_nllb")
    names = {code: language_name(code) for code in nllb.FAIRSEQ_LANGUAGE_CODES}
    assert all(name != code for code, name in names.items()), names
    assert names["ace_Arab"] == "Acehnese (Arabic)" != names["ace_Latn"]
    assert names["zho_Hant"] == "Chinese (Traditional)"


@pytest.mark.parametrize("code", ["xyz_Latn", "xx", "@@", ""])
def test_an_unknown_code_is_its_own_name(code: str) -> None:
    assert language_name(code) == code
