"""Bad operator input gets one clear line and a non-zero exit, never a traceback."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hmis_handoff.config import load_settings
from hmis_handoff.errors import ConfigError
from tests.conftest import run_cli
from tests.pipeline.test_pipeline import drop_rows, make_pipeline, rows, run_all
from usecases.initialise import initialise


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    initialise(data, demo=True)
    return data


def _assert_one_clean_line(result: object, *expected: str) -> None:
    stderr = result.stderr  # type: ignore[attr-defined]
    assert result.returncode != 0  # type: ignore[attr-defined]
    assert "Traceback" not in stderr and "╭" not in stderr, stderr
    for text in expected:
        assert text in stderr, stderr


def test_encrypt_onto_an_existing_output(root: Path, tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_text("hello")
    out = tmp_path / "out.age"
    out.write_bytes(b"keep me")
    recipient = (root / "handoff.toml").read_text().split('archive_recipient = "')[1][:62]
    result = run_cli("encrypt", str(source), "-r", recipient, "-o", str(out), check=False)
    _assert_one_clean_line(result, "already exists")
    assert out.read_bytes() == b"keep me"


def test_decrypt_onto_a_dangling_symlink(root: Path, tmp_path: Path) -> None:
    pipe = make_pipeline(root)
    drop_rows(root, rows(1, "DEC"))
    (outcome,), _ = run_all(pipe)
    package = root / "partners" / "demo-partner" / "outbox" / f"{outcome.package_id}.age"
    link = tmp_path / "out.csv"
    os.symlink(tmp_path / "missing" / "target.csv", link)
    result = run_cli(
        "decrypt", str(package), "-i", str(root / "demo-keys" / "demo-partner.key"),
        "-o", str(link), "--config", str(root / "handoff.toml"), check=False,
    )  # fmt: skip
    _assert_one_clean_line(result, "NOT decrypted")
    assert link.is_symlink() and not (tmp_path / "missing").exists()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("nonsense://x", "ledger.url"),
        ("postgresql+psycopg://nobody:secret-pw@127.0.0.1:1/db", "ledger database failed"),
    ],
)
def test_a_bad_ledger_url(root: Path, url: str, expected: str) -> None:
    result = run_cli(
        "status", "--config", str(root / "handoff.toml"),
        env={"HANDOFF_LEDGER__URL": url}, check=False,
    )  # fmt: skip
    _assert_one_clean_line(result, expected)
    assert "secret-pw" not in result.stderr


@pytest.mark.parametrize("data_root", ["/", "/etc", "/usr/share", "HOME", "FOREIGN"])
def test_unsafe_data_roots_are_refused(tmp_path: Path, data_root: str) -> None:
    config = tmp_path / "conf" / "handoff.toml"
    initialise(config.parent, demo=True)
    if data_root == "HOME":
        data_root = str(Path.home())
    elif data_root == "FOREIGN":
        foreign = tmp_path / "someone-elses"
        foreign.mkdir()
        (foreign / "thesis.docx").write_bytes(b"x")
        data_root = str(foreign)
    text = config.read_text().replace('data_root = "."', f'data_root = "{data_root}"')
    config.write_text(text)
    with pytest.raises(ConfigError, match="data root"):
        load_settings(config)
    result = run_cli("status", "--config", str(config), check=False)
    _assert_one_clean_line(result, "data root")
    assert not Path("/state").exists()


def test_an_own_or_new_data_root_is_accepted(tmp_path: Path) -> None:
    config = tmp_path / "conf" / "handoff.toml"
    initialise(config.parent, demo=True)
    fresh = tmp_path / "new-root"
    config.write_text(config.read_text().replace('data_root = "."', f'data_root = "{fresh}"'))
    assert load_settings(config).root == fresh
