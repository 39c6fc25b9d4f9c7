"""The ``soundsync`` command's arguments: ids are Discord snowflakes, bad ones get one line."""

from __future__ import annotations

import argparse
import contextlib
import io
from collections.abc import Iterator
from importlib.metadata import version

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from soundsync_cli.main import build_parser
from soundsync_core.snowflakes import SNOWFLAKE_MAX

# Every id argument of every command, as argv built around the text under test. Positionals
# come after "--" and options as --opt=TEXT, so any text reaches the argument's type.
ID_ARGUMENTS = {
    "matches user_id": (lambda t: ["matches", "--guild=5", "--", t], "user_id"),
    "matches --guild": (lambda t: ["matches", "1", f"--guild={t}"], "guild"),
    "recluster --guild": (lambda t: ["recluster", f"--guild={t}"], "guild"),
    "export-matches --guild": (lambda t: ["export-matches", f"--guild={t}"], "guild"),
    "tribes --guild": (lambda t: ["tribes", f"--guild={t}"], "guild"),
    "link-url user_id": (lambda t: ["link-url", "--", t], "user_id"),
    "link-url --guild": (lambda t: ["link-url", "1", f"--guild={t}"], "guild"),
}


def _parse(argv: list[str]) -> tuple[argparse.Namespace | None, int, str]:
    """(namespace or None, exit code, stderr) of parsing ``argv``."""
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        try:
            return build_parser().parse_args(argv), 0, stderr.getvalue()
        except SystemExit as exit_:
            return None, int(exit_.code or 0), stderr.getvalue()


def _is_snowflake(text: str) -> bool:
    return text.isascii() and text.isdigit() and 0 < int(text) <= SNOWFLAKE_MAX


@pytest.mark.parametrize("argument", sorted(ID_ARGUMENTS))
@pytest.mark.parametrize(
    "text", ["0", "-5", "+5", str(2**63), "1e30", " 7", "٣", "²", "abc", "", "9" * 100_000]
)
def test_a_bad_id_is_one_line_and_exit_2(argument: str, text: str) -> None:
    build, _ = ID_ARGUMENTS[argument]
    namespace, code, stderr = _parse(build(text))
    assert (namespace, code) == (None, 2)
    assert len(stderr.splitlines()) == 1
    assert "must be a Discord id" in stderr
    assert len(stderr) < 300


@pytest.mark.parametrize("argument", sorted(ID_ARGUMENTS))
def test_the_largest_snowflake_is_accepted(argument: str) -> None:
    build, dest = ID_ARGUMENTS[argument]
    namespace, code, _ = _parse(build(str(SNOWFLAKE_MAX)))
    assert code == 0
    assert getattr(namespace, dest) == SNOWFLAKE_MAX


@settings(max_examples=60, deadline=None)
@given(argument=st.sampled_from(sorted(ID_ARGUMENTS)),
       text=st.one_of(st.text(), st.integers().map(str), st.from_regex(r"\A[0-9]{1,25}\Z")))
def test_any_text_as_an_id_is_parsed_or_refused_in_one_line(argument: str, text: str) -> None:
    build, dest = ID_ARGUMENTS[argument]
    namespace, code, stderr = _parse(build(text))
    if _is_snowflake(text):
        assert code == 0
        assert getattr(namespace, dest) == int(text)
    else:
        assert code == 2
        assert len(stderr.splitlines()) == 1


def test_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"soundsync {version('soundsync')}"


def _actions(parser: argparse.ArgumentParser, path: str) -> Iterator[tuple[str, str, str | None]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            for name, child in action.choices.items():
                yield f"{path} {name}", name, helps.get(name)
                yield from _actions(child, f"{path} {name}")
        elif not isinstance(action, (argparse._HelpAction, argparse._VersionAction)):
            yield path, action.dest, action.help


def test_every_command_and_argument_has_help_text() -> None:
    missing = [f"{path}: {dest}" for path, dest, text in _actions(build_parser(), "soundsync")
               if not text]
    assert missing == []
