"""seq2seq-serve under load, on 127.0.0.1 only, each phase bounded in time.

For the demo model (``make demo`` writes it) and a base-preset model (random weights, the
demo's tokenizer): 1, 4, 16 and 64 closed-loop clients for ``--seconds`` each, against the
server with CTranslate2 as its engine (``--engine ctranslate2``; ``auto``, the default, picks
it for these models), and with ours (``--engine torch``) batching across requests and not
(``--no-batching``). Each client sends
LibreTranslate requests of one sentence and checks every answer against the translation the
server gave that sentence alone before the run: a wrong answer, or one that is another
sentence's translation, is counted. Printed: requests/s, p50/p95/p99 latency, errors and
the server's RSS before and after each level; then the ratios batching on / off (ours) and
CTranslate2 / ours.

Then, on the demo model: 10x overload (an open-loop arrival rate of ten times the measured
16-client throughput) for ``--seconds``: how fast the 503 rejections come back and whether
every accepted request completes; and a 60-second run of 16 clients with the server's RSS
after 10 s and after 60 s.

With ``--peer libretranslate`` instead: LibreTranslate 1.9.6 (bench/libretranslate_peer.py:
its own environment, our models as Argos packages) and seq2seq-serve ``--beam 4`` (its beam)
with each engine, under the same load at 1, 16 and 64 clients; for the base model, whose
random outputs run to the length limit, ours at argostranslate's limit (256 tokens).

    .venv/bin/python bench/serve.py [--demo-model runs/demo/model] [--seconds 10]
    .venv/bin/python bench/serve.py --peer libretranslate
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import random
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import torch
from prometheus_client.parser import text_string_to_metric_families

from seq2seq.model import Transformer
from seq2seq.modeldir.format import load_model_dir, save_model_dir
from seq2seq.training.presets import load_model_config

from machine import print_machine  # bench/machine.py, beside this script

SERVE = Path(sys.executable).parent / "seq2seq-serve"
LEVELS = (1, 4, 16, 64)
PEER_LEVELS = (1, 16, 64)
MODES = {  # name -> the server's options
    "ctranslate2": ("--engine", "ctranslate2"),
    "torch": ("--engine", "torch"),
    "torch, no batching": ("--engine", "torch", "--no-batching"),
}


class Server:
    """``seq2seq-serve`` in a child process on a free port of 127.0.0.1."""

    def __init__(self, model: Path, *extra: str) -> None:
        self.process = subprocess.Popen(
            [str(SERVE), "-m", str(model), "--port", "0", *extra],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        line = self.process.stdout.readline()
        found = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        if not found:
            self.process.kill()
            raise SystemExit(f"the server did not start: {line!r}")
        self.port = int(found.group(1))

    def rss_mib(self) -> float:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=120)


class Connection:
    """One keep-alive HTTP/1.1 connection: a request, then its whole response."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self.used = 0.0  # when its last answer came

    async def post(self, path: str, body: dict) -> tuple[int, dict]:
        if self.streams is None:
            self.streams = await asyncio.open_connection("127.0.0.1", self.port)
        reader, writer = self.streams
        payload = json.dumps(body).encode()
        head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(payload)}\r\n\r\n")  # fmt: skip
        writer.write(head.encode() + payload)
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        status = int(head.split(" ", 2)[1])
        length = int(re.search(r"(?i)content-length: (\d+)", head).group(1))
        answer = json.loads(await reader.readexactly(length))
        if re.search(r"(?i)connection: close", head):
            writer.close()
            self.streams = None
        return status, answer


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)  # seconds, answered 200
    rejected: list[float] = field(default_factory=list)  # seconds, answered 503
    wrong: int = 0  # not the sentence's own translation
    others: int = 0  # another sentence's translation
    errors: int = 0  # any other status, or no answer

    def percentile(self, p: float, values: list[float] | None = None) -> float:
        values = sorted(self.latencies if values is None else values)
        return values[min(len(values) - 1, int(p / 100 * len(values)))] * 1000 if values else 0.0


def request(sentence: str) -> dict:
    return {"q": sentence, "source": "en", "target": "fa"}


async def expected_answers(port: int, sentences: list[str]) -> dict[str, str]:
    connection = Connection(port)
    answers = {}
    for sentence in sentences:
        status, answer = await connection.post("/translate", request(sentence))
        assert status == 200, answer
        answers[sentence] = answer["translatedText"]
    return answers


def check(tally: Tally, sentence: str, status: int, answer: dict, expected: dict[str, str],
          seconds: float) -> None:  # fmt: skip
    if status == 503:
        tally.rejected.append(seconds)
        return
    if status != 200:
        tally.errors += 1
        return
    tally.latencies.append(seconds)
    text = answer["translatedText"]
    if text != expected[sentence]:
        tally.wrong += 1
        tally.others += text in {v for k, v in expected.items() if k != sentence}


async def closed_loop(
    port: int, clients: int, seconds: float, expected: dict[str, str]
) -> tuple[Tally, float]:
    """``clients`` clients, each sending its next request when the last one is answered."""
    sentences = list(expected)
    tally = Tally()
    stop = time.perf_counter() + seconds

    async def client(index: int) -> None:
        connection, turn = Connection(port), 0
        while time.perf_counter() < stop:
            sentence = sentences[(index + turn * clients) % len(sentences)]
            turn += 1
            start = time.perf_counter()
            try:
                status, answer = await connection.post("/translate", request(sentence))
            except (OSError, asyncio.IncompleteReadError):
                tally.errors += 1
                connection = Connection(port)
                continue
            check(tally, sentence, status, answer, expected, time.perf_counter() - start)

    start = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(clients)))
    return tally, time.perf_counter() - start


async def open_loop(
    port: int, rate: float, seconds: float, expected: dict[str, str]
) -> tuple[Tally, int]:
    """Requests arriving at ``rate`` a second (Poisson), each on an idle keep-alive connection
    (a new one when none was used in the last 2 s: uvicorn closes them after 5 s)."""
    sentences, tally, tasks = list(expected), Tally(), []
    rng, idle = random.Random(0), []

    async def one(sentence: str) -> None:
        while idle and idle[0].used < time.perf_counter() - 2:
            idle.pop(0)
        connection = idle.pop() if idle else Connection(port)
        start = time.perf_counter()
        try:
            status, answer = await connection.post("/translate", request(sentence))
        except (OSError, asyncio.IncompleteReadError):
            tally.errors += 1
            return
        check(tally, sentence, status, answer, expected, time.perf_counter() - start)
        connection.used = time.perf_counter()
        idle.append(connection)

    stop = time.perf_counter() + seconds
    while time.perf_counter() < stop:
        tasks.append(asyncio.create_task(one(sentences[len(tasks) % len(sentences)])))
        await asyncio.sleep(rng.expovariate(rate))
    await asyncio.gather(*tasks)
    return tally, len(tasks)


def base_model(demo: Path, folder: Path) -> Path:
    """A base-preset model with random weights and the demo model's tokenizer."""
    loaded = load_model_dir(demo)
    vocab = loaded.model.cfg.src_vocab_size
    torch.manual_seed(0)
    cfg = load_model_config("transformer_base", src_vocab_size=vocab, tgt_vocab_size=vocab)
    spec = loaded.spec
    return save_model_dir(
        folder / "base", Transformer(cfg).eval(), spec, {"made_by": "bench/serve.py"}
    )


def levels(
    model: Path, name: str, sentences: list[str], seconds: float
) -> dict[str, dict[int, float]]:
    """Requests/s per client count: CTranslate2 as the engine (the default, ``--engine
    auto``), ours with batching across requests and without; prints one line per run."""
    throughput = {}
    for mode, extra in MODES.items():
        start = functools.partial(Server, model, *extra)
        throughput[mode] = measure(start, f"{name:<5} {mode:<19}", sentences, seconds, LEVELS)
    for clients in LEVELS:
        rates = {mode: throughput[mode][clients] for mode in MODES}
        print(f"  {name}: {clients} clients, ours batching on / off: "
              f"{rates['torch'] / rates['torch, no batching']:.2f}x; ctranslate2 / ours: "
              f"{rates['ctranslate2'] / rates['torch']:.2f}x")  # fmt: skip
    return throughput


def measure(start, label: str, sentences: list[str], seconds: float,
            clients_levels: tuple[int, ...]) -> dict[int, float]:  # fmt: skip
    """Requests/s of the server that ``start()`` starts, per client count; a line per level."""
    server = start()
    try:
        expected = asyncio.run(expected_answers(server.port, sentences))
        throughput = {}
        for clients in clients_levels:
            before = server.rss_mib()
            tally, elapsed = asyncio.run(closed_loop(server.port, clients, seconds, expected))
            throughput[clients] = len(tally.latencies) / elapsed
            print(f"  {label}{clients:>4} clients {throughput[clients]:>8.1f} req/s   "
                  f"p50 {tally.percentile(50):>7.1f}  p95 {tally.percentile(95):>7.1f}  "
                  f"p99 {tally.percentile(99):>7.1f} ms   wrong {tally.wrong} (another's "
                  f"{tally.others})  errors {tally.errors}   RSS {before:.0f} -> "
                  f"{server.rss_mib():.0f} MiB", flush=True)  # fmt: skip
        return throughput
    finally:
        server.stop()


def against_libretranslate(
    model: Path, name: str, sentences: list[str], seconds: float, *, limit: tuple[str, ...] = ()
) -> None:
    """LibreTranslate (argos, CTranslate2, beam 4) and seq2seq-serve --beam 4 with each engine
    (and the length options ``limit``), serving the same weights under the same load at 1, 16
    and 64 clients."""
    from libretranslate_peer import LibreTranslate

    ours = ("--beam", "4", *limit)
    with tempfile.TemporaryDirectory() as scratch:
        systems = {
            "libretranslate": lambda: LibreTranslate(model, Path(scratch)),
            "ours ctranslate2": lambda: Server(model, *ours, "--engine", "ctranslate2"),
            "ours torch": lambda: Server(model, *ours, "--engine", "torch"),
        }
        for system, start in systems.items():
            measure(start, f"{name:<5} {system:<17}", sentences, seconds, PEER_LEVELS)


def overload(model: Path, sentences: list[str], capacity: float, seconds: float) -> None:
    server = Server(model)
    try:
        expected = asyncio.run(expected_answers(server.port, sentences))
        rate = 10 * capacity
        tally, sent = asyncio.run(open_loop(server.port, rate, seconds, expected))
        print(f"  10x overload: {rate:.0f} req/s offered for {seconds:.0f} s, {sent} sent: "
              f"{len(tally.latencies)} answered (p50 {tally.percentile(50):.0f}, p99 "
              f"{tally.percentile(99):.0f} ms), {len(tally.rejected)} rejected with 503 (p50 "
              f"{tally.percentile(50, tally.rejected):.1f}, p99 "
              f"{tally.percentile(99, tally.rejected):.1f}, max "
              f"{max(tally.rejected, default=0) * 1000:.1f} ms), wrong {tally.wrong}, "
              f"errors {tally.errors}", flush=True)  # fmt: skip
        quick = sum(s < 0.05 for s in tally.rejected) / max(1, len(tally.rejected))
        print(f"  ... 503s within 50 ms: {quick:.1%} by the clients' clock, "
              f"{rejected_within(server.port, 0.05):.1%} by the server's", flush=True)  # fmt: skip
    finally:
        server.stop()


def rejected_within(port: int, seconds: float) -> float:
    """The share of /translate's 503 answers that the server's latency histogram puts within
    ``seconds`` (a bucket bound): its own time from request to response."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as response:
        text = response.read().decode()
    buckets = {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.labels.get("status") == "503" and sample.labels.get("le") in (None, str(seconds))
    }
    count = buckets.get("seq2seq_request_seconds_count", 0)
    return buckets.get("seq2seq_request_seconds_bucket", 0) / count if count else float("nan")


def memory(model: Path, sentences: list[str]) -> None:
    server = Server(model)
    try:
        expected = asyncio.run(expected_answers(server.port, sentences))

        async def run() -> tuple[Tally, float]:
            load = asyncio.create_task(closed_loop(server.port, 16, 60, expected))
            await asyncio.sleep(10)
            early = server.rss_mib()
            tally, _ = await load
            return tally, early

        tally, early = asyncio.run(run())
        late = server.rss_mib()
        print(f"  16 clients for 60 s: {len(tally.latencies)} answered, errors {tally.errors}; "
              f"RSS after 10 s {early:.0f} MiB, after 60 s {late:.0f} MiB "
              f"({late / early - 1:+.1%})", flush=True)  # fmt: skip
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo-model", type=Path, default=Path("runs/demo/model"))
    parser.add_argument("--sentences", type=Path,
                        default=Path("data/demo-1-20000/test/demo.en"),
                        help="English sentences to send (the demo test set)")  # fmt: skip
    parser.add_argument("--seconds", type=float, default=10, help="per client level")
    parser.add_argument("--phase", choices=("all", "levels", "overload", "memory"), default="all")
    parser.add_argument("--peer", choices=("libretranslate",),
                        help="instead: against this peer serving the same models")  # fmt: skip
    args = parser.parse_args()
    if not (args.demo_model / "config.yaml").is_file():
        raise SystemExit(f"no model at {args.demo_model}: run `make demo` first")
    print_machine()
    sentences = args.sentences.read_text(encoding="utf-8").splitlines()[:128]
    print(f"{len(sentences)} distinct one-sentence requests; {args.seconds:.0f} s per level")
    if args.peer == "libretranslate":
        against_libretranslate(args.demo_model, "demo", sentences, args.seconds)
        with tempfile.TemporaryDirectory() as scratch:  # random weights run to the length
            base = base_model(args.demo_model, Path(scratch))  # limit: argostranslate's is
            against_libretranslate(base, "base", sentences[:8], args.seconds,  # 256 tokens
                                   limit=("--max-len-a", "0", "--max-len-b", "256"))  # fmt: skip
        return
    if args.phase in ("all", "levels"):
        demo = levels(args.demo_model, "demo", sentences, args.seconds)
        with tempfile.TemporaryDirectory() as scratch:
            base = base_model(args.demo_model, Path(scratch))
            levels(base, "base", sentences[:32], args.seconds)
    if args.phase in ("all", "overload"):
        capacity = (
            demo["ctranslate2"][16]
            if args.phase == "all"
            else capacity_of(args.demo_model, sentences, args.seconds)
        )
        overload(args.demo_model, sentences, capacity, args.seconds)
    if args.phase in ("all", "memory"):
        memory(args.demo_model, sentences)


def capacity_of(model: Path, sentences: list[str], seconds: float) -> float:
    """Requests/s of 16 clients, as the server runs by default (for an overload run on its
    own)."""
    server = Server(model)
    try:
        expected = asyncio.run(expected_answers(server.port, sentences))
        tally, elapsed = asyncio.run(closed_loop(server.port, 16, seconds, expected))
        return len(tally.latencies) / elapsed
    finally:
        server.stop()


if __name__ == "__main__":
    main()
