"""A glossary's source terms are found as whole words in any case; a bad line names itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from seq2seq.common.errors import DataError
from seq2seq.data.glossary import Glossary


def test_terms_are_whole_words_in_any_case_each_once() -> None:
    glossary = Glossary([("file", "پرونده"), ("Save", "ذخیره"), ("C++", "سی‌پلاس‌پلاس"),
                         ("save", "ذخیره"), ("open file", "گشودن")])  # fmt: skip
    assert glossary.targets("SAVE the File, then c++ it") == ["پرونده", "ذخیره", "سی‌پلاس‌پلاس"]
    assert glossary.targets("profile files") == []
    assert glossary.targets("open  file") == ["پرونده"]  # a phrase is matched as written


def test_a_line_that_is_not_two_fields_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "glossary.tsv"
    path.write_text("file\tپرونده\nsave\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"glossary.tsv:2: expected 'source term<TAB>target"):
        Glossary.read(path)
    path.write_text("file\tپرونده\n\tذخیره\n", encoding="utf-8")
    with pytest.raises(DataError, match="two non-empty fields"):
        Glossary.read(path)
