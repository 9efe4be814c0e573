"""How wide a line of text is drawn on the timeline, and a name shortened to fit its room.

The widths are DejaVu Sans's advance widths (the first font the SVG names), in thousandths of
an em, for printable ASCII, read once from Debian 12's DejaVuSans.ttf and DejaVuSans-Bold.ttf
(`hmtx` through the `cmap`). A character outside ASCII counts as the ASCII letters it
decomposes to (NFKD: "é" as "e", "Ǆ" as "DZ"); a combining mark as nothing; any other as an
allowance of 1.2 em (1.3 em when East Asian wide), above the widest letter of Greek and
Cyrillic in DejaVu (1.18 em). A few rare symbols (Canadian syllabics, "‱", "⌨") are wider
than the allowance, by up to half an em each. Every width is then taken 6% larger
(`SLACK`): a viewer without DejaVu Sans substitutes another font (cairo here drew "W" a full
em wide, 1% over DejaVu's; "a"-heavy text narrower), and ink overhangs its advance a little.
The measure is the layout's promise for DejaVu and its usual substitutes, not for every font.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

ELLIPSIS = "…"
OTHER = 1.2
WIDE = 1.3
BOLD_OTHER = 1.15  # bold is at most this much wider than regular, outside ASCII
SLACK = 1.06

# " " (U+0020) to "~" (U+007E), 16 a line.
_REGULAR = (
    318,
    401,
    460,
    838,
    636,
    950,
    780,
    275,
    390,
    390,
    500,
    838,
    318,
    361,
    318,
    337,
    636,
    636,
    636,
    636,
    636,
    636,
    636,
    636,
    636,
    636,
    337,
    337,
    838,
    838,
    838,
    531,
    1000,
    684,
    686,
    698,
    770,
    632,
    575,
    775,
    752,
    295,
    295,
    656,
    557,
    863,
    748,
    787,
    603,
    787,
    695,
    635,
    611,
    732,
    684,
    989,
    685,
    611,
    685,
    390,
    337,
    390,
    838,
    500,
    500,
    613,
    635,
    550,
    635,
    615,
    352,
    635,
    634,
    278,
    278,
    579,
    278,
    974,
    634,
    612,
    635,
    635,
    411,
    521,
    392,
    634,
    592,
    818,
    592,
    592,
    525,
    636,
    337,
    636,
    838,
)
_BOLD = (
    348,
    456,
    521,
    838,
    696,
    1002,
    872,
    306,
    457,
    457,
    523,
    838,
    380,
    415,
    380,
    365,
    696,
    696,
    696,
    696,
    696,
    696,
    696,
    696,
    696,
    696,
    400,
    400,
    838,
    838,
    838,
    580,
    1000,
    774,
    762,
    734,
    830,
    683,
    683,
    821,
    837,
    372,
    372,
    775,
    637,
    995,
    837,
    850,
    733,
    850,
    770,
    720,
    682,
    812,
    774,
    1103,
    771,
    724,
    725,
    457,
    365,
    457,
    838,
    500,
    500,
    675,
    716,
    593,
    716,
    678,
    435,
    716,
    712,
    343,
    343,
    665,
    343,
    1042,
    712,
    687,
    716,
    716,
    493,
    595,
    478,
    712,
    652,
    924,
    645,
    652,
    582,
    712,
    365,
    712,
    838,
)


@lru_cache(maxsize=4096)
def _em(char: str, bold: bool) -> float:
    """One character's advance, in em."""
    table = _BOLD if bold else _REGULAR
    code = ord(char)
    if 0x20 <= code <= 0x7E:
        return table[code - 0x20] / 1000
    if unicodedata.combining(char):
        return 0.0
    decomposed = [c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)]
    if decomposed and all(0x20 <= ord(c) <= 0x7E for c in decomposed):
        return sum(table[ord(c) - 0x20] for c in decomposed) / 1000
    allowance = WIDE if unicodedata.east_asian_width(char) in "WF" else OTHER
    return allowance * (BOLD_OTHER if bold else 1.0)


def width(text: str, size: float, *, bold: bool = False) -> float:
    """The drawn width of `text` at `size` px, in px."""
    return sum(_em(c, bold) for c in text) * size * SLACK


# What breaks a line (`str.splitlines`'s boundaries) or tabs: drawn as one space. Any other
# control is left to `api.printable.xml_text`, which shows it as U+FFFD.
_BREAKS = dict.fromkeys(map(ord, "\t\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"), " ")


def one_line(text: str) -> str:
    """`text` as one line: a line break or tab (R15 refuses them in names now, but events
    recorded before R15 may hold them) becomes a space, never "line1line2"."""
    return text.translate(_BREAKS)


def fit(text: str, size: float, room: float, *, bold: bool = False) -> str:
    """`text` (as one line) if it fits in `room` px, else its longest start that fits with
    "…" after it (never splitting a character from its combining marks); "" if not even "…"
    fits."""
    text = one_line(text)
    if width(text, size, bold=bold) <= room:
        return text
    room -= width(ELLIPSIS, size, bold=bold)
    if room < 0:
        return ""
    used, end = 0.0, 0
    for n, char in enumerate(text):
        used += _em(char, bold) * size * SLACK
        if used > room:
            break
        end = n + 1
    while 0 < end < len(text) and unicodedata.combining(text[end]):
        end -= 1  # the mark would be cut from its letter: cut before the letter instead
    return text[:end].rstrip() + ELLIPSIS
