"""Stored texts made fit for formats that cannot hold every character.

R15 keeps controls out of new names and texts, but an event stored before it may hold any
character but U+0000, and every renderer must still write a well-formed document: each
replaces what its format cannot hold with U+FFFD (the replacement character), so the reader
sees that something was there. JSON and CSV need nothing here: their writers escape or quote
every character.
"""

from __future__ import annotations

import re

REPLACEMENT = "\ufffd"

# Not an XML 1.0 character (§2.2: C0 controls but tab, LF, CR; surrogates; U+FFFE, U+FFFF), or
# one it discourages (DEL and the C1 controls).
_NOT_XML = re.compile("[^\t\n\r\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# Not iCalendar TEXT (RFC 5545 §3.3.11: no CONTROL but tab; LF is written escaped as `\n` by
# the icalendar library), nor encodable as UTF-8 (surrogates); U+FFFE and U+FFFF to be safe.
_NOT_ICAL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_LINE_BREAK = re.compile("\r\n?")


def xml_text(text: str) -> str:
    """`text` with every character XML 1.0 cannot hold (or discourages) replaced."""
    return _NOT_XML.sub(REPLACEMENT, text)


def ical_text(text: str) -> str:
    """`text` as iCalendar TEXT can hold it: CRLF and a bare CR become LF (which the
    library escapes, so no CR ever starts a forged line), other controls are replaced."""
    return _NOT_ICAL.sub(REPLACEMENT, _LINE_BREAK.sub("\n", text))
