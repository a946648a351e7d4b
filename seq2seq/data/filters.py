"""Cleaning filters for training pairs, each switchable and each counted.

Text filters run on normalized text before the tokenizer is trained; length filters run on
subword tokens after it. A dropped pair is counted once, under the first filter that drops it.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass

from seq2seq.common.errors import ConfigError

SCRIPTS = {
    "latin": re.compile(r"[A-Za-z\u00c0-\u024f]"),
    "arabic": re.compile(r"[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]"),
    "cyrillic": re.compile(r"[\u0400-\u04ff]"),
}


@dataclass(frozen=True)
class FilterConfig:
    """Which training pairs to drop.

    Attributes:
        max_tokens: drop a pair with more subword tokens than this on either side (None: off).
        max_ratio: drop a pair whose longer side has more than this many times the tokens of
            the shorter side (None: off).
        ratio_min_tokens: the ratio filter ignores pairs whose longer side has fewer tokens
            (short pairs legitimately differ a lot: "Hi." / "سلام").
        dedup: drop exact duplicate pairs after normalization (the first is kept).
        decontaminate: drop pairs with a side equal to a sentence of a dev or test set
            (normalized), including the parts held out of training corpora.
        drop_identical: drop pairs whose two sides are the same text (untranslated copies).
        src_script, tgt_script: a side must contain at least one letter of this script
            ("latin", "arabic", "cyrillic"; None: off).
    """

    max_tokens: int | None = 250
    max_ratio: float | None = 3.0
    ratio_min_tokens: int = 10
    dedup: bool = True
    decontaminate: bool = True
    drop_identical: bool = True
    src_script: str | None = None
    tgt_script: str | None = None

    def __post_init__(self) -> None:
        for script in (self.src_script, self.tgt_script):
            if script is not None and script not in SCRIPTS:
                raise ConfigError(f"unknown script {script!r}; choose one of {sorted(SCRIPTS)}")


class PairFilter:
    """Applies a FilterConfig and counts what each filter dropped (``dropped``).

    ``evaluation`` holds the normalized sentences of the dev and test sets, for
    ``decontaminate``.
    """

    def __init__(self, config: FilterConfig, *, evaluation: frozenset[str] = frozenset()) -> None:
        self.config = config
        self.evaluation = evaluation if config.decontaminate else frozenset()
        self.dropped: Counter[str] = Counter()
        self._seen: set[bytes] = set()

    def _reason_text(self, src: str, tgt: str) -> str | None:
        cfg = self.config
        if not src or not tgt:
            return "empty"
        if cfg.drop_identical and src == tgt:
            return "identical sides"
        if cfg.src_script and not SCRIPTS[cfg.src_script].search(src):
            return f"source not {cfg.src_script} script"
        if cfg.tgt_script and not SCRIPTS[cfg.tgt_script].search(tgt):
            return f"target not {cfg.tgt_script} script"
        if src in self.evaluation or tgt in self.evaluation:
            return "in a dev or test set"
        if cfg.dedup:
            digest = hashlib.blake2b(f"{src}\t{tgt}".encode(), digest_size=8).digest()
            if digest in self._seen:
                return "duplicate"
            self._seen.add(digest)
        return None

    def _reason_length(self, src_len: int, tgt_len: int) -> str | None:
        cfg = self.config
        if cfg.max_tokens is not None and max(src_len, tgt_len) > cfg.max_tokens:
            return "too long"
        longer, shorter = max(src_len, tgt_len), max(1, min(src_len, tgt_len))
        checked = cfg.max_ratio is not None and longer >= cfg.ratio_min_tokens
        return "length ratio" if checked and longer / shorter > cfg.max_ratio else None

    def keep_text(self, src: str, tgt: str) -> bool:
        """Whether a normalized pair passes the text filters; counts it if not."""
        return self._count(self._reason_text(src, tgt))

    def keep_lengths(self, src_len: int, tgt_len: int) -> bool:
        """Whether a pair of these token lengths passes the length filters; counts it if not."""
        return self._count(self._reason_length(src_len, tgt_len))

    def _count(self, reason: str | None) -> bool:
        if reason is not None:
            self.dropped[reason] += 1
        return reason is None
