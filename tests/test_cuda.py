"""On a CUDA GPU: decoding gives what it gives on the CPU, training runs in bf16 and its model
decodes on the CPU. Skipped on machines without one (CI); run where a GPU is."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from seq2seq.inference.options import DecodingOptions, Sampling
from seq2seq.inference.translator import Translator
from seq2seq.modeldir.format import load_model_dir
from tests.cli.test_train_cli import SMALL_DEMO, train
from tests.helpers import run_command

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")

LINES = ["red book", "", "the big green house is old", "cat", "small tree new city red"] * 4


def test_search_on_the_gpu_equals_the_cpu(model_dir: Path) -> None:
    cpu = Translator.load(model_dir)
    gpu = Translator.load(model_dir, device="cuda")
    assert next(gpu.model.parameters()).is_cuda
    assert gpu.translate(LINES, options=DecodingOptions(beam_size=1)) == cpu.translate(
        LINES, options=DecodingOptions(beam_size=1)
    )
    on_cpu = cpu.translate_nbest(
        LINES, options=DecodingOptions(beam_size=4, nbest=2, max_batch_tokens=64)
    )
    on_gpu = gpu.translate_nbest(
        LINES, options=DecodingOptions(beam_size=4, nbest=2, max_batch_tokens=64)
    )
    assert [[c.text for c in row] for row in on_gpu] == [[c.text for c in row] for row in on_cpu]
    gpu_scores = [c.score for row in on_gpu for c in row]
    assert gpu_scores == pytest.approx([c.score for row in on_cpu for c in row], abs=1e-4)


def test_seeded_sampling_and_bf16_on_the_gpu(model_dir: Path) -> None:
    gpu = Translator.load(model_dir, device="cuda")
    draw = Sampling(top_k=5, seed=3)
    first = gpu.translate_nbest(LINES, options=DecodingOptions(sampling=draw))
    assert first == gpu.translate_nbest(LINES, options=DecodingOptions(sampling=draw))
    bf16 = Translator.load(model_dir, precision="bf16", device="cuda").translate(LINES)
    assert len(bf16) == len(LINES) and bf16[1] == ""
    with pytest.raises(ValueError, match="CPU only"):
        Translator.load(model_dir, precision="int8", device="cuda")


def test_translate_cli_on_the_gpu(model_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "in.en").write_text("red book\n\nthe three cats\n", encoding="utf-8")
    common = ["-m", str(model_dir), "-i", "in.en", "--beam", "3"]
    result = run_command("seq2seq-translate", *common, "-o", "cpu.fa", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    result = run_command(
        "seq2seq-translate", *common, "-o", "gpu.fa", "--device", "cuda",
        "--attention-out", "att", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "gpu.fa").read_text() == (tmp_path / "cpu.fa").read_text()
    assert sorted(p.name for p in (tmp_path / "att").iterdir()) == ["000001.png", "000003.png"]
    result = run_command("seq2seq-translate", *common, "--device", "cuda", "--precision", "int8",
                         cwd=tmp_path)  # fmt: skip
    assert result.returncode == 2 and "CPU only" in result.stderr.splitlines()[-1]


def test_training_on_the_gpu_in_bf16_gives_a_model_that_decodes_on_the_cpu(
    tmp_path: Path,
) -> None:
    precision = [a for a in SMALL_DEMO if a.startswith("trainer.precision")]
    demo = [a for a in SMALL_DEMO if a not in precision]
    result = train(
        tmp_path, *demo, "trainer=gpu", "trainer.precision=auto", "trainer.max_steps=30",
        "trainer.val_check_interval=30", "test_after_training=false",
    )  # fmt: skip
    assert "precision: bf16-mixed\n" in result.stdout
    loaded = load_model_dir(tmp_path / "run" / "model")
    assert loaded.metadata["global_step"] == 30
    assert all(not p.is_cuda for p in loaded.model.parameters())
    out = Translator(loaded).translate(["the red book", ""], options=DecodingOptions(beam_size=2))
    assert len(out) == 2 and out[0] and out[1] == ""
