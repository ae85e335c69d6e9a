"""The repository stands alone: nothing tracked points outside the clone for reference files."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.sandbox.reference import (
    INTACCT_FIXTURES,
    INTACCT_XSD,
    MAILCHIMP_SCHEMAS,
    REFERENCE_DIR,
)

ROOT = Path(__file__).resolve().parents[1]
PROVENANCE = REFERENCE_DIR / "PROVENANCE.md"
# Split so this file does not name the folder itself. The second pattern catches a path built in
# code, e.g. `root.parent / "shared" / "reference"`.
OUTSIDE = re.compile(rb"\.\./" + rb"shared|[\"']shared[\"']\s*/\s*[\"']reference[\"']")


def _tracked() -> list[Path]:
    out = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    return [ROOT / name for name in out.split("\0") if name]


def test_the_pattern_finds_both_ways_of_naming_the_folder() -> None:
    assert OUTSIDE.search(b"see ../" + b"shared/reference/x")
    assert OUTSIDE.search(b'ROOT.parent / "' + b'shared" / "reference" / "x"')
    assert not OUTSIDE.search(b'vend["shared"] = add(...)')


def test_no_tracked_file_but_the_provenance_note_names_the_folder_outside() -> None:
    offenders = []
    for path in _tracked():
        if path in (PROVENANCE, Path(__file__).resolve()) or not path.is_file():
            continue
        if OUTSIDE.search(path.read_bytes()):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_the_provenance_note_names_every_vendored_folder_and_its_licence() -> None:
    note = PROVENANCE.read_text(encoding="utf-8")
    for folder in (INTACCT_XSD.parent, INTACCT_FIXTURES, MAILCHIMP_SCHEMAS):
        assert f"`{folder.name}" in note
        assert (folder / "LICENSE").is_file(), folder
    assert INTACCT_XSD.is_file()
    assert len(list(INTACCT_FIXTURES.glob("*.xml"))) >= 7
    assert len(list(MAILCHIMP_SCHEMAS.glob("*.in.json"))) >= 10


def test_the_vendored_files_are_tracked() -> None:
    tracked = set(_tracked())
    assert INTACCT_XSD in tracked
    assert PROVENANCE in tracked
    assert all(p in tracked for p in MAILCHIMP_SCHEMAS.glob("*.json"))
