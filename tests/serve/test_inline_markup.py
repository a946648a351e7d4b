"""HTML with inline elements through the server: each block translated as whole sentences, its
inline elements (nested, adjacent, empty) carried to the words aligned with theirs, tags byte
for byte, in both directions."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from seq2seq.analysis.alignment import word_alignment
from seq2seq.data.markup import parse_html
from seq2seq.inference.segments import segment
from seq2seq.inference.translator import Translator
from tests.helpers import ParsedHtml

MARKUP = {
    "en": '<p>We bought <a href="/x?a=1&amp;b=2">the <b>three</b> <i>red</i></a> books.'
    '<span class="e"></span> The cat sat.</p>',
    "fa": '<p>ما <b>سه <i>کتاب</i></b> <u title="t">قرمز</u> خریدیم.<span class="e"></span></p>',
}


@pytest.mark.parametrize(("source", "target"), [("en", "fa"), ("fa", "en")])
def test_inline_elements_follow_their_words_in_both_directions(
    client: TestClient, model_dir: Path, reverse_model_dir: Path, source: str, target: str
) -> None:
    markup = MARKUP[source]
    request = {"q": markup, "source": source, "target": target, "format": "html"}
    answer = client.post("/translate", json=request).json()["translatedText"]
    (block,) = parse_html(markup).blocks
    plain = {"q": block.text, "source": source, "target": target}
    whole = client.post("/translate", json=plain).json()["translatedText"]
    parsed, given = ParsedHtml(answer), ParsedHtml(markup)
    assert parsed.text == whole  # the block's sentences translated whole, not in fragments
    assert sorted(parsed.starts) == sorted(given.starts) and parsed.nested and not parsed.open
    loaded = Translator.load(model_dir if source == "en" else reverse_model_dir).loaded
    cut = segment(markup, html_markup=True)
    translations = [Translator(loaded).translate([s])[0] for s in cut.sentences]
    assert answer == cut.render(translations, lambda s, t: word_alignment(loaded, s, t))


def test_a_sentence_that_comes_twice_with_other_samples_is_placed_each_time(
    client: TestClient,
) -> None:
    def sampled(text: str, seed: int, fmt: str) -> str:
        request = {"q": text, "source": "en", "target": "fa", "format": fmt,
                   "sampling": {"seed": seed}}  # fmt: skip
        answer = client.post("/v1/translate", json=request)
        assert answer.status_code == 200, answer.text
        return answer.json()["translations"][0]["candidates"][0]["text"]

    # A seed whose two draws of "A dog." differ, so the two come with other translations.
    seed = next(
        s for s in range(20) if len(set(sampled("A dog.\nA dog.", s, "text").split("\n"))) == 2
    )
    answer = sampled("<p><b>A dog.</b> A dog.</p>", seed, "html")
    parsed = ParsedHtml(answer)  # each "A dog." aligned with its own draw, the tags in place
    assert parsed.starts == ["<p>", "<b>"] and parsed.nested and not parsed.open
