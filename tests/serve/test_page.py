"""The web page in a real headless browser (Debian's chromium and its driver): type, translate,
see the Persian translation right to left, the n-best list and the attention heatmap."""

from __future__ import annotations

import json
import shutil
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.ui import WebDriverWait

from seq2seq.analysis.attention import sentence_attention
from seq2seq.inference.options import DecodingOptions
from seq2seq.inference.translator import Translator
from tests.helpers import live_server

BROWSER, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    if not (BROWSER and DRIVER):
        pytest.skip("no chromium and chromedriver: `make test` installs them with apt-get "
                    "where it may (root or sudo); see the README")  # fmt: skip
    options = webdriver.ChromeOptions()
    options.binary_location = BROWSER
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--window-size=1400,1000", "--lang=en"):  # fmt: skip
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service(DRIVER))
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def page(model_dir: Path, reverse_model_dir: Path, tmp_path_factory) -> Iterator[str]:
    with live_server("-m", str(model_dir), "-m", str(reverse_model_dir),
                     cwd=tmp_path_factory.mktemp("page")) as (_process, url):  # fmt: skip
        yield url


def open_page(driver: webdriver.Chrome, url: str) -> None:
    """Load the page and wait until it has listed the two directions."""
    driver.get(url)
    direction = Select(driver.find_element(By.ID, "direction"))
    WebDriverWait(driver, 30).until(lambda _: len(direction.options) == 2)


def translate_on_the_page(driver: webdriver.Chrome, text: str) -> str:
    box = driver.find_element(By.ID, "source")
    box.clear()
    box.send_keys(text)
    driver.execute_script("document.getElementById('translation').value = ''")
    driver.find_element(By.ID, "translate").click()
    status = driver.find_element(By.ID, "status")
    WebDriverWait(driver, 60).until(  # answered: a translation, or an error said
        lambda _: (
            driver.find_element(By.ID, "translation").get_property("value")
            or "error" in status.get_attribute("class")
        )
    )
    assert status.text == ""
    return driver.find_element(By.ID, "translation").get_property("value")


def labels(driver: webdriver.Chrome, selector: str) -> list:
    return driver.find_elements(By.CSS_SELECTOR, f"#heatmap table {selector}")


def test_translate_and_see_the_heatmap(
    browser: webdriver.Chrome, page: str, model_dir: Path, tmp_path: Path
) -> None:
    open_page(browser, page)
    text = "the cat sat on the mat."
    translator = Translator.load(model_dir)
    expected = translator.translate([text])[0]
    assert translate_on_the_page(browser, text) == expected
    output = browser.find_element(By.ID, "translation")
    assert (output.get_attribute("dir"), output.get_attribute("lang")) == ("rtl", "fa")
    assert not browser.find_element(By.ID, "api-key").is_displayed()  # none needed here
    maps = sentence_attention(translator.loaded, text, expected)
    heads = [th.text for th in labels(browser, "thead th")[1:]]
    assert heads == [t.replace("▁", " ").strip() or t for t in maps.src_tokens]
    rows = labels(browser, "tbody tr")
    assert len(rows) == len(maps.tgt_tokens)
    assert all(len(r.find_elements(By.TAG_NAME, "td")) == len(maps.src_tokens) for r in rows)
    shot = tmp_path / "page-en-fa.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000


def test_persian_source_reads_right_to_left_with_its_labels_in_order(
    browser: webdriver.Chrome, page: str, reverse_model_dir: Path, tmp_path: Path
) -> None:
    open_page(browser, page)
    Select(browser.find_element(By.ID, "direction")).select_by_value("fa-en")
    text = "گربه روی فرش نشست."
    translator = Translator.load(reverse_model_dir)
    expected = translator.translate([text])[0]
    assert translate_on_the_page(browser, text) == expected
    assert browser.find_element(By.ID, "source").get_attribute("dir") == "rtl"
    assert browser.find_element(By.ID, "translation").get_attribute("dir") == "ltr"
    heads = labels(browser, "thead th")[1:]
    maps = sentence_attention(translator.loaded, text, expected)
    assert [th.text for th in heads] == [t.replace("▁", " ").strip() or t for t in maps.src_tokens]
    xs = [th.location["x"] for th in heads]
    assert xs == sorted(xs, reverse=True)  # the first Persian token is on the right
    shot = tmp_path / "page-fa-en.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000


def test_nbest_on_request(browser: webdriver.Chrome, page: str, model_dir: Path) -> None:
    open_page(browser, page)
    browser.find_element(By.ID, "show-nbest").click()
    text = "a dog."
    translate_on_the_page(browser, text)
    nbest = Translator.load(model_dir).translate_nbest([text], options=DecodingOptions(nbest=3))[0]
    items = browser.find_elements(By.CSS_SELECTOR, "#candidates li span:first-child")
    assert [i.text for i in items] == [c.text for c in nbest]
    assert browser.find_element(By.ID, "nbest-section").is_displayed()


def test_a_server_with_api_keys_asks_for_one(
    browser: webdriver.Chrome, model_dir: Path, tmp_path: Path
) -> None:
    keys = tmp_path / "keys.txt"
    keys.write_text("sesame\n", encoding="utf-8")
    with live_server("-m", str(model_dir), "--api-keys", str(keys), cwd=tmp_path) as (_, url):
        browser.get(url)
        key = browser.find_element(By.ID, "api-key")
        WebDriverWait(browser, 30).until(lambda _: key.is_displayed())
        browser.find_element(By.ID, "source").send_keys("a dog.")
        browser.find_element(By.ID, "translate").click()
        status = browser.find_element(By.ID, "status")
        WebDriverWait(browser, 60).until(lambda _: status.text == "Invalid API key")
        key.send_keys("sesame")
        expected = Translator.load(model_dir).translate(["a dog."])[0]
        assert translate_on_the_page(browser, "a dog.") == expected


def write_glossary(driver: webdriver.Chrome, terms: str) -> None:
    driver.find_element(By.CSS_SELECTOR, "#glossary-section summary").click()
    box = driver.find_element(By.ID, "glossary")
    box.clear()
    box.send_keys(terms)


def test_a_glossary_typed_on_the_page_is_kept(
    browser: webdriver.Chrome, page: str, model_dir: Path
) -> None:
    open_page(browser, page)
    write_glossary(browser, "mat = حصیر")
    text = "the cat sat on the mat."
    translator = Translator.load(model_dir)
    expected = translator.translate_nbest([text], constraints=[["حصیر"]])[0][0].text
    assert expected != translator.translate([text])[0]
    assert translate_on_the_page(browser, text) == expected


def test_a_file_is_translated_and_offered_for_download(
    browser: webdriver.Chrome, page: str, tmp_path: Path
) -> None:
    open_page(browser, page)
    write_glossary(browser, "mat = حصیر")
    text = "the cat sat on the mat. The dog ran.\n\nthree red books.\n"
    (tmp_path / "notes.txt").write_text(text, encoding="utf-8")
    browser.find_element(By.ID, "file").send_keys(str(tmp_path / "notes.txt"))
    browser.find_element(By.ID, "translate-file").click()
    link = browser.find_element(By.ID, "file-link")
    WebDriverWait(browser, 60).until(lambda _: link.is_displayed())
    assert browser.find_element(By.ID, "status").text == ""
    assert link.get_attribute("download") == "notes.txt"
    with urllib.request.urlopen(link.get_attribute("href"), timeout=30) as response:
        translated = response.read().decode()
    request = {"q": text, "source": "en", "target": "fa", "glossary": {"mat": "حصیر"}}
    expected = urllib.request.Request(
        f"{page}/translate", data=json.dumps(request).encode(),
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(expected, timeout=30) as response:
        assert translated == json.load(response)["translatedText"]
    assert "حصیر" in translated
