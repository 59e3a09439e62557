"""Every command and group has a helpful --help with an example; the command table is honest."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from bevel.cli.main import COMMANDS, cli, load_command


def _command_paths() -> list[tuple[str, ...]]:
    """Every command path from the table, groups and their subcommands alike."""
    paths: list[tuple[str, ...]] = []
    for name in COMMANDS:
        command = load_command(name)
        paths.append((name,))
        if isinstance(command, click.Group):
            ctx = click.Context(command)
            paths.extend((name, sub) for sub in command.list_commands(ctx))
    return paths


@pytest.mark.parametrize("path", _command_paths(), ids=" ".join)
def test_every_command_has_help_with_an_example(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert f"Usage: bevel {' '.join(path)}" in result.output
    assert "Example" in result.output, f"`bevel {' '.join(path)} --help` shows no example"


def test_top_level_help_lists_every_command_with_an_example() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    assert "Examples:" in result.output
    for name, (_, short_help) in COMMANDS.items():
        assert name in result.output and short_help in result.output


@pytest.mark.parametrize("name", list(COMMANDS))
def test_table_help_matches_the_command_help(name: str) -> None:
    """`bevel --help` shows the table's line without importing; it must not drift."""
    command = load_command(name)
    assert command.help is not None
    assert command.help.strip().splitlines()[0] == COMMANDS[name][1]


def test_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0 and result.output.startswith("bevel, version ")


def test_unknown_command_suggests_the_closest() -> None:
    result = CliRunner().invoke(cli, ["rnus"])
    assert result.exit_code == 2
    assert "No such command 'rnus'. Did you mean 'runs'?" in result.output
