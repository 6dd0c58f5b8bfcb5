"""The recognizer's vocabulary: CTC blank at index 0, then every character the model can emit.

Default charset = the 2,350 KS X 1001 Hangul syllables (models.synth.charset.HANGUL_KSX1001) + ASCII letters, digits, punctuation + the symbols common on Korean and English documents.
"""
from __future__ import annotations

import string
from dataclasses import dataclass, field

from models.synth.charset import HANGUL_KSX1001, SYMBOLS as SYNTH_SYMBOLS

BLANK = "\u2400"   # placeholder glyph for the CTC blank; never appears in text

DOCUMENT_SYMBOLS = "₩€£¥°·※×÷±→←↑↓■□▶◆◇○●◎△▲★☆☐☑♥√「」『』【】〈〉《》“”‘’…§¶©®™µº"


def default_characters() -> str:
    """KS X 1001 Hangul + printable ASCII (the only whitespace is the space) + the synthetic engine's
    symbols + document symbols, each once, in that order."""
    ascii_part = string.ascii_letters + string.digits + string.punctuation + " "
    seen: dict[str, None] = {}
    for ch in HANGUL_KSX1001 + ascii_part + SYNTH_SYMBOLS + DOCUMENT_SYMBOLS:
        seen.setdefault(ch, None)
    return "".join(seen)


# characters that are folded onto a charset member before encoding (typographic variants)
FOLD = {"\u00a0": " ", "\u2013": "-", "\u2014": "-", "\u2212": "-", "\uff05": "%", "\uffe6": "₩",
        "\u30fb": "·", "\u2022": "·", "\uff08": "(", "\uff09": ")"}


@dataclass(frozen=True)
class Charset:
    """Index 0 is the CTC blank; `characters[i]` has index i + 1."""
    characters: str
    _index: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        if len(set(self.characters)) != len(self.characters):
            raise ValueError("charset characters must be unique")
        if BLANK in self.characters:
            raise ValueError("the blank placeholder cannot be a character")
        object.__setattr__(self, "_index", {c: i + 1 for i, c in enumerate(self.characters)})

    @classmethod
    def default(cls) -> "Charset":
        return cls(default_characters())

    @property
    def num_classes(self) -> int:
        """Output size of the CTC head (characters + blank)."""
        return len(self.characters) + 1

    def normalize(self, text: str) -> str:
        return "".join(FOLD.get(c, c) for c in text)

    def covers(self, text: str) -> bool:
        return all(c in self._index for c in self.normalize(text))

    def encode(self, text: str) -> list[int]:
        """Text -> class indices (no blanks). Raises ValueError on a character outside the charset."""
        text = self.normalize(text)
        try:
            return [self._index[c] for c in text]
        except KeyError as exc:
            raise ValueError(f"character {exc.args[0]!r} (U+{ord(exc.args[0]):04X}) is not in the charset") from None

    def decode(self, indices) -> str:
        """Class indices -> text, dropping blanks (no CTC collapsing: see models.recognition.decode)."""
        chars = self.characters
        return "".join(chars[i - 1] for i in map(int, indices) if 0 < i <= len(chars))
