"""The Mailchimp sandbox keeps its account across restarts when given a state file."""

from __future__ import annotations

from pathlib import Path

import requests

from tests.sandbox.mailchimp import MailchimpSandbox, subscriber_hash


def _put_member(mc: MailchimpSandbox, email: str) -> None:
    r = requests.put(
        f"{mc.base_url}/lists/{mc.list_id}/members/{subscriber_hash(email)}",
        json={"email_address": email, "status_if_new": "subscribed"},
        auth=("any", mc.api_key),
        timeout=10,
    )
    assert r.status_code == 200, r.text


def test_state_file_survives_restart(tmp_path: Path) -> None:
    state = tmp_path / "mailchimp.state"
    key = "0123456789abcdef0123456789abcdef-us6"
    with MailchimpSandbox(api_key=key, state_file=state) as mc:
        _put_member(mc, "Ann@Example.com")
        mc.seed_member("gone@example.com", status="unsubscribed")
    assert state.exists()

    with MailchimpSandbox(api_key=key, state_file=state) as mc:
        ann = mc.member("ann@example.com")
        assert ann is not None
        assert ann["status"] == "subscribed"
        gone = mc.member("gone@example.com")
        assert gone is not None
        assert gone["status"] == "unsubscribed"
        # the restored account still takes writes, and merge fields are not duplicated
        _put_member(mc, "bob@example.com")
        fields = requests.get(
            f"{mc.base_url}/lists/{mc.list_id}/merge-fields",
            auth=("any", mc.api_key),
            timeout=10,
        ).json()["merge_fields"]
        tags = [f["tag"] for f in fields]
        assert sorted(tags) == sorted(set(tags))


def test_without_state_file_nothing_is_kept(tmp_path: Path) -> None:
    with MailchimpSandbox() as mc:
        _put_member(mc, "ann@example.com")
    with MailchimpSandbox() as mc:
        assert mc.member("ann@example.com") is None
