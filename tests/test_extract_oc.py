"""`extract` as a drop-in for `oc adm release extract`: manifests re-encoded byte for byte as oc re-encodes
them, archives laid out as oc lays them out, installer markers replaced as oc replaces them.

What oc wrote is recorded under tests/extract_oc/ (its README says how); the golden release is the one of
tests/test_golden.py, on the same fixed addresses (run it in a private network namespace when a golden
registry is already listening there).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import tarfile
import zipfile
from pathlib import Path

import pytest

from okd_release.errors import PayloadError
from okd_release.release.extract import goyaml
from okd_release.release.extract.pin import Replacement, pin
from okd_release.release.extract.tools import host_os_arch
from okd_release.testing import golden
from tests.conftest import run_cli

RECORDED = Path(__file__).resolve().parent / "extract_oc"
OC_MANIFESTS = sorted((RECORDED / "manifests").iterdir())


# -- manifests --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("source", OC_MANIFESTS, ids=lambda path: path.name)
def test_manifests_are_reencoded_byte_for_byte_as_oc_wrote_them(source: Path) -> None:
    expected = (RECORDED / "oc" / source.name).read_bytes()
    assert goyaml.reencode(source.read_bytes(), source.name).decode() == expected.decode()


# (value, what go-yaml v2 writes for it as the value of key `k`): cases beyond the recorded files, each
# following from the rules the recorded files exercise
SCALAR_CASES = [
    ("plain", "k: plain\n"),
    ("y", 'k: "y"\n'),
    ("NO", 'k: "NO"\n'),
    ("~", 'k: "~"\n'),
    ("", 'k: ""\n'),
    ("<<", "k: <<\n"),
    ("0x1F", 'k: "0x1F"\n'),
    ("2024-02-30", "k: 2024-02-30\n"),  # no such day: not a timestamp to go-yaml, so a plain string
    ("2024-02-29", 'k: "2024-02-29"\n'),
    ("1:20", 'k: "1:20"\n'),  # a base-60 float to YAML 1.1 readers
    ("a: b", "k: 'a: b'\n"),
    ("it's", "k: it's\n"),
    ("'q", "k: '''q'\n"),
    ("tab\there", 'k: "tab\\there"\n'),
    ("x\n", "k: |\n  x\n"),
    ("x", "k: x\n"),
    (" x\ny", "k: |2-\n   x\n  y\n"),
    ("x\n\n", "k: |+\n  x\n\n"),
    ("trailing \nspace", 'k: "trailing \\nspace"\n'),
    ("😀", 'k: "\\U0001F600"\n'),
    (1.0, "k: 1\n"),
    (1e6, "k: 1e+06\n"),
    (123456.5, "k: 123456.5\n"),
    (1e-7, "k: 1e-07\n"),
    (True, "k: true\n"),
    (None, "k: null\n"),
    ([], "k: []\n"),
    ({}, "k: {}\n"),
    ([[1]], "k:\n- - 1\n"),
]


@pytest.mark.parametrize(("value", "expected"), SCALAR_CASES, ids=[repr(case[0]) for case in SCALAR_CASES])
def test_scalars_are_written_as_go_yaml_writes_them(value: object, expected: str) -> None:
    assert goyaml.marshal({"k": value}) == expected


def test_long_strings_fold_at_eighty_columns_and_long_keys_become_complex_keys() -> None:
    words = " ".join(["word"] * 20)
    assert goyaml.marshal({"k": words}) == f"k: {' '.join(['word'] * 16)}\n  {' '.join(['word'] * 4)}\n"
    key = "x" * 129
    assert goyaml.marshal({key: 1}) == f"? {key}\n: 1\n"


def test_map_keys_are_in_go_yaml_natural_order() -> None:
    keys = ["a10", "a2", "b", "A", "a01", "a1", "10", "9", "_x"]
    assert goyaml.marshal(dict.fromkeys(keys, 0)).splitlines() == [
        "_x: 0", "\"9\": 0", "\"10\": 0", "A: 0", "a1: 0", "a01: 0", "a2: 0", "a10: 0", "b: 0"]


def test_floats_go_through_json_as_oc_sends_them() -> None:
    """A float from YAML reaches go-yaml as encoding/json spells it; a float from JSON text keeps its reading."""
    assert goyaml.reencode(b"apiVersion: v1\nkind: A\nmetadata: {name: a}\nx: 123456789.0\n", "a.yaml") == \
        b"---\napiVersion: v1\nkind: A\nmetadata:\n  name: a\nx: 123456789\n"
    assert goyaml.reencode(b'{"apiVersion": "v1", "kind": "A", "metadata": {"name": "a"}, "x": 123456789.0}', "a.json") \
        == b"---\napiVersion: v1\nkind: A\nmetadata:\n  name: a\nx: 1.23456789e+08\n"


def test_a_document_oc_cannot_convert_is_an_error() -> None:
    with pytest.raises(PayloadError, match="unsupported value"):
        goyaml.reencode(b"apiVersion: v1\nkind: A\nmetadata: {name: a}\nx: .inf\n", "a.yaml")
    with pytest.raises(PayloadError, match="unsupported map key"):
        goyaml.reencode(b"apiVersion: v1\nkind: A\nmetadata: {name: a}\nx: {~: 1}\n", "a.yaml")


def test_extract_writes_oc_files_and_modes_and_skips_what_oc_skips(tmp_path: Path, golden_inputs: None) -> None:
    result = run_cli("extract", "--insecure", "--to", str(tmp_path / "oc"), golden.RELEASE)
    assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in (tmp_path / "oc").iterdir())
    assert "0000_50_console-operator_README.md" not in names and "image-references" in names
    assert {oct(p.stat().st_mode & 0o777) for p in (tmp_path / "oc").iterdir()} == {oct(0o644 & ~_umask())}
    assert result.stdout.startswith("Extracted release payload from digest sha256:")
    raw = run_cli("extract", "--insecure", "--raw", "--to", str(tmp_path / "raw"), golden.RELEASE)
    assert raw.returncode == 0, raw.stderr
    raw_names = sorted(p.name for p in (tmp_path / "raw").iterdir())
    assert "0000_50_console-operator_README.md" in raw_names
    manifest = "0000_50_console-operator_console-config.yaml"
    one = run_cli("extract", "--insecure", "--file", manifest, golden.RELEASE)
    assert one.stdout.encode() == (tmp_path / "raw" / manifest).read_bytes()
    assert (tmp_path / "oc" / manifest).read_bytes() == goyaml.reencode(one.stdout.encode(), manifest)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# -- tools ----------------------------------------------------------------------------------------------
def test_archives_hold_what_oc_archives_hold(tmp_path: Path, golden_inputs: None) -> None:
    recorded = json.loads((RECORDED / "oc-archives.json").read_text())
    result = run_cli("extract", "--insecure", "--command", "oc", "--command-os", "*", "--to", str(tmp_path),
                     golden.RELEASE)
    assert result.returncode == 0, result.stderr
    for name, uncompressed in recorded["tar"].items():
        with gzip.open(tmp_path / name) as archive:
            assert hashlib.sha256(archive.read()).hexdigest() == uncompressed, name
        assert oct((tmp_path / name).stat().st_mode & 0o777) == oct(0o755)
        assert (tmp_path / name).stat().st_mtime == 0  # the binary's mtime in its image, as oc sets it
    for name, entries in recorded["zip"].items():
        with zipfile.ZipFile(tmp_path / name) as archive:
            assert [{"name": i.filename, "mode": oct(i.external_attr >> 16), "date_time": list(i.date_time),
                     "extra": i.extra.hex(), "size": i.file_size, "compress_type": i.compress_type}
                    for i in archive.infolist()] == entries
    assert (tmp_path / "release.txt").read_text() == recorded["release.txt"]
    sums = (tmp_path / "sha256sum.txt").read_text().splitlines()
    assert [line.split()[1] for line in sums] == recorded["sha256sum.txt names"]
    for line in sums:
        digest, name = line.split()
        assert hashlib.sha256((tmp_path / name).read_bytes()).hexdigest() == digest


def test_windows_oc_is_named_oc_as_oc_names_it(tmp_path: Path, golden_inputs: None) -> None:
    result = run_cli("extract", "--insecure", "--command", "oc", "--command-os", "windows", "--to", str(tmp_path),
                     golden.RELEASE)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["oc"]
    assert (tmp_path / "oc").read_bytes().startswith(b"MZ")


def test_tools_default_to_this_machines_platform(tmp_path: Path, golden_inputs: None) -> None:
    result = run_cli("extract", "--insecure", "--tools", "--to", str(tmp_path), golden.RELEASE)
    assert result.returncode == 0, result.stderr
    os_, arch = host_os_arch()
    if (os_, arch) != ("linux", "amd64"):
        pytest.skip("the golden release's tools are for linux/amd64 and the other platforms of cli-artifacts")
    version = golden.VERSION
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([
        f"openshift-client-linux-{version}.tar.gz", f"openshift-install-linux-{version}.tar.gz",
        "release.txt", "sha256sum.txt"])
    with tarfile.open(tmp_path / f"openshift-install-linux-{version}.tar.gz") as archive:
        assert [(m.name, oct(m.mode)) for m in archive] == [("README.md", "0o644"), ("openshift-install", "0o755")]


# -- oc's copyAndReplace table (pkg/cli/admin/release/extract_tools_test.go), as data -------------------
# (name, input, replacements as (name, marker, value), expected output or the error). oc reads through a
# 4-byte buffer; we feed 4-byte chunks so that markers fall across chunk boundaries in the same places.
COPY_AND_REPLACE = [
    ("buffer too small", "1234", [("rep-A", "aaaaa", "A")], "1234"),  # oc: its 4-byte buffer cannot hold the marker; ours can
    ("buffer too large", "123", [], "123"),
    ("value too large", "1234", [("rep-A", "aa", "AA")],
     PayloadError("the rep-A value has 2 bytes, but the maximum replacement length is 1")),
    ("A beginning of file", "aa345678", [("rep-A", "aa", "A")], "A\x00345678"),
    ("A end of buffer", "12aa5678", [("rep-A", "aa", "A")], "12A\x005678"),
    ("A cross buffer", "123aa678", [("rep-A", "aa", "A")], "123A\x00678"),
    ("A beginning of buffer", "1234aa78", [("rep-A", "aa", "A")], "1234A\x0078"),
    ("A end of file", "123456aa", [("rep-A", "aa", "A")], "123456A\x00"),
    ("A buffer too large", "12345aa", [("rep-A", "aa", "A")], "12345A\x00"),
    ("AB beginning of file", "aabb5678", [("rep-A", "aa", "A"), ("rep-B", "bb", "B")], "A\x00B\x005678"),
    ("BA beginning of file", "bbaa5678", [("rep-A", "aa", "A"), ("rep-B", "bb", "B")], "B\x00A\x005678"),
    ("AB end of buffer", "1234aabb", [("rep-A", "aa", "A"), ("rep-B", "bb", "B")], "1234A\x00B\x00"),
    ("AB cross buffer", "123aa6bb", [("rep-A", "aa", "A"), ("rep-B", "bb", "B")], "123A\x006B\x00"),
    ("AB end of file", "1234aabb", [("rep-A", "aa", "A"), ("rep-B", "bb", "B")], "1234A\x00B\x00"),
    ("BA end of file", "1234bbaa", [("rep-A", "aa", "A"), ("rep-B", "bb", "B")], "1234B\x00A\x00"),
]


@pytest.mark.parametrize(("name", "text", "replacements", "expected"), COPY_AND_REPLACE,
                         ids=[case[0] for case in COPY_AND_REPLACE])
def test_markers_are_replaced_as_oc_replaces_them(name: str, text: str, replacements: list[tuple[str, str, str]],
                                                  expected: str | PayloadError) -> None:
    chunks = [text[i:i + 4].encode() for i in range(0, len(text), 4)]
    wanted = [Replacement(n, marker.encode(), value) for n, marker, value in replacements]
    if isinstance(expected, PayloadError):
        with pytest.raises(PayloadError) as raised:
            b"".join(pin(chunks, wanted)[0])
        assert str(raised.value) == str(expected)
        return
    stream, pinner = pin(chunks, wanted)
    assert b"".join(stream).decode() == expected
    assert pinner.missing == (["rep-A"] if name == "buffer too small" else [])
