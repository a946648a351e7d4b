"""Argos Translate packages: what argostranslate installs and LibreTranslate serves."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from seq2seq.common.errors import DataError
from seq2seq.export.formats import export_argos, export_ctranslate2
from seq2seq.model import Transformer
from seq2seq.modeldir.format import load_model_dir, save_model_dir
from tests.helpers import REPO, run_command

ctranslate2 = pytest.importorskip("ctranslate2")


def peer_python() -> Path:
    """argostranslate's Python, in LibreTranslate's own environment (../shared/PEERS.md),
    which bench/libretranslate_peer.py makes from PyPI where it is missing (minutes)."""
    path = REPO / "bench" / "libretranslate_peer.py"
    spec = importlib.util.spec_from_file_location("libretranslate_peer", path)
    peer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(peer)
    return peer.ensure_environment()


LINES = ["the red books are small.", "we bought three books.", "a cat sat on the mat"]


def test_a_package_holds_metadata_the_model_and_the_sentencepiece_model(
    model_dir: Path, tmp_path: Path
) -> None:
    package = export_argos(load_model_dir(model_dir), tmp_path)
    assert package == tmp_path / "translate-en_fa.argosmodel"
    with zipfile.ZipFile(package) as archive:
        names = set(archive.namelist())
        metadata = json.loads(archive.read("translate-en_fa/metadata.json"))
    assert {"translate-en_fa/model/model.bin", "translate-en_fa/sentencepiece.model"} <= names
    assert {n.split("/")[0] for n in names} == {"translate-en_fa"}
    assert metadata | {"package_version": "1.0"} == {
        "package_version": "1.0", "argos_version": "1.9.0", "type": "translate",
        "from_code": "en", "to_code": "fa", "from_name": "English", "to_name": "Persian",
        "package_name": "translate-en_fa", "description": "exported by seq2seq",
    }  # fmt: skip


def test_a_model_with_a_tokenizer_per_side_is_refused(model_dir: Path, tmp_path: Path) -> None:
    loaded = load_model_dir(model_dir)
    other = tmp_path / "target.spm"
    other.write_bytes(b"another model")
    spec = loaded.spec.__class__(**{**vars(loaded.spec), "tgt_tokenizer": other})
    with pytest.raises(DataError, match="one SentencePiece model for both sides"):
        export_argos(loaded.__class__(**{**vars(loaded), "spec": spec}), tmp_path / "out")


def long_model_dir(model_dir: Path, folder: Path) -> Path:
    """The test model with room for 300 positions: argostranslate decodes up to 256 tokens."""
    loaded = load_model_dir(model_dir)
    model = Transformer(replace(loaded.model.cfg, max_positions=300))
    model.load_state_dict(loaded.model.state_dict())
    return save_model_dir(folder, model.eval(), loaded.spec, {"made_by": "tests"})


@pytest.mark.slow
def test_argostranslate_installs_the_package_and_translates_as_our_export(
    model_dir: Path, tmp_path: Path
) -> None:
    loaded = load_model_dir(long_model_dir(model_dir, tmp_path / "model"))
    package = export_argos(loaded, tmp_path / "package")
    ours = ctranslate2.Translator(str(export_ctranslate2(loaded, tmp_path / "ct2")))
    found = ours.translate_batch(  # argostranslate's settings: beam 4, its length penalty
        [loaded.src_tokenizer.pieces(ids) for ids in loaded.src_tokenizer.encode(LINES)],
        beam_size=4, length_penalty=0.2, replace_unknowns=True,
    )  # fmt: skip
    expected = loaded.tgt_tokenizer.decode_pieces([r.hypotheses[0] for r in found])
    script = (
        "import sys, argostranslate.package as p, argostranslate.translate as t\n"
        "import argostranslate.sbd as s\n"
        "s.MiniSBDSentencizer.split_sentences = lambda self, text: [text]  # offline\n"
        "p.install_from_path(sys.argv[1])\n"
        "for line in sys.argv[2:]: print(t.translate(line, 'en', 'fa'))\n"
    )
    home = {
        "HOME": str(tmp_path),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_CACHE_HOME": str(tmp_path / "c"),
    }
    result = subprocess.run(
        [str(peer_python()), "-c", script, str(package), *LINES], capture_output=True, text=True,
        env={**os.environ, **home}, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.splitlines() == expected


def test_the_cli_writes_the_package_and_leaves_checks_to_the_ctranslate2_export(
    model_dir: Path, tmp_path: Path
) -> None:
    written = run_command("seq2seq-export", "-m", str(model_dir), "--to", "argos", "-o", "out",
                          cwd=tmp_path)  # fmt: skip
    assert written.returncode == 0, written.stderr
    assert written.stdout.strip().endswith("out/translate-en_fa.argosmodel (argos)")
    assert zipfile.is_zipfile(tmp_path / "out" / "translate-en_fa.argosmodel")
    (tmp_path / "lines.en").write_text("a cat\n", encoding="utf-8")
    checked = run_command("seq2seq-export", "-m", str(model_dir), "--to", "argos", "-o", "other",
                          "--check", "lines.en", cwd=tmp_path)  # fmt: skip
    assert checked.returncode == 2 and "--check compares huggingface and ctranslate2" in (
        checked.stderr
    )
