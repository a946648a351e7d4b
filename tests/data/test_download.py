"""Downloading the en-fa layout: from a local HTTP server standing in for upstream, checked."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from seq2seq.common.errors import DataError
from seq2seq.data.download import RemoteFile, clean_lines, download, load_manifest, sha256_of
from tests.helpers import run_command, serve, shared_en_fa


@pytest.fixture
def tampered_server(tmp_path: Path) -> Iterator[str]:
    """A copy of the layout with one changed character in the FLORES dev references."""
    copy = tmp_path / "served" / "en-fa"
    shutil.copytree(shared_en_fa(), copy)
    reference = copy / "dev" / "flores200-dev.fa"
    reference.write_bytes(reference.read_bytes().replace(b".", b"!", 1))
    yield from serve(tmp_path / "served")


def test_the_layout_downloads_with_every_checksum_right(shared_server: str, tmp_path: Path) -> None:
    manifest = load_manifest("en-fa")
    statuses = {}
    download(manifest, tmp_path / "en-fa", mirror=f"{shared_server}/data/en-fa",
             report=statuses.__setitem__)  # fmt: skip
    assert set(statuses.values()) == {"downloaded"} and len(statuses) == len(manifest)
    for item in manifest:
        assert sha256_of(tmp_path / "en-fa" / item.path) == item.sha256
        assert (tmp_path / "en-fa" / item.path).read_bytes() == (
            shared_en_fa() / item.path
        ).read_bytes()
    download(manifest, tmp_path / "en-fa", mirror="http://127.0.0.1:9", report=statuses.__setitem__)
    assert set(statuses.values()) == {"kept"}  # nothing fetched: the port-9 mirror is never asked


def test_a_wrong_checksum_is_refused_and_nothing_is_written(
    tampered_server: str, tmp_path: Path
) -> None:
    result = run_command("seq2seq-download", "en-fa", "--root", "en-fa",
                         "--mirror", f"{tampered_server}/en-fa", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 1
    assert "flores200-dev.fa: sha256 mismatch (expected be3411c9" in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert (tmp_path / "en-fa" / "dev" / "flores200-dev.en").is_file()  # fetched before it
    assert sorted(p.name for p in (tmp_path / "en-fa" / "dev").iterdir()) == ["flores200-dev.en"]


def test_an_unreachable_server_is_one_line(tmp_path: Path) -> None:
    remote = [RemoteFile("dev/x.en", "0" * 64, "http://127.0.0.1:9/x.en")]
    with pytest.raises(DataError, match=r"http://127\.0\.0\.1:9/x\.en: download failed"):
        download(remote, tmp_path)
    assert not (tmp_path / "dev").exists()


def test_derived_files_need_a_mirror(tmp_path: Path) -> None:
    derived = [item for item in load_manifest("en-fa") if item.url is None]
    assert {item.path for item in derived} >= {"train/tatoeba.en", "train/tico19-dev.fa"}
    with pytest.raises(DataError, match="derived data with no upstream copy: give --mirror"):
        download(derived, tmp_path)


def test_upstream_files_are_line_cleaned_before_the_check() -> None:
    assert clean_lines(b" one\ttwo \r\nthree\xe2\x80\xa8four\n") == b"one two\nthree four\n"
    assert clean_lines(b"no final newline") == b"no final newline\n"
