"""The Lightning module learns: a tiny model overfits one batch to near-zero loss."""

from __future__ import annotations

import functools
from pathlib import Path

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch.testing import assert_close

from seq2seq.data.batching import Batch
from seq2seq.data.prepare import prepare
from seq2seq.data.tokenizer import TokenizerConfig
from seq2seq.inference.search.scorers import ModelScorer
from seq2seq.inference.search.stepwise import GREEDY, greedy_search
from seq2seq.model import Transformer, TransformerConfig
from seq2seq.training.datamodule import TranslationDataModule
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
        decoding=GREEDY,
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
    decoded = greedy_search(ModelScorer(module.net), batch.src)
    expected = [row[row.ne(0)][:-1].tolist() for row in batch.target]  # without pad and eos
    assert decoded == expected


def test_teacher_forced_loss_ignores_padding_like_torch_cross_entropy() -> None:
    torch.manual_seed(0)
    cfg = TransformerConfig(
        src_vocab_size=30, tgt_vocab_size=30, d_model=16, n_heads=2, encoder_layers=1,
        decoder_layers=1, ffn_dim=32, dropout=0.0,
    )  # fmt: skip
    module = TranslationModule(
        Transformer(cfg).eval(),
        loss=LabelSmoothedCrossEntropy(smoothing=0.1),
        optimizer=torch.optim.Adam,
        scheduler=None,
        decoding=GREEDY,
    )
    target = torch.tensor([[5, 6, 7, 3], [8, 3, 0, 0]])
    prev = torch.tensor([[2, 5, 6, 7], [2, 8, 0, 0]])
    batch = Batch(src=torch.tensor([[9, 10, 3], [11, 3, 0]]), prev_output=prev, target=target,
                  indices=torch.arange(2))  # fmt: skip
    loss, nll = module.teacher_forced_loss(batch)
    logits = module.net(batch.src, prev).flatten(0, 1)
    expected = F.cross_entropy(logits, target.flatten(), ignore_index=0, label_smoothing=0.1)
    assert_close(loss, expected)
    assert_close(nll, F.cross_entropy(logits, target.flatten(), ignore_index=0))
