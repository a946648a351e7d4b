"""What a server is started with: limits, batching, access, decoding options, glossary, cache."""

from __future__ import annotations

from dataclasses import dataclass, field

from seq2seq.data.glossary import Glossary
from seq2seq.inference.options import DecodingOptions
from seq2seq.serve.batching import BatchingSettings
from seq2seq.serve.limits import RequestLimits


@dataclass(frozen=True)
class ServerSettings:
    """Attributes:
    limits: the size of one request.
    batching: how requests are gathered into decoding batches.
    requests_per_minute: per client address without API keys, 0 for no limit.
    api_keys: key -> requests per minute (0: no limit); None lets anyone in.
    options: how both APIs decode: LibreTranslate's ``alternatives`` raise nbest; a native
        request may choose its search but not raise the length limits (``request_options``).
        Its ``max_batch_tokens`` is also the budget of a batch gathered across requests.
    glossary: terms both APIs keep, under the terms a request gives (``glossary_of``).
    cache_size: sentences whose translations are kept for the next request that asks them
        (0: none).
    """

    limits: RequestLimits = field(default_factory=RequestLimits)
    batching: BatchingSettings = field(default_factory=BatchingSettings)
    requests_per_minute: int = 0
    api_keys: dict[str, int] | None = None
    options: DecodingOptions = field(default_factory=DecodingOptions)
    glossary: Glossary = field(default_factory=lambda: Glossary([]))
    cache_size: int = 0
