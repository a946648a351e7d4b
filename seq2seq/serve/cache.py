"""Recent translations kept in memory, so that a sentence asked again is not decoded again."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable

from seq2seq.inference.translator import Candidate


class TranslationCache:
    """The candidates of up to ``capacity`` sentences, the least recently used dropped first
    (0 keeps nothing). A key names all that decides the translation: the direction, the
    engine, the decoding options, the sentence and its constraints."""

    def __init__(
        self, capacity: int, *, on_lookup: Callable[[bool], None] = lambda hit: None
    ) -> None:
        """``on_lookup`` hears each lookup: True for a hit."""
        self.capacity = capacity
        self.on_lookup = on_lookup
        self.entries: OrderedDict[Hashable, list[Candidate]] = OrderedDict()

    def get(self, key: Hashable) -> list[Candidate] | None:
        if not self.capacity:
            return None
        found = self.entries.get(key)
        if found is not None:
            self.entries.move_to_end(key)
        self.on_lookup(found is not None)
        return found

    def put(self, key: Hashable, candidates: list[Candidate]) -> None:
        if not self.capacity:
            return
        self.entries[key] = candidates
        self.entries.move_to_end(key)
        if len(self.entries) > self.capacity:
            self.entries.popitem(last=False)
