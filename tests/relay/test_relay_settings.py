"""Settings precedence (flags > env > file > defaults), secrets handling and the CLI's errors."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from relay_helpers import hybridops

from dr.errors import ConfigError
from dr.relay.settings import load_secrets, load_settings


def test_flags_override_env_which_overrides_the_file(tmp_path: Path) -> None:
    """The same setting from three sources: the flag wins, then the environment, then the file."""
    config = tmp_path / "relay.yml"
    config.write_text("repo: file/repo\nport: 1111\nhost: 0.0.0.0\nstate_dir: /from/file\n")
    env = {"HYBRIDOPS_RELAY_PORT": "2222", "HYBRIDOPS_RELAY_REPO": "env/repo"}
    settings = load_settings(
        config_file=config, env=env, overrides={"repo": "flag/repo", "host": None}
    )
    assert (settings.repo, settings.port, settings.host) == ("flag/repo", 2222, "0.0.0.0")
    assert settings.state_dir == Path("/from/file")
    assert settings.github_api_url == "https://api.github.com"


def test_config_file_from_env(tmp_path: Path) -> None:
    config = tmp_path / "relay.yml"
    config.write_text("repo: a/b\nstate_dir: s\n")
    assert load_settings(env={"HYBRIDOPS_RELAY_CONFIG": str(config)}).repo == "a/b"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("repo: a/b\n", "invalid relay settings: state_dir: Field required"),
        (
            "repo: not-a-repo\nstate_dir: s\n",
            "invalid relay settings: repo: String should match pattern",
        ),
        (
            "repo: a/b\nstate_dir: s\nrepository: typo\n",
            "invalid relay settings: repository: Extra inputs are not permitted",
        ),
        ("- a\n", "must be a mapping of settings"),
    ],
)
def test_invalid_settings_name_the_problem(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "relay.yml"
    config.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_settings(config_file=config, env={})
    assert message in str(err.value)


def test_secrets_from_files_or_env_and_never_in_errors(tmp_path: Path) -> None:
    """Files win over env; errors name the file or variable, never a value."""
    (tmp_path / "gh").write_text("ghp_from_file\n")
    settings = load_settings(
        overrides={"repo": "a/b", "state_dir": tmp_path, "github_token_file": tmp_path / "gh"},
        env={},
    )
    secrets = load_secrets(
        settings,
        env={"HYBRIDOPS_RELAY_GITHUB_TOKEN": "ghp_env", "HYBRIDOPS_RELAY_AUTH_TOKEN": "hook"},
    )
    assert secrets.github_token.get_secret_value() == "ghp_from_file"
    assert secrets.auth_token.get_secret_value() == "hook"
    assert "hook" not in repr(secrets)
    with pytest.raises(
        ConfigError,
        match="no webhook bearer token: give its file in settings, or set HYBRIDOPS_RELAY_AUTH_TOKEN",
    ):
        load_secrets(settings, env={})
    (tmp_path / "empty").write_text("  \n")
    empty = settings.model_copy(update={"auth_token_file": tmp_path / "empty"})
    with pytest.raises(ConfigError, match="is empty"):
        load_secrets(empty, env={})


def test_cli_reports_config_errors_as_one_line_exit_1(tmp_path: Path) -> None:
    """`hybridops relay serve` without a state dir: `error: ...` on stderr, exit 1."""
    result = subprocess.run(
        hybridops("relay", "serve", "--repo", "a/b"),
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 1
    assert result.stderr.strip() == "error: invalid relay settings: state_dir: Field required"


def test_cli_usage_error_is_exit_2() -> None:
    result = subprocess.run(
        hybridops("relay", "serve", "--port", "x"), capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2


def test_cli_render_rules(tmp_path: Path) -> None:
    """`hybridops relay render-rules` writes shortened copies of the committed rule files."""
    result = subprocess.run(
        hybridops(
            "relay", "render-rules", "--out", str(tmp_path), "--for", "10s", "--interval", "1s"
        ),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    written = sorted(Path(p).name for p in result.stdout.split())
    assert written == ["central-dr-alerts.yml", "leaf-dr-signals.yml"]
    text = (tmp_path / "central-dr-alerts.yml").read_text()
    assert "for: 10s" in text and "for: 5m" not in text
