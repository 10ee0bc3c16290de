"""The disconnected site, end to end, on loopback registries: a signed release mirrored to disk, its source
registry stopped, the disk mirror uploaded to a second registry, then `info`, `extract --command` and `verify`
reading the release through the mirror with `--idms-file`, the source still stopped. Also the mirror rules
themselves (`--icsp-file`/`--idms-file` as oc and cri-o read them) and the fallback to the source."""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path

import pytest

from okd_release import reference as references
from okd_release.errors import ConfigError, RegistryError
from okd_release.mirrors import ImageMirrors, load_mirror_files
from okd_release.registry import Registries
from okd_release.registry.credentials import CredentialStore
from okd_release.registry.options import RegistryOptions
from okd_release.stores import MirroredRegistries, RegistryStore, open_store
from okd_release.testing import localregistry
from okd_release.testing.sample import push_sample
from tests.conftest import run_cli
from tests.test_signatures import (
    CONFIGMAP_FILE,
    SIGNER,
    Gpg,
    SignatureStore,
    gpg,  # noqa: F401 - the module's GnuPG home, as a fixture here too
    push_release,
    simple_signing,
    store,  # noqa: F401 - the signature store on loopback, as a fixture here too
    verification_configmap,
)

VERSION = "4.15.3-0.okd-disconnected"


def _idms(path: Path, *entries: tuple[str, list[str]], policy: str = "") -> Path:
    mirrors = [{"source": source, "mirrors": targets, **({"mirrorSourcePolicy": policy} if policy else {})}
               for source, targets in entries]
    path.write_text(json.dumps({"apiVersion": "config.openshift.io/v1", "kind": "ImageDigestMirrorSet",
                                "metadata": {"name": "test"}, "spec": {"imageDigestMirrors": mirrors}}))
    return path


# -- the rules ------------------------------------------------------------------------------------------------------
def _candidates(mirrors: ImageMirrors, pullspec: str) -> list[str]:
    return [c.name for c in mirrors.candidates(references.parse(pullspec))]


def test_a_source_covers_the_repositories_under_it_and_the_mirror_keeps_their_remainder(tmp_path: Path) -> None:
    mirrors = load_mirror_files(idms_files=[_idms(tmp_path / "idms.yaml", ("quay.io/okd", ["mirror.local:5000/okd"]))])
    digest = "@sha256:" + "a" * 64
    assert _candidates(mirrors, "quay.io/okd/release" + digest) == ["mirror.local:5000/okd/release", "quay.io/okd/release"]
    assert _candidates(mirrors, "quay.io/okd/scos/content" + digest) == [
        "mirror.local:5000/okd/scos/content", "quay.io/okd/scos/content"]
    assert _candidates(mirrors, "quay.io/okdx/release" + digest) == ["quay.io/okdx/release"]  # a prefix, not a path


def test_never_contact_source_leaves_only_the_mirrors(tmp_path: Path) -> None:
    path = _idms(tmp_path / "idms.yaml", ("quay.io/okd/release", ["m1.local/a", "m2.local/b"]), policy="NeverContactSource")
    mirrors = load_mirror_files(idms_files=[path])
    assert _candidates(mirrors, "quay.io/okd/release@sha256:" + "b" * 64) == ["m1.local/a", "m2.local/b"]


def test_an_icsp_file_with_several_documents_keeps_their_order_and_the_source_last(tmp_path: Path) -> None:
    path = tmp_path / "icsp.yaml"
    path.write_text("".join(
        f"---\napiVersion: operator.openshift.io/v1alpha1\nkind: ImageContentSourcePolicy\nmetadata:\n  name: p{n}\n"
        f"spec:\n  repositoryDigestMirrors:\n  - source: docker.io/busybox\n    mirrors:\n    - m{n}.local/busybox\n"
        for n in (1, 2)))
    mirrors = load_mirror_files(icsp_files=[path])
    assert _candidates(mirrors, "busybox@sha256:" + "c" * 64) == [
        "m1.local/busybox", "m2.local/busybox", "docker.io/library/busybox"]


@pytest.mark.parametrize(("text", "problem"), [
    ("", "holds no ImageDigestMirrorSet"),
    ("apiVersion: v1\nkind: ConfigMap\n", "is v1 ConfigMap, not an config.openshift.io/v1 ImageDigestMirrorSet"),
    ("apiVersion: config.openshift.io/v1\nkind: ImageDigestMirrorSet\nspec:\n  imageDigestMirrors: 3\n",
     "is invalid at $.spec.imageDigestMirrors: expected `array`, got `int`"),
    ("apiVersion: config.openshift.io/v1\nkind: ImageDigestMirrorSet\nspec:\n  imageDigestMirrors:\n"
     "  - source: quay.io/okd/release:4.15\n", "has a tag or digest; give a repository"),
    ("apiVersion: config.openshift.io/v1\nkind: ImageDigestMirrorSet\nspec:\n  imageDigestMirrors:\n"
     "  - source: quay.io/okd\n    mirrors: [\"../../etc\"]\n", "is not a repository"),
    ("a: [", "is not valid YAML"),
])
def test_an_unusable_idms_file_is_one_clear_error(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "idms.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as raised:
        load_mirror_files(idms_files=[path])
    assert problem in str(raised.value)
    assert "\n" not in str(raised.value)


def test_two_policies_for_one_source_are_refused_as_oc_refuses_them(tmp_path: Path) -> None:
    first = _idms(tmp_path / "a.yaml", ("quay.io/okd", ["m.local/okd"]), policy="NeverContactSource")
    second = _idms(tmp_path / "b.yaml", ("quay.io/okd", ["n.local/okd"]), policy="AllowContactingSource")
    with pytest.raises(ConfigError, match="only contain one MirrorSourcePolicy for source quay.io/okd"):
        load_mirror_files(idms_files=[first, second])


def test_icsp_and_idms_files_together_are_refused(tmp_path: Path) -> None:
    path = _idms(tmp_path / "idms.yaml", ("quay.io/okd", ["m.local/okd"]))
    result = run_cli("info", "--icsp-file", str(path), "--idms-file", str(path), "quay.io/okd/release:4.15")
    assert result.returncode == 1
    assert result.stderr == "error: --icsp-file and --idms-file are mutually exclusive\n"


# -- the whole disconnected workflow ---------------------------------------------------------------------------------
@pytest.fixture
def upstream(tmp_path_factory: pytest.TempPathFactory):
    """A source registry of this test's own, so that it can be stopped."""
    process = localregistry.start(tmp_path_factory.mktemp("upstream"))
    yield process
    process.remove()


def _signed_release(host: str, gpg: Gpg, store: SignatureStore, work: Path) -> str:  # noqa: F811
    """The sample's component images (which hold oc and openshift-install) and a release of them whose payload
    names the test signer's key and store; its signature published in the store. Its pullspec by digest."""
    with Registries(RegistryOptions(insecure=True), CredentialStore()) as registries:
        sample = push_sample(RegistryStore(registries.client(host)), "okd/content")
        components = {tag.name: tag.pullspec for tag in sample.stream.tags}
        release = push_release(registries, host, VERSION, components,
                               {CONFIGMAP_FILE: verification_configmap(gpg.public_key(SIGNER), store.url + "/")}, work)
    digest = release.split("@", 1)[1]
    store.publish(digest, gpg.sign(SIGNER, simple_signing(digest)))
    return release


def test_a_disconnected_site_reads_the_release_through_its_mirror_with_the_source_stopped(
        upstream, second_registry, gpg: Gpg, store: SignatureStore, tmp_path: Path) -> None:  # noqa: F811
    release = _signed_release(upstream.host, gpg, store, tmp_path)
    digest = release.split("@", 1)[1]
    disk = tmp_path / "usb"

    # the connected side: the release, its images and its signatures to a directory
    to_disk = run_cli("mirror", "--insecure", "--from", release, "--to-dir", str(disk))
    assert to_disk.returncode == 0, to_disk.stderr
    assert (disk / "config" / f"signature-sha256-{digest[7:23]}.json").is_file()

    # the air gap: nothing upstream is reachable any more, neither the registry nor the signature store
    upstream.stop()
    store.publish(digest)
    mirror = f"{second_registry.host}/okd/mirror"
    instructions = tmp_path / "instructions"
    upload = run_cli("mirror", "--insecure", "--from-dir", str(disk), "--to", mirror,
                     "--print-mirror-instructions", "idms", "--write-mirror-instructions", str(instructions))
    assert upload.returncode == 0, upload.stderr
    idms = instructions / "imagedigestmirrorset.yaml"
    assert f"    source: {upstream.host}/okd/signed\n" in idms.read_text()

    # info with sizes and commits: every image is read from the mirror, none from the stopped source
    started = time.monotonic()
    sizes = run_cli("info", "--insecure", "--idms-file", str(idms), "--size", release)
    assert sizes.returncode == 0, sizes.stderr
    assert f"Digest:    {digest}\n" in sizes.stdout
    assert "335.3kB across 16 layers" in sizes.stdout  # every image's manifest read, each from the mirror
    commits = run_cli("info", "--insecure", "--idms-file", str(idms), "--commits", release)
    assert commits.returncode == 0, commits.stderr
    assert "REPO COMMIT" in commits.stdout
    assert time.monotonic() - started < 30  # the stopped source is never waited for

    # the binaries, pinned to the release's own pullspec, from the mirror
    bin_dir = tmp_path / "bin"
    extracted = run_cli("extract", "--insecure", "--idms-file", str(idms), "--command", "oc", "--command-os", "linux",
                        "--to", str(bin_dir), release)
    assert extracted.returncode == 0, extracted.stderr
    oc = bin_dir / "oc"
    assert oc.stat().st_size > 0 and oc.stat().st_mode & stat.S_IXUSR

    # the signatures: the release by its digest, read from the mirror, signatures from the disk mirror's config/
    verified = run_cli("verify", "--insecure", "--idms-file", str(idms), "--signature-dir", str(disk / "config"),
                       release, "-o", "json")
    assert verified.returncode == 0, verified.stderr
    [signature] = json.loads(verified.stdout)["signatures"]
    assert signature["fingerprint"] == gpg.fingerprint(SIGNER)

    # mirror --from reads through the mirror too: the release copied again, from the mirror alone
    again = tmp_path / "again"
    copied = run_cli("mirror", "--insecure", "--idms-file", str(idms), "--from", release, "--to-dir", str(again),
                     "--allow-unverified")  # the signature store is out of reach
    assert copied.returncode == 0, copied.stderr
    assert os.readlink(again / "v2/openshift/release/manifests" / f"{VERSION}-x86_64") == digest

    # without the mirror file, the same command fails at once on the stopped source, in one line
    started = time.monotonic()
    direct = run_cli("info", "--insecure", release)
    assert direct.returncode == 1
    assert direct.stderr.startswith(f"error: nothing listens on {upstream.host}")
    assert len(direct.stderr.splitlines()) == 1
    assert time.monotonic() - started < 5


def _read_through(idms: Path, pullspec: str) -> str:
    """The digest of `pullspec`'s manifest, read as every command reads it with `--idms-file idms`."""
    reference = references.parse(pullspec)
    with MirroredRegistries(RegistryOptions(insecure=True), CredentialStore(),
                            mirrors=load_mirror_files(idms_files=[idms])) as registries:
        return open_store(reference, registries).get_manifest(reference.repository, reference.identifier).digest


def _push_sample(host: str) -> dict[str, str]:
    with Registries(RegistryOptions(insecure=True), CredentialStore()) as registries:
        sample = push_sample(RegistryStore(registries.client(host)), "okd/content")
    return {tag.name: tag.pullspec for tag in sample.stream.tags}


def test_an_image_the_mirror_lacks_is_read_from_the_source(upstream, second_registry, tmp_path: Path) -> None:
    cli = _push_sample(upstream.host)["cli"]
    idms = _idms(tmp_path / "idms.yaml", (f"{upstream.host}/okd", [f"{second_registry.host}/okd"]))
    # the mirror holds nothing: the read is asked of it, answered 404, then asked of the source
    assert _read_through(idms, cli) == cli.split("@", 1)[1]


def test_a_tag_is_read_from_the_source_only(upstream, second_registry, tmp_path: Path) -> None:
    cli = _push_sample(upstream.host)["cli"]
    assert _push_sample(second_registry.host)["cli"].split("@", 1)[1] == cli.split("@", 1)[1]  # the mirror has it
    idms = _idms(tmp_path / "idms.yaml", (f"{upstream.host}/okd", [f"{second_registry.host}/okd"]))
    upstream.stop()
    assert _read_through(idms, cli) == cli.split("@", 1)[1]  # by digest: the mirror serves it
    with pytest.raises(RegistryError) as raised:  # by tag: a tag may name other content at a mirror
        _read_through(idms, cli.split("@", 1)[0] + ":cli")
    assert str(raised.value).startswith(f"nothing listens on {upstream.host}")


def test_a_source_and_its_mirror_both_unreachable_fail_fast_naming_both(tmp_path: Path) -> None:
    idms = _idms(tmp_path / "idms.yaml", ("127.0.0.1:9/okd", ["127.0.0.1:7/okd"]))
    release = "127.0.0.1:9/okd/release@sha256:" + "d" * 64
    started = time.monotonic()
    result = run_cli("info", "--insecure", "--idms-file", str(idms), release)
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert line.index("nothing listens on 127.0.0.1:7") < line.index("nothing listens on 127.0.0.1:9")  # mirror first
    assert time.monotonic() - started < 5
