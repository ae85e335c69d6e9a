"""The shared command line wrapper (intacct_mailchimp_common.cli), as each plugin sets it up.

The plugins' own failures (docs/troubleshooting.md, every row in a subprocess) are in
tests/test_troubleshooting.py; here: what a `Program` derives from its parameters, so that
the tap and the target differ only in name, package and debug variables.
"""

from __future__ import annotations

import pytest
from singer_sdk.plugin_base import SingerCommand

from intacct_mailchimp_common.cli import OneLineErrorCommand, Program
from tap_intacct.gateway import LoginError
from tap_intacct.tap import CLI as TAP_CLI
from tap_intacct.tap import TapIntacct
from target_mailchimp.sinks import ConfigurationError
from target_mailchimp.target import CLI as TARGET_CLI
from target_mailchimp.target import TargetMailchimp

PROGRAMS = {"tap-intacct": TAP_CLI, "target-mailchimp": TARGET_CLI}
DEBUG = {"tap-intacct": "TAP_INTACCT_DEBUG", "target-mailchimp": "TARGET_MAILCHIMP_DEBUG"}
LOGLEVEL = {"tap-intacct": "TAP_INTACCT_LOGLEVEL", "target-mailchimp": "TARGET_MAILCHIMP_LOGLEVEL"}


@pytest.fixture(autouse=True)
def _no_debug(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [*DEBUG.values(), *LOGLEVEL.values(), "LOGLEVEL"]:
        monkeypatch.delenv(name, raising=False)


def test_each_plugin_command_is_the_one_line_command_of_its_program() -> None:
    for plugin, cls in (("tap-intacct", TapIntacct), ("target-mailchimp", TargetMailchimp)):
        command = cls.get_singer_command()
        assert isinstance(command, OneLineErrorCommand)
        assert isinstance(command, SingerCommand)
        assert type(command).program is PROGRAMS[plugin]
        assert PROGRAMS[plugin].name == plugin


@pytest.mark.parametrize("plugin", sorted(PROGRAMS))
@pytest.mark.parametrize("value", ["1", "true", "YES", " on "])
def test_the_debug_variable_asks_for_the_traceback(
    plugin: str, value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    program = PROGRAMS[plugin]
    assert not program.debug_requested()
    monkeypatch.setenv(DEBUG[plugin], value)
    assert program.debug_requested()
    other = next(p for name, p in PROGRAMS.items() if name != plugin)
    assert not other.debug_requested()  # one plugin's variable is not the other's


@pytest.mark.parametrize("plugin", sorted(PROGRAMS))
def test_a_debug_log_level_asks_for_the_traceback(
    plugin: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    program = PROGRAMS[plugin]
    monkeypatch.setenv(DEBUG[plugin], "0")
    monkeypatch.setenv(LOGLEVEL[plugin], "info")
    assert not program.debug_requested()
    monkeypatch.setenv(LOGLEVEL[plugin], "debug")
    assert program.debug_requested()
    monkeypatch.delenv(LOGLEVEL[plugin])
    monkeypatch.setenv("LOGLEVEL", "DEBUG")
    assert program.debug_requested()


def test_one_line_names_the_type_only_of_what_the_program_does_not_own() -> None:
    tap_own = LoginError("sign-in refused:\n  check user_password")
    target_own = ConfigurationError("status_if_new\tis required")
    tap_text = " ".join(str(tap_own).split())
    assert "\n" in str(tap_own)
    assert tap_text.startswith("Intacct authentication failure: sign-in refused: check ")
    assert TAP_CLI.one_line(tap_own) == tap_text
    assert TARGET_CLI.one_line(target_own) == "status_if_new is required"
    # The other plugin's exception is foreign to a program: it names its type.
    assert TARGET_CLI.one_line(tap_own) == f"LoginError: {tap_text}"
    for program in PROGRAMS.values():
        assert program.one_line(ValueError("bad\nvalue")) == "bad value"
        assert program.one_line(OSError("disk full")) == "disk full"
        assert program.one_line(KeyError("x")) == "KeyError: 'x'"
        assert program.one_line(RuntimeError()) == "RuntimeError"
        assert program.one_line(ValueError()) == "ValueError"


def test_a_program_of_another_name_gets_its_own_command_class() -> None:
    program = Program("tap-other", "tap_other", debug_env="TAP_OTHER_DEBUG", loglevel_env="X")
    assert program.command is not TAP_CLI.command
    assert issubclass(program.command, OneLineErrorCommand)
    assert program.command.program is program
    assert TAP_CLI.command.program is TAP_CLI
