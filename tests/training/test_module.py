"""The Lightning module learns: a tiny model overfits one batch to near-zero loss."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch.testing import assert_close

from seq2seq.data.batching import Batch
from seq2seq.data.datamodule import TranslationDataModule
from seq2seq.data.prepare import prepare
from seq2seq.data.tokenizer import TokenizerConfig
from seq2seq.inference.search import greedy_search
from seq2seq.model import Transformer, TransformerConfig
from seq2seq.training.loss import LabelSmoothedCrossEntropy
from seq2seq.training.module import TranslationModule
from tests.data.corpus import data_config, write_corpus


def test_tiny_model_overfits_one_batch(tmp_path: Path) -> None:
    report = prepare(
        data_config(write_corpus(tmp_path / "raw")),
        TokenizerConfig(vocab_size=500),
        output_root=tmp_path / "out",
        seed=1,
    )
    data = TranslationDataModule(report.output_dir, max_tokens=256, max_positions=64, seed=1)
    batch = next(iter(data.train_dataloader()))
    cfg = TransformerConfig(
        src_vocab_size=500, tgt_vocab_size=500, d_model=64, n_heads=4, encoder_layers=2,
        decoder_layers=2, ffn_dim=128, dropout=0.0, share_embeddings=True,
    )  # fmt: skip
    module = TranslationModule(
        Transformer(cfg),
        loss=LabelSmoothedCrossEntropy(smoothing=0.0),
        optimizer=functools.partial(torch.optim.Adam, lr=3e-3),
        scheduler=None,
        decoder=greedy_search,
    )
    trainer = pl.Trainer(
        max_steps=150, logger=False, enable_checkpointing=False, enable_progress_bar=False,
        enable_model_summary=False, accelerator="cpu",
    )  # fmt: skip
    trainer.fit(
        module, train_dataloaders=torch.utils.data.DataLoader([batch] * 150, batch_size=None)
    )
    module.net.eval()
    loss, _ = module.teacher_forced_loss(batch)
    assert loss.item() < 0.05
    decoded = greedy_search(module.net, batch.src)
    expected = [row[row.ne(0)][:-1].tolist() for row in batch.target]  # without pad and eos
    assert decoded == expected


def _small_module(*, dropout: float, rdrop_alpha: float) -> tuple[TranslationModule, Batch]:
    torch.manual_seed(0)
    cfg = TransformerConfig(
        src_vocab_size=30, tgt_vocab_size=30, d_model=16, n_heads=2, encoder_layers=1,
        decoder_layers=1, ffn_dim=32, dropout=dropout,
    )  # fmt: skip
    module = TranslationModule(
        Transformer(cfg),
        loss=LabelSmoothedCrossEntropy(smoothing=0.1),
        optimizer=torch.optim.Adam,
        scheduler=None,
        decoder=greedy_search,
        rdrop_alpha=rdrop_alpha,
    )
    target = torch.tensor([[5, 6, 7, 3], [8, 3, 0, 0]])
    prev = torch.tensor([[2, 5, 6, 7], [2, 8, 0, 0]])
    batch = Batch(src=torch.tensor([[9, 10, 3], [11, 3, 0]]), prev_output=prev, target=target,
                  indices=torch.arange(2))  # fmt: skip
    return module, batch


def test_teacher_forced_loss_ignores_padding_like_torch_cross_entropy() -> None:
    module, batch = _small_module(dropout=0.0, rdrop_alpha=0.0)
    module.net.eval()
    loss, nll = module.teacher_forced_loss(batch)
    logits = module.net(batch.src, batch.prev_output).flatten(0, 1)
    target = batch.target.flatten()
    expected = F.cross_entropy(logits, target, ignore_index=0, label_smoothing=0.1)
    assert_close(loss, expected)
    assert_close(nll, F.cross_entropy(logits, target, ignore_index=0))


def test_r_drop_without_dropout_is_the_usual_loss() -> None:
    module, batch = _small_module(dropout=0.0, rdrop_alpha=5.0)
    loss, nll, kl = module.rdrop_loss(batch)
    expected_loss, expected_nll = module.teacher_forced_loss(batch)
    assert_close(loss, expected_loss)
    assert_close(nll, expected_nll)
    assert kl.item() < 1e-6


def test_r_drop_passes_get_different_dropout_and_their_kl_is_trained_on() -> None:
    module, batch = _small_module(dropout=0.3, rdrop_alpha=5.0)
    loss, _, kl = module.rdrop_loss(batch)
    assert kl.item() > 1e-3  # the two copies of the batch were not given the same masks
    torch.manual_seed(1)
    with_kl = module.rdrop_loss(batch)[0]
    module.rdrop_alpha = 0.0
    torch.manual_seed(1)
    without_kl = module.rdrop_loss(batch)[0]
    assert with_kl.item() > without_kl.item()
    loss.backward()
    assert all(p.grad is not None for p in module.net.parameters() if p.requires_grad)


def test_a_negative_r_drop_weight_is_refused() -> None:
    with pytest.raises(ValueError, match="rdrop_alpha must be at least 0"):
        _small_module(dropout=0.0, rdrop_alpha=-1.0)
