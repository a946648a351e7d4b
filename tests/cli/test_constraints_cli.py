"""seq2seq-translate --constraints and --glossary: the phrases appear in every translation
that has room for them, on a test set built from the en-fa lexicon; the others get a warning
and a translation without them."""

from __future__ import annotations

import re
from pathlib import Path

from seq2seq.data.normalize import Normalizer
from seq2seq.data.readers import read_lines
from seq2seq.modeldir.format import load_model_dir
from tests.helpers import run_command, shared_en_fa

SENTENCES = 120


def lexicon_test_set(tmp_path: Path) -> tuple[list[str], dict[str, str]]:
    """Tatoeba test sentences that hold a one-word English gloss of the lexicon, and a
    glossary of those glosses (English word -> its Persian headword)."""
    root = shared_en_fa()
    glosses: dict[str, str] = {}
    for line in read_lines(root / "lexicon" / "wiktionary.fa-en.tsv", allow_tab=True):
        persian, english = line.split("\t")
        if re.fullmatch(r"[a-z]{4,}", english) and " " not in persian:
            glosses.setdefault(english, persian)
    sentences, glossary = [], {}
    for sentence in read_lines(root / "test" / "tatoeba-test.en"):
        words = [w for w in re.findall(r"[a-z]+", sentence.lower()) if w in glosses]
        if words and sentence not in sentences:
            sentences.append(sentence)
            glossary[words[0]] = glosses[words[0]]
        if len(sentences) == SENTENCES:
            break
    return sentences, glossary


def test_every_glossary_term_appears_where_there_is_room(model_dir: Path, tmp_path) -> None:
    sentences, glossary = lexicon_test_set(tmp_path)
    (tmp_path / "in.en").write_text("".join(f"{s}\n" for s in sentences), encoding="utf-8")
    (tmp_path / "glossary.tsv").write_text(
        "".join(f"{en}\t{fa}\n" for en, fa in glossary.items()), encoding="utf-8"
    )
    result = run_command("seq2seq-translate", "-m", str(model_dir), "-i", "in.en",
                         "--glossary", "glossary.tsv", "--beam", "4", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    outputs = result.stdout.splitlines()
    assert len(outputs) == len(sentences) == SENTENCES
    warned = {int(n) for n in re.findall(r"in\.en:(\d+): the constraints", result.stderr)}
    assert len(warned) < SENTENCES // 4  # most have room for their terms
    normalize = Normalizer(load_model_dir(model_dir).spec.tgt_normalization)
    checked = 0
    for number, (sentence, output) in enumerate(zip(sentences, outputs, strict=True), start=1):
        if number in warned:
            continue
        for english, persian in glossary.items():
            if re.search(rf"(?<!\w){english}(?!\w)", sentence, re.IGNORECASE):
                assert normalize(persian) in output, (sentence, persian, output)
                checked += 1
    assert checked >= len(sentences) - len(warned)


def test_constraints_file_and_impossible_ones(model_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "in.en").write_text("red book\ncat\n\ntree\n", encoding="utf-8")
    too_many = "\t".join(["کتاب", "گربه", "درخت", "خانه", "قرمز"] * 8)
    (tmp_path / "phrases.fa").write_text(f"کتاب\tقرمز\n{too_many}\n\n\n", encoding="utf-8")
    result = run_command("seq2seq-translate", "-m", str(model_dir), "-i", "in.en",
                         "--constraints", "phrases.fa", "--nbest", "2", "--beam", "3",
                         cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.split("\n")[:-1]
    assert len(lines) == 4 and lines[2] == "\t"
    best = lines[0].split("\t")[0]
    assert "کتاب" in best and "قرمز" in best
    assert result.stderr == (
        "warning: in.en:2: the constraints are longer than its translation may be: "
        "translated without them\n"
    )


def test_constraints_that_cannot_work_are_one_line(model_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "in.en").write_text("red book\ncat\n", encoding="utf-8")
    (tmp_path / "phrases.fa").write_text("کتاب\n", encoding="utf-8")
    (tmp_path / "bad.tsv").write_text("book\n", encoding="utf-8")
    base = ["seq2seq-translate", "-m", str(model_dir), "-i", "in.en"]
    short = run_command(*base, "--constraints", "phrases.fa", cwd=tmp_path)
    assert short.returncode == 1 and short.stderr == (
        "error: phrases.fa:2: ends here, before in.en: one line of constraints per input line\n"
    )
    bad = run_command(*base, "--glossary", "bad.tsv", cwd=tmp_path)
    assert bad.returncode == 1 and bad.stderr.startswith("error: bad.tsv:1: expected")
    sampled = run_command(*base, "--glossary", "bad.tsv", "--sample", cwd=tmp_path)
    assert sampled.returncode == 2 and "not with --sample" in sampled.stderr
