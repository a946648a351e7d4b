"""seq2seq-serve -m MODEL_DIR [-m MODEL_DIR ...]: serve translation over HTTP (LibreTranslate's
API, a native API and a web page)."""

from __future__ import annotations

import argparse
import socket
import sys
from pathlib import Path

import torch

from seq2seq.cli.common import (
    add_decoding_arguments,
    decoding_options,
    load_translator,
    positive,
    require_model_dir,
    user_errors,
)
from seq2seq.cli.engine import add_engine_argument, start_engine
from seq2seq.common.errors import ConfigError
from seq2seq.data.glossary import Glossary
from seq2seq.inference.translator import Translator
from seq2seq.modeldir.format import read_spec
from seq2seq.serve.batching import BatchingSettings
from seq2seq.serve.limits import RequestLimits, read_api_keys
from seq2seq.serve.settings import ServerSettings

LIMITS, BATCHING = RequestLimits(), BatchingSettings()


def build_parser() -> argparse.ArgumentParser:
    """seq2seq-serve's arguments, unparsed (docs/cli.md is rendered from them)."""
    parser = argparse.ArgumentParser(prog="seq2seq-serve", description=__doc__.split(": ", 1)[1])
    parser.add_argument("-m", "--model", type=Path, action="append", required=True,
                        help="model directory, for its direction (en-fa, fa-en, ...; a "
                        "multilingual model: every pair of its languages); several of one "
                        "direction: an ensemble, with equal weights")  # fmt: skip
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (0.0.0.0: every interface)")  # fmt: skip
    parser.add_argument("--port", type=int, default=5000, help="0: any free port")
    add_decoding_arguments(parser, candidates=False)
    add_engine_argument(parser, plain="LibreTranslate's requests (the native API's carry scores)")
    parser.add_argument("--glossary", type=Path, metavar="TSV",
                        help="source term<TAB>target term per line: each found in a sentence is "
                        "kept in its translation (both APIs; a request's 'glossary' overrides "
                        "terms)")  # fmt: skip
    parser.add_argument("--cache", type=int, default=0, metavar="N",
                        help="keep the translations of the last N sentences asked, for the "
                        "requests that ask them again (0: none)")  # fmt: skip
    limits = parser.add_argument_group("limits")
    limits.add_argument("--char-limit", type=positive, default=LIMITS.max_chars,
                        help="characters of text per request")  # fmt: skip
    limits.add_argument("--batch-limit", type=positive, default=LIMITS.max_texts,
                        help="texts in one request's q list")  # fmt: skip
    limits.add_argument("--body-limit", type=positive, default=LIMITS.max_body_bytes,
                        help="bytes of a request body")  # fmt: skip
    limits.add_argument("--req-limit", type=int, default=0,
                        help="requests per minute per client address (0: no limit)")  # fmt: skip
    limits.add_argument("--api-keys", type=Path, metavar="FILE",
                        help="only these keys get in: KEY [PER_MINUTE] per line")  # fmt: skip
    batching = parser.add_argument_group("batching across requests")
    batching.add_argument("--max-queue", type=positive, default=BATCHING.max_queue,
                          help="requests waiting at most; more get 503")  # fmt: skip
    batching.add_argument("--no-batching", dest="across_requests", action="store_false",
                          help="decode each request alone")  # fmt: skip
    parser.add_argument("--seed", type=int, default=0, help="seeds torch before serving")
    return parser


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.decoding = decoding_options(parser, args)
    for model in args.model:
        require_model_dir(parser, model)
    if len(set(args.model)) != len(args.model):
        parser.error("a model directory is given twice")
    if args.req_limit < 0 or args.cache < 0:
        parser.error("--req-limit and --cache must be >= 0")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    # Imported here: the web stack is an optional extra.
    try:
        import uvicorn

        from seq2seq.serve.app import create_app
    except ImportError as error:
        sys.exit(f"error: seq2seq-serve needs {error.name}: pip install 'seq2seq[serve]'")
    with user_errors():
        torch.manual_seed(args.seed)
        directions = _by_direction(args.model)
        translators = [load_translator(models, args) for models in directions]
        engines = {}
        for translator, models in zip(translators, directions, strict=True):
            engine = start_engine(translator, models, args)
            if engine is not None:
                spec = translator.loaded.spec
                engines[(spec.src_lang, spec.tgt_lang)] = engine
        settings = server_settings(args)
        listener = _listen(args.host, args.port)
    host, port = listener.getsockname()[:2]
    pairs = ", ".join(map(_served, translators))
    print(f"seq2seq-serve: {pairs} at http://{host}:{port}/ (API docs at /docs); "
          "Ctrl-C or SIGTERM stops after the requests in flight", flush=True)  # fmt: skip
    app = create_app(translators, settings, engines=engines)
    config = uvicorn.Config(app, log_level="warning")
    uvicorn.Server(config).run(sockets=[listener])


def server_settings(args: argparse.Namespace) -> ServerSettings:
    """What the server is started with, from its arguments (the glossary and API keys read)."""
    return ServerSettings(
        limits=RequestLimits(args.char_limit, args.batch_limit, args.body_limit),
        batching=BatchingSettings(args.max_queue, args.across_requests),
        requests_per_minute=args.req_limit,
        api_keys=read_api_keys(args.api_keys, default_per_minute=args.req_limit)
        if args.api_keys else None,
        options=args.decoding,
        glossary=Glossary.read(args.glossary) if args.glossary else Glossary([]),
        cache_size=args.cache,
    )  # fmt: skip


def _served(translator: Translator) -> str:
    """What a translator serves, in words: its direction (and a multilingual model's pairs)."""
    spec = translator.loaded.spec
    pairs = "" if spec.tags is None else f" and every pair of its {len(spec.tags)} languages"
    return f"{spec.src_lang}-{spec.tgt_lang}{pairs}"


def _by_direction(models: list[Path]) -> list[list[Path]]:
    """The model directories grouped by the direction they translate (an ensemble each)."""
    groups: dict[tuple[str, str], list[Path]] = {}
    for model in models:
        spec = read_spec(model)
        groups.setdefault((spec.src_lang, spec.tgt_lang), []).append(model)
    return list(groups.values())


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as error:
        listener.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {error.strerror}") from None
    listener.listen(2048)
    return listener
