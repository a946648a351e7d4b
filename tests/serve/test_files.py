"""LibreTranslate's file translation: /translate_file answers the address of the translated
file, which /download_file serves; .txt, .html, .srt and .docx, with JSON errors."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import docx
import pytest
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from fastapi.testclient import TestClient

from seq2seq.serve.documents import read_document
from seq2seq.serve.limits import RequestLimits
from seq2seq.serve.settings import ServerSettings
from tests.serve.conftest import make_client

FORM = {"source": "en", "target": "fa"}
TEXT = "the cat sat on the mat. The dog ran.\n\nthree red books."
SRT = (
    "1\n00:00:01,000 --> 00:00:02,500\nthe cat sat\non the mat.\n\n"
    "2\n00:00:03,000 --> 00:00:04,000\nthe dog ran.\n"
)


def translated_file(client: TestClient, name: str, data: bytes, **form: str) -> bytes:
    """The file ``/translate_file`` makes of ``data``, downloaded from its address."""
    answer = client.post("/translate_file", data={**FORM, **form}, files={"file": (name, data)})
    assert answer.status_code == 200, answer.text
    url = answer.json()["translatedFileUrl"]
    assert url.startswith("http://testserver/download_file/") and url.endswith(name)
    download = client.get(url)
    assert download.status_code == 200
    return download.content


def translation(client: TestClient, text: str, *, fmt: str = "text") -> str:
    answer = client.post("/translate", json={**FORM, "q": text, "format": fmt})
    return answer.json()["translatedText"]


def test_text_and_html_files_translate_as_their_text(client: TestClient) -> None:
    html = "<html><body><p>the cat sat.</p><p>The <b>dog</b> ran.</p></body></html>"
    assert translated_file(client, "notes.txt", TEXT.encode()).decode() == translation(client, TEXT)
    assert translated_file(client, "page.html", html.encode()).decode() == translation(
        client, html, fmt="html"
    )


def test_subtitles_keep_their_numbers_and_times(client: TestClient) -> None:
    out = translated_file(client, "film.srt", SRT.encode()).decode()
    first, second = (
        translation(client, "the cat sat on the mat."),
        translation(client, "the dog ran."),
    )
    assert out == (
        f"1\n00:00:01,000 --> 00:00:02,500\n{first}\n\n2\n00:00:03,000 --> 00:00:04,000\n{second}\n"
    )


def test_a_word_document_gets_each_paragraph_translated_with_its_formatting(
    client: TestClient,
) -> None:
    document = docx.Document()
    heading = document.add_paragraph()
    heading.add_run("the cat sat ").bold = True
    heading.add_run("on the mat.")
    document.add_paragraph("")
    document.add_table(rows=1, cols=1).cell(0, 0).text = "the dog ran."
    data = io.BytesIO()
    document.save(data)
    out = docx.Document(io.BytesIO(translated_file(client, "letter.docx", data.getvalue())))
    texts = [p.text for p in out.paragraphs]
    assert texts == [translation(client, "the cat sat on the mat."), ""]
    assert out.paragraphs[0].runs[0].bold
    assert out.tables[0].cell(0, 0).text == translation(client, "the dog ran.")


@pytest.mark.parametrize(
    ("name", "data", "error"),
    [
        ("slides.pdf", b"%PDF", "slides.pdf: not a file this server translates"),
        ("notes.txt", b"caf\xe9", "notes.txt: not UTF-8 (byte 3)"),
        ("film.srt", b"1\nsoon\nhello\n", "film.srt: line 1: expected a cue: number, times, text"),
        ("letter.docx", b"not a zip", "letter.docx: not a Word document (.docx)"),
    ],
)
def test_a_file_of_another_kind_or_broken_is_a_400(
    client: TestClient, name: str, data: bytes, error: str
) -> None:
    answer = client.post("/translate_file", data=FORM, files={"file": (name, data)})
    assert answer.status_code == 400
    assert answer.json()["error"].startswith(f"Invalid request: {error}")


def test_no_file_is_a_400_and_an_unknown_download_a_404(client: TestClient) -> None:
    missing = client.post("/translate_file", data=FORM)
    assert (missing.status_code, missing.json()) == (
        400, {"error": "Invalid request: missing file parameter"},
    )  # fmt: skip
    unknown = client.get("/download_file/0123.notes.txt")
    assert (unknown.status_code, unknown.json()) == (404, {"error": "Not Found"})


def test_a_file_over_the_limits_is_a_413(model_dir: Path) -> None:
    settings = ServerSettings(limits=RequestLimits(max_chars=20, max_body_bytes=1000))
    with make_client([model_dir], settings) as client:
        long_text = client.post(
            "/translate_file", data=FORM, files={"file": ("notes.txt", TEXT.encode())}
        )
        large = client.post(
            "/translate_file", data=FORM, files={"file": ("notes.txt", b"a " * 600)}
        )
    assert long_text.status_code == 413 and "exceeds text limit (20)" in long_text.json()["error"]
    assert large.status_code == 413


def test_the_settings_offer_file_translation(client: TestClient) -> None:
    settings = client.get("/frontend/settings").json()
    assert settings["filesTranslation"] is True
    assert settings["supportedFilesFormat"] == [".txt", ".html", ".htm", ".srt", ".docx"]


def test_a_file_named_in_any_script_is_downloaded_under_its_name(client: TestClient) -> None:
    answer = client.post(
        "/translate_file", data=FORM, files={"file": ("گزارش ماه.txt", TEXT.encode())}
    )
    url = answer.json()["translatedFileUrl"]
    download = client.get(url)
    assert download.status_code == 200 and download.text == translation(client, TEXT)
    assert download.headers["content-disposition"] == (
        'attachment; filename="_________.txt"; '
        "filename*=UTF-8''%DA%AF%D8%B2%D8%A7%D8%B1%D8%B4_%D9%85%D8%A7%D9%87.txt"
    )
    assert download.headers["x-content-type-options"] == "nosniff"


def docx_bytes(document) -> bytes:
    data = io.BytesIO()
    document.save(data)
    return data.getvalue()


def test_links_and_merged_cells_of_a_word_document_are_translated_once(
    client: TestClient,
) -> None:
    document = docx.Document()
    paragraph = document.add_paragraph("See ")
    link = OxmlElement("w:hyperlink")
    link.set(qn("r:id"), paragraph.part.relate_to("https://x.y/", RT.HYPERLINK, is_external=True))
    run, text = OxmlElement("w:r"), OxmlElement("w:t")
    text.text = "our site"
    run.append(text)
    link.append(run)
    paragraph._p.append(link)
    paragraph.add_run(" today.")
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).merge(table.cell(0, 1)).text = "the dog ran."
    assert read_document("a.docx", docx_bytes(document), max_unpacked=10**7).texts == [
        "See our site today.", "the dog ran.",
    ]  # fmt: skip
    out = docx.Document(io.BytesIO(translated_file(client, "a.docx", docx_bytes(document))))
    assert out.paragraphs[0].text == translation(client, "See our site today.")
    assert out.tables[0].cell(0, 1).text == translation(client, "the dog ran.")


def test_a_word_document_that_unpacks_too_large_or_holds_broken_xml_is_a_400(
    client: TestClient,
) -> None:
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"\0" * (30 << 20))  # 30 MiB in some 30 KiB
    broken = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(docx_bytes(docx.Document()))) as good,
        zipfile.ZipFile(broken, "w") as archive,
    ):
        for item in good.infolist():
            is_body = item.filename == "word/document.xml"
            archive.writestr(item, b"<w:document" if is_body else good.read(item))
    answers = [
        client.post("/translate_file", data=FORM, files={"file": ("a.docx", data.getvalue())})
        for data in (bomb, broken)
    ]
    assert [a.status_code for a in answers] == [400, 400]
    assert answers[0].json()["error"].startswith("Invalid request: a.docx: unpacks to 31457280")
    assert answers[1].json()["error"] == "Invalid request: a.docx: not a Word document (.docx)"
