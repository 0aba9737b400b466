"""The stack's secrets: generated once, kept across starts, overridable, read through `_FILE`."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from pydantic_settings import SettingsError

from aiops_telemetry import ServiceSettings
from aiops_telemetry.stack_secrets import REDIS_CONF, SECRETS, ensure_secrets, main


def contents(folder: Path) -> dict[str, str]:
    return {str(path): path.read_text() for path in sorted(folder.rglob("*")) if path.is_file()}


def test_a_first_start_generates_every_secret_readable_by_all_and_writable_by_none(
    tmp_path: Path,
) -> None:
    """Every secret is new, distinct, long and URL-safe; files are 0444 (other uids read them)."""
    outcome = ensure_secrets(tmp_path, {})
    assert outcome == dict.fromkeys(SECRETS, "generated")
    values = [(tmp_path / name).read_text() for name in SECRETS]
    assert len(set(values)) == len(values)
    assert all(len(value) >= 32 and value.isascii() and " " not in value for value in values)
    assert (tmp_path / REDIS_CONF).read_text() == f"requirepass {values[1]}\n"
    files = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert {stat.S_IMODE(path.stat().st_mode) for path in files} == {0o444}
    assert not any(path.name.startswith(".") for path in files)


def test_a_second_start_keeps_them(tmp_path: Path) -> None:
    """What a restart (compose down, then up) must hold: the same values, none rewritten."""
    ensure_secrets(tmp_path, {})
    first = contents(tmp_path)
    assert ensure_secrets(tmp_path, {}) == dict.fromkeys(SECRETS, "kept")
    assert contents(tmp_path) == first


def test_a_value_chosen_in_the_environment_wins_while_it_is_set(tmp_path: Path) -> None:
    """.env's POSTGRES_PASSWORD is used while set; dropping it goes back to the generated one
    (never lost, as the database may have been created with either)."""
    ensure_secrets(tmp_path, {})
    generated = (tmp_path / "postgres_password").read_text()
    chosen = {"POSTGRES_PASSWORD": "chosen-by-me", "REDIS_PASSWORD": "redis-pw"}
    outcome = ensure_secrets(tmp_path, chosen)
    assert outcome["postgres_password"] == "from POSTGRES_PASSWORD"
    assert outcome["chaos_token"] == "kept"
    assert (tmp_path / "postgres_password").read_text() == "chosen-by-me"
    assert (tmp_path / REDIS_CONF).read_text() == "requirepass redis-pw\n"
    assert ensure_secrets(tmp_path, {})["postgres_password"] == "kept"
    assert (tmp_path / "postgres_password").read_text() == generated


@pytest.mark.parametrize("value", ["two words", 'quo"te', "new\nline", "dollar$sign"])
def test_a_chosen_value_a_config_file_would_mangle_is_refused(
    tmp_path: Path, value: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The one-shot service fails (status 1) naming the variable, and writes nothing."""
    monkeypatch.setenv("REDIS_PASSWORD", value)
    assert main([str(tmp_path)]) == 1
    error = capsys.readouterr().err
    assert "REDIS_PASSWORD may hold only letters, digits and" in error
    assert value not in error
    assert not any(path.is_file() for path in tmp_path.rglob("*"))


def test_the_log_line_names_what_happened_and_never_a_value(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(tmp_path)]) == 0
    line = capsys.readouterr().out
    assert line.startswith(f"stack secrets in {tmp_path}: postgres_password generated, ")
    for name in SECRETS:
        assert (tmp_path / name).read_text() not in line


def test_any_setting_reads_from_the_file_its_file_variable_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """AIOPS_<SETTING>_FILE, as the official images' POSTGRES_PASSWORD_FILE; the variable
    itself, when set, wins."""
    ensure_secrets(tmp_path, {})
    monkeypatch.setenv("AIOPS_DATABASE_PASSWORD_FILE", str(tmp_path / "postgres_password"))
    monkeypatch.setenv("AIOPS_CHAOS_TOKEN_FILE", str(tmp_path / "chaos_token"))
    settings = ServiceSettings(service_name="payment")
    assert settings.database_password_value() == (tmp_path / "postgres_password").read_text()
    assert settings.chaos_token is not None
    assert settings.chaos_token.get_secret_value() == (tmp_path / "chaos_token").read_text()
    monkeypatch.setenv("AIOPS_CHAOS_TOKEN", "from-the-variable")
    token = ServiceSettings(service_name="payment").chaos_token
    assert token is not None
    assert token.get_secret_value() == "from-the-variable"


def test_a_file_variable_naming_no_file_says_which(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIOPS_DATABASE_PASSWORD_FILE", str(tmp_path / "absent"))
    with pytest.raises(SettingsError, match=r"AIOPS_DATABASE_PASSWORD_FILE=.*absent: cannot read"):
        ServiceSettings(service_name="payment")
