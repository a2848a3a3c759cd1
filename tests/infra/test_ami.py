"""The image, checked offline: the Packer template's properties (python-hcl2), ``packer fmt``,
shellcheck on every script, and the clean-up list against validate.sh's checks, run on scratch
trees laid out like a cleaned image (must pass) and like an uncleaned one (must fail by name)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.infra

REPO = Path(__file__).resolve().parents[2]
AMI = REPO / "ami"
SCRIPTS = AMI / "scripts"
TEMPLATE = AMI / "file-processor.pkr.hcl"
ITEMS = SCRIPTS / "cleanup-items.txt"
SHELL_SCRIPTS = [
    *sorted(SCRIPTS.glob("*.sh")),
    AMI / "build.sh",
    *sorted((REPO / "cluster" / "bin").iterdir()),
    REPO / "cluster" / "user-data.sh",
]


def _unquote(value: Any) -> Any:
    """python-hcl2 v8 keeps HCL's quotes on keys and strings: strip them, recursively."""
    if isinstance(value, str):
        return value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value
    if isinstance(value, list):
        return [_unquote(item) for item in value]
    if isinstance(value, dict):
        return {_unquote(k): _unquote(v) for k, v in value.items() if not k.startswith("__")}
    return value


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    import hcl2

    with TEMPLATE.open() as handle:
        return _unquote(hcl2.load(handle))


@pytest.fixture(scope="module")
def source(template: dict[str, Any]) -> dict[str, Any]:
    (block,) = template["source"]
    return block["amazon-ebs"]["worker"]


@pytest.fixture(scope="module")
def build(template: dict[str, Any]) -> dict[str, Any]:
    (block,) = template["build"]
    return block


def _provisioners(build: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [next(iter(p.items())) for p in build["provisioner"]]


# --- the template --------------------------------------------------------------------------


def test_packer_fmt_check() -> None:
    packer = shutil.which("packer")
    if packer is None:
        pytest.skip("packer is not installed (Debian's packer 1.6.6 handles fmt -check)")
    proc = subprocess.run([packer, "fmt", "-check", "-diff", str(TEMPLATE)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_builder_requires_imdsv2(source: dict[str, Any]) -> None:
    (meta,) = source["metadata_options"]
    assert meta["http_tokens"] == "required"
    assert meta["http_endpoint"] == "enabled"
    assert meta["http_put_response_hop_limit"] == 1
    assert source["imds_support"] == "v2.0", "instances launched from the image must require IMDSv2 too"


def test_builder_uses_an_instance_profile_and_no_keys(source: dict[str, Any]) -> None:
    assert source["iam_instance_profile"] == "${var.builder_instance_profile}"
    forbidden = {"access_key", "secret_key", "token", "ssh_keypair_name", "ssh_private_key_file", "ssh_password"}
    assert not forbidden & set(source)
    text = TEMPLATE.read_text()
    assert not re.search(r"AKIA[0-9A-Z]{16}|aws_secret_access_key|AWS_SECRET", text)


def test_base_image_is_amazon_linux_2023(source: dict[str, Any]) -> None:
    (ami_filter,) = source["source_ami_filter"]
    assert ami_filter["owners"] == ["amazon"] and ami_filter["most_recent"] is True
    assert ami_filter["filters"]["name"].startswith("al2023-ami-")


def test_image_name_and_tags(template: dict[str, Any], source: dict[str, Any]) -> None:
    (local_block,) = template["locals"]
    assert local_block["ami_name"] == "python-worker-v${local.timestamp}"
    assert local_block["timestamp"] == '${formatdate("YYYYMMDD-hhmmss", timestamp())}'
    tags = local_block["image_tags"]
    assert tags["Environment"] == "${var.environment}"
    assert tags["Application"] == "${local.application}" and local_block["application"] == "file-processor"
    assert tags["GitCommit"] == "${var.git_commit}"
    assert tags["SourceAMI"] == "{{ .SourceAMI }}"
    assert source["tags"] == "${local.image_tags}" and source["snapshot_tags"] == "${local.image_tags}"
    assert source["ami_name"] == "${local.ami_name}"


def test_root_volume_is_encrypted(source: dict[str, Any]) -> None:
    (device,) = source["launch_block_device_mappings"]
    assert device["encrypted"] is True and source["encrypt_boot"] is True


def test_scripts_run_in_order_as_root(build: dict[str, Any]) -> None:
    scripts = [body["script"] for kind, body in _provisioners(build) if kind == "shell" and "script" in body]
    assert scripts == [f"${{path.root}}/scripts/{name}.sh" for name in ("install", "cleanup", "validate")]
    for kind, body in _provisioners(build):
        if kind == "shell" and "script" in body:
            assert "sudo" in body["execute_command"] and "{{ .Vars }}" in body["execute_command"]
            assert (AMI / body["script"].removeprefix("${path.root}/")).is_file()


def test_cleanup_and_validate_do_not_leave_their_own_copy_in_tmp(build: dict[str, Any]) -> None:
    for _, body in _provisioners(build):
        if body.get("script", "").endswith(("cleanup.sh", "validate.sh")):
            assert body["remote_folder"] == "/dev/shm"
            assert "AMI_ROOT=/" in body["environment_vars"]


def test_versions_are_downloaded_before_cleanup(build: dict[str, Any]) -> None:
    kinds = [(kind, body.get("script", body.get("direction", ""))) for kind, body in _provisioners(build)]
    download = kinds.index(("file", "download"))
    cleanup = next(i for i, (_, what) in enumerate(kinds) if what.endswith("cleanup.sh"))
    install = next(i for i, (_, what) in enumerate(kinds) if what.endswith("install.sh"))
    assert install < download < cleanup
    body = _provisioners(build)[download][1]
    assert body["source"] == "/opt/file-processor/MANIFEST.json"
    assert body["destination"].endswith("/output/${local.ami_name}.versions.json")


def test_manifest_post_processor(build: dict[str, Any]) -> None:
    (post,) = build["post-processor"]
    manifest = post["manifest"]
    assert manifest["output"].endswith("/output/manifest.json")
    assert manifest["custom_data"]["git_commit"] == "${var.git_commit}"
    assert manifest["custom_data"]["versions"] == "${local.ami_name}.versions.json"


def test_amazon_plugin_is_pinned(template: dict[str, Any]) -> None:
    (packer,) = template["packer"]
    (plugins,) = packer["required_plugins"]
    assert plugins["amazon"]["source"] == "github.com/hashicorp/amazon"
    assert plugins["amazon"]["version"].startswith(">=")


DEBIAN_TESSDATA = Path("/usr/share/tesseract-ocr/5/tessdata")
LANGUAGES = ("jpn", "eng", "osd", "jpn_vert")


def _pins() -> dict[str, str]:
    """versions.env as a dict (values unquoted)."""
    return {
        key: value.strip('"')
        for key, _, value in (
            line.partition("=")
            for line in (SCRIPTS / "versions.env").read_text().splitlines()
            if "=" in line and not line.startswith("#")
        )
    }


def _need_debian_tessdata() -> None:
    missing = [lang for lang in LANGUAGES if not (DEBIAN_TESSDATA / f"{lang}.traineddata").exists()]
    if missing:
        pytest.skip(f"Debian's language data for {missing} is not installed here")


def test_versions_pin_every_language_and_no_source_build() -> None:
    pins = _pins()
    assert all(value for value in pins.values()), [key for key, value in pins.items() if not value]
    assert pins["TESSDATA_LANGUAGES"].split() == list(LANGUAGES)
    for lang in LANGUAGES:
        assert re.fullmatch(r"[0-9a-f]{64}", pins[f"TESSDATA_{lang.upper()}_SHA256"]), lang
    assert not {key for key in pins if key.startswith(("LEPTONICA", "TESSERACT_"))}, "no engine built from source"
    install = (SCRIPTS / "install.sh").read_text()
    assert not re.search(r"\./configure|autogen\.sh|make -j|tesseract --version", install)
    for needle in ("--require-hashes", "amazon-cloudwatch-agent", "cluster/systemd/", "MANIFEST.json",
                   "tesserocr.tesseract_version()"):
        assert needle in install


def test_pinned_language_data_matches_the_engine_under_test() -> None:
    """The pinned digests are those of the traineddata the test suite runs the engine with."""
    import hashlib

    _need_debian_tessdata()
    pins = _pins()
    for lang in LANGUAGES:
        digest = hashlib.sha256((DEBIAN_TESSDATA / f"{lang}.traineddata").read_bytes()).hexdigest()
        assert pins[f"TESSDATA_{lang.upper()}_SHA256"] == digest, lang


def _install_step(
    step: str, destdir: Path, base_url: str, versions: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run one step of install.sh under DESTDIR, the language data fetched from ``base_url``."""
    build = destdir.parent / "build"
    if not build.exists():
        shutil.copytree(REPO / "cluster", build / "cluster")
        shutil.copytree(SCRIPTS, build / "ami" / "scripts")
        (build / "docs").mkdir()
        shutil.copy(REPO / "docs" / "nodes.md", build / "docs" / "nodes.md")
    if versions is not None:
        shutil.copy(versions, build / "ami" / "scripts" / "versions.env")
    text = (build / "ami" / "scripts" / "versions.env").read_text()
    (build / "ami" / "scripts" / "versions.env").write_text(
        re.sub(r"(?m)^TESSDATA_BASE_URL=.*$", f"TESSDATA_BASE_URL={base_url}", text)
    )
    env = {"PATH": "/usr/bin:/bin", "BUILD_DIR": str(build), "DESTDIR": str(destdir), "SYSTEMCTL": "false"}
    return subprocess.run(["bash", str(SCRIPTS / "install.sh"), "--step", step], env=env,
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture(scope="module")
def image_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scratch image root after install.sh's language-data and cluster-files steps (no source build)."""
    _need_debian_tessdata()
    root = tmp_path_factory.mktemp("image") / "root"
    for step in ("language_data", "cluster_files"):
        proc = _install_step(step, root, f"file://{DEBIAN_TESSDATA}")
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return root


def test_install_puts_every_pinned_language_where_the_service_reads_it(image_root: Path) -> None:
    tessdata = image_root / _pins()["TESSDATA_DIR"].lstrip("/")
    assert sorted(p.name for p in tessdata.iterdir()) == sorted(f"{lang}.traineddata" for lang in LANGUAGES)
    installed = (image_root / "opt/file-processor/ami/versions.env").read_text()
    assert "TESSDATA_DIR=/usr/local/share/tessdata" in installed, "validate.sh on the image reads this copy"


def test_install_stops_on_a_digest_mismatch_and_leaves_nothing(tmp_path: Path) -> None:
    _need_debian_tessdata()
    versions = tmp_path / "versions.env"
    versions.write_text((SCRIPTS / "versions.env").read_text().replace(
        _pins()["TESSDATA_OSD_SHA256"], "0" * 64))
    root = tmp_path / "root"
    proc = _install_step("language_data", root, f"file://{DEBIAN_TESSDATA}", versions)
    assert proc.returncode == 1 and "sha256 mismatch" in proc.stderr and "osd.traineddata" in proc.stderr
    assert not (root / _pins()["TESSDATA_DIR"].lstrip("/") / "osd.traineddata").exists()


def _validate_live(root: Path) -> subprocess.CompletedProcess[str]:
    """validate.sh's live checks on a scratch image root, with the real ocr-cluster."""
    ocr_cluster = Path(sys.executable).with_name("ocr-cluster")
    env = {"PATH": os.environ["PATH"], "OCR_CLUSTER": str(ocr_cluster), "HOME": str(root)}
    return subprocess.run(["bash", str(SCRIPTS / "validate.sh"), "--root", str(root), "--live"], env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def test_validate_runs_the_service_check_on_the_installed_language_data(image_root: Path) -> None:
    """The check that failed on the image (default OCR_TESSDATA vs the install path) now uses one path."""
    (image_root / "etc/machine-id").parent.mkdir(parents=True, exist_ok=True)
    (image_root / "etc/machine-id").write_text("")
    proc = _validate_live(image_root)
    assert "ok   ocr-cluster validate --offline (OCR_TESSDATA=/usr/local/share/tessdata)" in proc.stdout, proc.stdout
    for lang in LANGUAGES:
        assert f"ok   language data {lang} (sha256 pinned)" in proc.stdout
    assert proc.returncode == 0, proc.stdout


def test_validate_fails_on_tampered_language_data(image_root: Path, tmp_path: Path) -> None:
    root = tmp_path / "root"
    shutil.copytree(image_root, root, symlinks=True)
    target = root / _pins()["TESSDATA_DIR"].lstrip("/") / "jpn_vert.traineddata"
    target.write_bytes(target.read_bytes()[:-1])
    (root / _pins()["TESSDATA_DIR"].lstrip("/") / "eng.traineddata").unlink()
    proc = _validate_live(root)
    assert proc.returncode == 1
    assert "FAIL language data jpn_vert: sha256" in proc.stdout
    assert "FAIL language data eng: /usr/local/share/tessdata/eng.traineddata missing" in proc.stdout
    assert "FAIL ocr-cluster validate --offline" in proc.stdout, "the engine needs eng"


# --- shell scripts -------------------------------------------------------------------------


@pytest.mark.parametrize("script", SHELL_SCRIPTS, ids=lambda p: str(p.relative_to(REPO)))
def test_shellcheck(script: Path) -> None:
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck is not installed")
    proc = subprocess.run(
        [shellcheck, "-x", "--severity=style", str(script.relative_to(REPO))],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("script", [p for p in SHELL_SCRIPTS if p.name != "lib.sh"], ids=lambda p: p.name)
def test_scripts_are_strict(script: Path) -> None:
    assert "set -o errexit -o nounset -o pipefail" in script.read_text()
    assert script.stat().st_mode & 0o111, f"{script} is not executable"


# --- clean-up list vs validate's checks ----------------------------------------------------


def _items() -> list[tuple[str, str, str]]:
    out = []
    for line in ITEMS.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            kind, path, *rest = line.split(None, 2)
            out.append((kind, path, rest[0].strip() if rest else ""))
    return out


def _case_kinds(script: Path) -> set[str]:
    """The KIND labels of the `case "$kind"` statement in a script."""
    body = script.read_text().split('case "$kind" in', 1)[1].split("esac", 1)[0]
    return set(re.findall(r"^\s+([a-z]+)\)", body, re.MULTILINE))


def test_items_list_is_the_required_set() -> None:
    paths = {path for _, path, _ in _items()}
    for required in (
        "/etc/machine-id",
        "/etc/ssh/ssh_host_*",
        "/root/.ssh/authorized_keys",
        "/home/*/.ssh/authorized_keys",
        "/var/lib/cloud/instances/*",
        "/root/.bash_history",
        "/home/*/.bash_history",
        "/tmp/*",
        "/var/tmp/*",
        "/var/log/journal/*",
        "/root/.aws",
        "/etc/file-processor/env",
        "/etc/environment",
    ):
        assert required in paths, required
    assert {kind for kind, _, _ in _items()} == {"absent", "empty", "noenv"}


def test_cleanup_and_validate_handle_the_same_kinds() -> None:
    kinds = {kind for kind, _, _ in _items()}
    assert _case_kinds(SCRIPTS / "cleanup.sh") == kinds
    assert _case_kinds(SCRIPTS / "validate.sh") == kinds


def test_no_path_cleaned_or_validated_outside_the_list() -> None:
    """Neither script names an image path of its own: both take them all from cleanup-items.txt."""
    allowed = {"/opt/file-processor/venv/bin/ocr-cluster", "/opt/file-processor/ami", "/tmp/scratch"}
    for name in ("cleanup.sh", "validate.sh", "lib.sh"):
        code = "\n".join(
            line for line in (SCRIPTS / name).read_text().splitlines() if not line.lstrip().startswith("#")
        )
        paths = set(re.findall(r"(?<![\w.$}])/(?:etc|var|root|home|tmp|run)(?:/[\w.*-]+)+", code))
        assert paths <= allowed, (name, paths - allowed)
        assert "rm " not in code or name == "cleanup.sh"


def _run(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPTS / script), *args], capture_output=True, text=True, timeout=60, check=False
    )


def _dirty(root: Path, kind: str, glob: str, pattern: str) -> str:
    """Make one item dirty under ROOT; return the path validate must name."""
    path = glob.replace("*", "leftover")
    target = root / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    if kind == "noenv":
        name = pattern.strip("()").split("|")[0].replace("[A-Z_]*", "_X")
        target.write_text(f"PATH=/usr/bin\nexport {name}=leaked\n")
    else:
        target.write_text("left over\n")
    return path


def _clean_tree(root: Path) -> None:
    """A scratch tree laid out like a cleaned image."""
    for rel in (
        "etc/ssh",
        "home/ec2-user/.ssh",
        "root",
        "tmp",
        "var/tmp",
        "var/log/journal",
        "var/lib/cloud",
        "etc/profile.d",
        "etc/file-processor",
    ):
        (root / rel).mkdir(parents=True, exist_ok=True)
    (root / "etc/machine-id").write_text("")
    (root / "etc/ssh/sshd_config").write_text("PasswordAuthentication no\n")
    (root / "etc/environment").write_text("LANG=C.UTF-8\n")
    (root / "etc/profile.d/tessdata.sh").write_text("export TESSDATA_PREFIX=/usr/local/share/tessdata\n")
    (root / "etc/file-processor/env.template").write_text("OCR_QUEUE_URL=\n")
    (root / "home/ec2-user/.bashrc").write_text("alias ll='ls -l'\n")


def test_cleaned_tree_passes(tmp_path: Path) -> None:
    _clean_tree(tmp_path)
    proc = _run("validate.sh", "--root", str(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "skip live checks" in proc.stdout
    assert proc.stdout.count("\nok   ") + proc.stdout.startswith("ok   ") == len(_items())


def test_uncleaned_tree_fails_naming_each_leftover(tmp_path: Path) -> None:
    _clean_tree(tmp_path)
    expected = [_dirty(tmp_path, kind, glob, pattern) for kind, glob, pattern in _items()]
    proc = _run("validate.sh", "--root", str(tmp_path), "--files-only")
    assert proc.returncode == 1
    failures = [line for line in proc.stdout.splitlines() if line.startswith("FAIL")]
    assert len(failures) == len(expected)
    for path in expected:
        assert any(path in line for line in failures), (path, failures)


@pytest.mark.parametrize("item", _items(), ids=lambda item: item[1])
def test_each_item_is_validated_and_cleaned(tmp_path: Path, item: tuple[str, str, str]) -> None:
    """Symmetry, item by item: validate catches exactly this leftover, cleanup removes it."""
    kind, glob, pattern = item
    _clean_tree(tmp_path)
    path = _dirty(tmp_path, kind, glob, pattern)
    before = _run("validate.sh", "--root", str(tmp_path))
    assert before.returncode == 1 and path in before.stdout
    assert before.stdout.count("FAIL") == 1, before.stdout
    cleaned = _run("cleanup.sh", "--root", str(tmp_path))
    assert cleaned.returncode == 0, cleaned.stderr
    after = _run("validate.sh", "--root", str(tmp_path))
    assert after.returncode == 0, after.stdout
    if kind == "noenv":
        assert "PATH=/usr/bin" in (tmp_path / path.lstrip("/")).read_text(), "cleanup removed too much"


def test_cleanup_keeps_what_is_not_listed(tmp_path: Path) -> None:
    _clean_tree(tmp_path)
    keep = [
        tmp_path / "etc/ssh/sshd_config",
        tmp_path / "etc/file-processor/env.template",
        tmp_path / "etc/profile.d/tessdata.sh",
        tmp_path / "home/ec2-user/.bashrc",
    ]
    assert _run("cleanup.sh", "--root", str(tmp_path)).returncode == 0
    assert all(path.exists() for path in keep)


def test_cleanup_refuses_without_an_explicit_root() -> None:
    proc = _run("cleanup.sh")
    assert proc.returncode == 2 and "--root" in proc.stderr


def test_missing_machine_id_fails(tmp_path: Path) -> None:
    _clean_tree(tmp_path)
    (tmp_path / "etc/machine-id").unlink()
    proc = _run("validate.sh", "--root", str(tmp_path))
    assert proc.returncode == 1 and "missing /etc/machine-id" in proc.stdout
