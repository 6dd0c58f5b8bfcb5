"""Digits read inside words and letters read inside numbers: `0`/`o`, `1`/`l` fixed by their neighbours.

Small receipt print makes the recognizer read "Ja1an", "Te1:", "J0H0R", "tota1", and "5O", "433o0". Each
reading is cut into tokens at spaces and each token into runs of ASCII letters and digits:
- a run of at least two letters that are not `o O l I i`, with no other digit than `0` and `1` in it or in
  the rest of its token, gets each lone `0` / `1` after its first letter read as `o` / `l` (upper case where
  the run is mostly upper case): "Ja1an" -> "Jalan", "SELANG0R" -> "SELANGOR". A leading count stays a
  count ("1KG", "100PLUS"); "RM0.00", "SH01", "B026" stay as they are (other digits in the token, or a
  run of two);
- a run with no letter other than `o O l I i` and a digit other than `0` / `1` in it, or in its token where
  the token has no other letter, is a number: `o O` -> `0`, `l I i` -> `1` ("5o" -> "50", "i2" -> "12").
Hangul, other scripts and the rest of the text are left as they are. No lexicon, nothing learnt: the same
rule as Tesseract's unichar ambiguities, without its dictionary.

Only characters the model itself found doubtful change: the decoder (models.recognition.decode.ctc_greedy)
passes the positions where the character's partner (`0` for `o`, `l I i` for `1`, ...) had at least
`PARTNER_P` of the probability. Measured with the shipped recognizer `c0fd6bee81e9` (`runs/conf_probe.py`,
`runs/conf_sim.py`): the rule on every character took synthetic held-out word accuracy (300 crops a script,
the bench's `synth` set) from 0.989 to 0.984, as random codes such as "PUT1Z1" are words to it; with the
partner at >= 0.001 / 0.01 / 0.05 it is 0.988 / 0.989 / 0.989. 0.01 is the lowest that leaves it, and the
printed crops' word accuracy (0.661), as they were. SROIE's GT lines: CER 0.0751 -> 0.0719 (0.0710 on every
character); the rule's details (leading counts, amounts, runs of two digits) were written while reading
SROIE's errors, so that is not a clean held-out figure (docs/ARCHITECTURE.md).
"""
from __future__ import annotations

import re
from typing import Collection

TO_LETTER = {"0": "o", "1": "l"}
TO_DIGIT = {"o": "0", "O": "0", "l": "1", "I": "1", "i": "1"}
MIN_LETTERS = 2
PARTNER_P = 0.01        # a character may change when its partner had at least this probability
PARTNERS = {c: tuple(o for o, d in TO_DIGIT.items() if d == c) if c in TO_LETTER else (TO_DIGIT[c],)
            for c in (*TO_LETTER, *TO_DIGIT)}
_RUN = re.compile(r"[A-Za-z0-9]+")
_AMBIGUOUS_DIGITS = re.compile(r"[01]+")


def _letters(s: str) -> int:
    """ASCII letters that cannot be a misread digit."""
    return sum(c.isascii() and c.isalpha() and c not in TO_DIGIT for c in s)


def _digits(s: str) -> int:
    """Digits that cannot be a misread letter."""
    return sum(c.isdigit() and c not in TO_LETTER for c in s)


def _fix_run(run: str, token: str) -> str:
    letters, digits = _letters(run), _digits(run)
    if (letters >= MIN_LETTERS and digits == 0 and any(c in TO_LETTER for c in run)
            and sum(c.isdigit() for c in token) == sum(c.isdigit() for c in run)):
        upper = sum(c.isupper() for c in run) > sum(c.islower() for c in run)
        first = next(i for i, c in enumerate(run) if c.isalpha())

        def to_letter(m: re.Match) -> str:
            if m.start() < first or len(m.group(0)) > 1:
                return m.group(0)
            letter = TO_LETTER[m.group(0)]
            return letter.upper() if upper else letter
        return _AMBIGUOUS_DIGITS.sub(to_letter, run)
    if letters == 0 and any(c in TO_DIGIT for c in run) and (digits or (_digits(token) and not _letters(token))):
        return "".join(TO_DIGIT.get(c, c) for c in run)
    return run


def fix_confusables(text: str, doubtful: Collection[int] | None = None) -> str:
    """`text` with `0`/`o` and `1`/`l` read by their neighbours (module docstring); spaces kept as they are.
    `doubtful`: the only character positions that may change (None: any)."""
    fixed = " ".join(_RUN.sub(lambda m, tok=token: _fix_run(m.group(0), tok), token) for token in text.split(" "))
    if doubtful is None or fixed == text:
        return fixed
    return "".join(f if i in doubtful else t for i, (t, f) in enumerate(zip(text, fixed)))
