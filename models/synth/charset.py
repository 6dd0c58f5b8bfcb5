"""Character inventories of the synthetic engine and the script of a piece of text.

`HANGUL_KSX1001` is the 2,350 precomposed Hangul syllables of KS X 1001 (every syllable an EUC-KR
code 0xB0A1..0xC8FE decodes to), in code order; the recognizer builds its charset from it, and the
random-syllable generator draws from it so that every syllable appears in training.
"""
from __future__ import annotations

import string


def _ksx1001_hangul() -> str:
    chars = []
    for lead in range(0xB0, 0xC9):
        for trail in range(0xA1, 0xFF):
            chars.append(bytes([lead, trail]).decode("euc-kr"))
    return "".join(chars)


HANGUL_KSX1001: str = _ksx1001_hangul()
LATIN: str = string.ascii_letters
DIGITS: str = string.digits
# punctuation and document symbols that appear on Korean and English documents
PUNCT: str = "!\"#$%&'()*+,-./:;<=>?@[]_{|}~"
SYMBOLS: str = "₩·※○●□■☐☑◎△▲▶★~°×"
ALL_CHARS: str = HANGUL_KSX1001 + LATIN + DIGITS + PUNCT + SYMBOLS

assert len(HANGUL_KSX1001) == 2350 and len(set(HANGUL_KSX1001)) == 2350


def is_hangul(ch: str) -> bool:
    """True for precomposed Hangul syllables (U+AC00..U+D7A3) and compatibility jamo."""
    o = ord(ch)
    return 0xAC00 <= o <= 0xD7A3 or 0x3131 <= o <= 0x318E


def script_of(text: str) -> str:
    """Script label of a word (one of models.types.SCRIPTS), by precedence:
    any Hangul -> "hangul"; else any ASCII letter -> "latin"; else any digit -> "digits";
    else "other" (punctuation and symbols only)."""
    if any(is_hangul(c) for c in text):
        return "hangul"
    if any(c in LATIN for c in text):
        return "latin"
    if any(c in DIGITS for c in text):
        return "digits"
    return "other"
