"""Sanitizing: forbidden characters go, legal text stays, and the result always round-trips."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st
from lxml import etree

from tap_intacct.gateway import Filter, is_xml_safe, query_function, sanitize_text

FORBIDDEN = [chr(c) for c in range(0x20) if c not in (0x9, 0xA, 0xD)] + [
    "\ud800",
    "\udbff",
    "\udc00",
    "\udfff",
    "\ufffe",
    "\uffff",
]

# Characters XML 1.0 allows (surrogates and U+FFFE/U+FFFF are outside these ranges).
legal_chars = st.one_of(
    st.sampled_from("\t\n\r"),
    st.characters(min_codepoint=0x20, max_codepoint=0xD7FF),
    st.characters(min_codepoint=0xE000, max_codepoint=0xFFFD),
    st.characters(min_codepoint=0x10000, max_codepoint=0x10FFFF),
)
legal_text = st.text(alphabet=legal_chars)
# Anything Python can hold, lone surrogates included.
any_text = st.text(alphabet=st.characters(codec=None, exclude_categories=()))


def roundtrip_text(value: str) -> str:
    node = etree.Element("value")
    node.text = value
    wrapper = etree.Element("x", attr=value)
    wrapper.append(node)
    parsed = etree.fromstring(etree.tostring(wrapper, encoding="UTF-8"))
    assert parsed.get("attr") == value
    return parsed.findtext("value") or ""


@given(any_text)
@example("a\x00b\x01c\x08d\x0be\x0cf\x1fg\ud800h\udfffi\ufffej\uffffk")
@example("&<>\"'")
@example("]]>")
def test_sanitized_text_always_serializes_and_round_trips(value: str) -> None:
    clean = sanitize_text(value)
    assert is_xml_safe(clean)
    assert roundtrip_text(clean) == clean


@given(legal_text)
@example('Erik\'s Deli & <Sons> "quoted" \t\n\r ]]> \U0001f600 \ud7ff \ue000 \ufffd')
def test_legal_text_is_unchanged(value: str) -> None:
    assert sanitize_text(value) == value


@given(any_text)
def test_sanitizing_only_removes_forbidden_characters(value: str) -> None:
    clean = sanitize_text(value)
    kept = iter(clean)
    for char in value:
        if is_xml_safe(char):
            assert next(kept) == char
    assert next(kept, None) is None
    assert sanitize_text(clean) == clean


def test_each_forbidden_character_is_stripped() -> None:
    for char in FORBIDDEN:
        assert not is_xml_safe(char)
        assert sanitize_text(f"a{char}b") == "ab"
    for char in "\t\n\r \ud7ff\ue000\ufffd\U00010000\U0010ffff":
        assert sanitize_text(char) == char


def test_lxml_alone_would_refuse_the_forbidden_characters() -> None:
    """Why sanitizing is needed: lxml raises instead of writing broken XML."""
    node = etree.Element("value")
    for char in ("\x00", "\x01", "\x1f"):
        try:
            node.text = f"a{char}"
        except ValueError:
            continue
        raise AssertionError(f"lxml accepted {char!r}")


@given(any_text)
def test_filter_values_are_sent_sanitized(value: str) -> None:
    function = query_function("CUSTOMER", ["NAME"], filter=Filter.eq("NAME", value))
    parsed = etree.fromstring(etree.tostring(function))
    assert parsed.findtext("filter/equalto/value") in (sanitize_text(value), None)
    if sanitize_text(value):
        assert parsed.findtext("filter/equalto/value") == sanitize_text(value)
