"""The two plugins install and describe themselves."""

from __future__ import annotations

import json
import subprocess
import sys


def _about(module: str) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-m", module, "--about", "--format", "json"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out)


def test_tap_about_marks_passwords_secret() -> None:
    about = _about("tap_intacct")
    props = about["settings"]["properties"]
    assert props["sender_password"]["secret"] is True
    assert props["user_password"]["secret"] is True
    assert props["api_url"]["default"] == "https://api.intacct.com/ia/xml/xmlgw.phtml"


def test_target_about_marks_api_key_secret() -> None:
    about = _about("target_mailchimp")
    props = about["settings"]["properties"]
    assert props["api_key"]["secret"] is True
    assert props["max_concurrency"]["default"] == 10
