"""A model directory is read safely: weights only through safetensors, one-line errors."""

from __future__ import annotations

import pickle
import shutil
import stat
from pathlib import Path

import pytest
from omegaconf import OmegaConf

import seq2seq.modeldir.format as model_dir_module
from seq2seq.common.errors import DataError
from seq2seq.modeldir.format import load_model_dir
from tests.helpers import Payload, run_command


@pytest.fixture
def copy(model_dir: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(model_dir, tmp_path / "model"))


def contents(path: Path) -> list[tuple[Path, bytes | None]]:
    """Every path at or under ``path``, with the bytes of each file."""
    return sorted((p, p.read_bytes() if p.is_file() else None) for p in [path, *path.rglob("*")])


def edit_config(directory: Path, change) -> None:
    config = OmegaConf.load(directory / "config.yaml")
    change(config)
    OmegaConf.save(config, directory / "config.yaml")


def test_a_pickle_in_place_of_the_weights_is_refused_and_never_run(copy: Path) -> None:
    marker = copy.parent / "payload-ran"
    (copy / "model.safetensors").write_bytes(pickle.dumps(Payload(marker)))
    with pytest.raises(DataError, match=r"model\.safetensors: not a valid safetensors file"):
        load_model_dir(copy)
    assert not marker.exists()


def test_a_pickle_beside_the_weights_is_never_read(copy: Path) -> None:
    marker = copy.parent / "payload-ran"
    (copy / "pytorch_model.bin").write_bytes(pickle.dumps(Payload(marker)))
    load_model_dir(copy)
    assert not marker.exists()


def test_a_directory_with_keys_that_earlier_versions_wrote_still_loads(copy: Path) -> None:
    before = load_model_dir(copy).model.cfg
    edit_config(copy, lambda c: c.model.update(pad_id=0, word_dropout=0.1))
    assert load_model_dir(copy).model.cfg == before
    edit_config(copy, lambda c: c.model.update(pad_id=1))
    with pytest.raises(DataError, match=r"config\.yaml: incomplete or invalid: pad_id must be 0"):
        load_model_dir(copy)


def grow_vocabulary(config) -> None:
    """One more word on both sides (the vocabulary is joint)."""
    size = config.model.src_vocab_size + 1
    config.model.update(src_vocab_size=size, tgt_vocab_size=size)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: shutil.rmtree(d), "model directory not found"),
        (lambda d: (d / "config.yaml").unlink(), r"config\.yaml: file not found"),
        (lambda d: (d / "model.safetensors").unlink(), r"model\.safetensors: file not found"),
        (lambda d: (d / "spm.model").unlink(), r"spm\.model: file not found"),
        (lambda d: (d / "config.yaml").write_text("model: [unclosed\n"), "not valid YAML"),
        (lambda d: (d / "model.safetensors").write_bytes(b"\x00" * 100), "not a valid safetensors"),
        (
            lambda d: (d / "model.safetensors").write_bytes(
                (d / "model.safetensors").read_bytes()[:5000]
            ),
            "not a valid safetensors file",
        ),
        (
            lambda d: edit_config(d, lambda c: c.model.update(rotary=True)),
            "unknown key model.rotary",
        ),
        (lambda d: edit_config(d, lambda c: c.update(adapters=[])), "unknown key adapters"),
        (
            lambda d: edit_config(d, lambda c: c.update(format_version=2)),
            "format version 2 is newer",
        ),
        (
            lambda d: edit_config(d, grow_vocabulary),
            r"the tokenizer has \d+ pieces but the weights expect",
        ),
        (
            lambda d: edit_config(d, lambda c: c.model.update(ffn_dim=48)),
            r"weights do not fit config\.yaml",
        ),
    ],
    ids=["no-folder", "no-config", "no-weights", "no-tokenizer", "bad-yaml", "zeros", "torn",
         "unknown-model-key", "unknown-key", "newer-format", "vocabulary", "shapes"],
)  # fmt: skip
def test_a_damaged_model_directory_is_one_clear_error(copy: Path, damage, message) -> None:
    damage(copy)
    with pytest.raises(DataError, match=message):
        load_model_dir(copy)


def test_the_cli_says_it_in_one_line(copy: Path) -> None:
    (copy / "model.safetensors").write_bytes(b"\x00" * 100)
    result = run_command("seq2seq-translate", "-m", str(copy), cwd=copy.parent)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and "model.safetensors" in result.stderr


def test_a_failed_export_leaves_the_previous_directory_whole(copy: Path, monkeypatch) -> None:
    before = {p.name: p.read_bytes() for p in copy.iterdir()}
    loaded = load_model_dir(copy)

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(model_dir_module, "save_model", disk_full)
    with pytest.raises(OSError, match="No space left"):
        model_dir_module.save_model_dir(copy, loaded.model, loaded.spec, {"made_by": "tests"})
    assert {p.name: p.read_bytes() for p in copy.iterdir()} == before
    assert sorted(p.name for p in copy.parent.iterdir()) == ["model"]  # no staging folder left


@pytest.mark.parametrize("kind", ["a folder of other files", "a file"])
def test_saving_over_what_is_not_a_model_directory_is_refused(copy: Path, kind: str) -> None:
    loaded = load_model_dir(copy)
    target = copy.parent / "target"
    if kind == "a file":
        target.write_text("notes\n", encoding="utf-8")
    else:
        (target / "checkpoints").mkdir(parents=True)
        (target / "checkpoints" / "step-000500.ckpt").write_bytes(b"weights")
    before = contents(target)
    with pytest.raises(DataError, match="is neither a model directory"):
        model_dir_module.save_model_dir(target, loaded.model, loaded.spec, {})
    assert contents(target) == before


def test_an_empty_folder_becomes_a_model_directory(copy: Path) -> None:
    loaded = load_model_dir(copy)
    (copy.parent / "empty").mkdir()
    model_dir_module.save_model_dir(copy.parent / "empty", loaded.model, loaded.spec, {})
    assert load_model_dir(copy.parent / "empty").spec.tgt_lang == loaded.spec.tgt_lang


@pytest.mark.usefixtures("usual_umask")
def test_every_file_of_a_model_directory_is_readable_by_others(copy: Path) -> None:
    loaded = load_model_dir(copy)
    model_dir_module.save_model_dir(copy, loaded.model, loaded.spec, {"made_by": "tests"})
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in copy.iterdir()}
    assert modes == dict.fromkeys(modes, 0o644)  # safetensors alone would write 0o600
