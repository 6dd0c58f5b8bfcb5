"""English words for the Latin words the recognizer doubts (`RecognitionPredictor.set_reread`, on with it).

A doubtful crop's word that is no English word is replaced by the English spelling the crop's own CTC
likelihood finds nearly as likely as what was read: within MARGIN nats (a view's log-likelihood of the whole
line, averaged over the crop's views). The candidates are the lexicon's words at edit distance 1 (2 for words
of LONG letters or more, tried only where no word at distance 1 is within the margin); among them the
likeliest wins. This is no language model and no beam: nothing is scored by how common a word is, the
spelling changes only where the model itself gave the dictionary's letters most of the mass, and only on the
crops the reread reads again (confidence below REREAD_BELOW). A crop the model reads with confidence is left
as read, dictionary word or not (names, codes, `Jalan`).

Left as read: tokens with fewer than MIN_LETTERS ASCII letters or more than MAX_DIGITS digits, tokens with any
other character inside (e-mail addresses, `U5/BT`, Hangul), and all-capital tokens of at most ACRONYM letters
(`GST`, `SDN`, `CHK`: acronyms and codes, which the lexicon lacks and which lie one letter from a word).
The word list is pyspellchecker's English frequency list (160,572 entries; only its words are used, not their
counts): its 127,845 alphabetic ASCII words of MIN_LETTERS letters or more.

Chosen on the printed dev crops (`bench_recognizer.py printed`, held-out fonts, receipt printers' dots, texts
from Faker): MARGIN 4 of 0 / 2 / 4 / 8 nats (edits 666 -> 660 / 639 / 630 / 632 with a first version that
tried distance 2 everywhere and had no acronym rule). SROIE's lines were measured after that choice; see
docs/ARCHITECTURE.md ("English words for the reread's doubtful Latin words").
"""
from __future__ import annotations

import functools
import gzip
import json
import re
from collections import defaultdict
from importlib import resources
from typing import Iterable, Sequence

import numpy as np
import torch
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from models.recognition.charset import Charset
from models.recognition.decode import ctc_log_likelihood

MARGIN = 4.0          # nats below the read's log-likelihood a dictionary spelling may lie and still replace it
MIN_LETTERS = 3       # tokens (and lexicon words) with fewer ASCII letters are left alone
MAX_DIGITS = 2        # a token with more digits is a code, not a misread word (`exchan9es` has one)
LONG = 6              # letters from which spellings at edit distance 2 are tried
ACRONYM = 3           # all-capital tokens of at most this many letters are left as read
TOKEN = re.compile(r"^([^A-Za-z0-9]*)(.*?)([^A-Za-z0-9]*)$")   # leading marks, core, trailing marks


class Lexicon:
    """Lower-case alphabetic ASCII words of MIN_LETTERS letters or more, bucketed by length."""

    def __init__(self, words: Iterable[str]):
        by_len: dict[int, set[str]] = defaultdict(set)
        for w in words:
            w = w.lower()
            if len(w) >= MIN_LETTERS and w.isascii() and w.isalpha():
                by_len[len(w)].add(w)
        if not by_len:
            raise ValueError("a lexicon needs at least one alphabetic ASCII word of 3 letters or more")
        self.by_len = {n: sorted(ws) for n, ws in by_len.items()}
        self.words = frozenset(w for ws in by_len.values() for w in ws)

    @classmethod
    @functools.lru_cache(maxsize=1)
    def english(cls) -> "Lexicon":
        """pyspellchecker's English list (read once a process)."""
        path = resources.files("spellchecker") / "resources" / "en.json.gz"
        with path.open("rb") as f:
            return cls(json.loads(gzip.decompress(f.read())))

    def __contains__(self, word: str) -> bool:
        return word.lower() in self.words

    def __len__(self) -> int:
        return len(self.words)

    @functools.lru_cache(maxsize=65536)
    def near(self, word: str, distance: int) -> tuple[str, ...]:
        """Lexicon words at edit distance exactly `distance` from lower-case `word`."""
        out = []
        for n in range(len(word) - distance, len(word) + distance + 1):
            for w, d, _ in process.extract(word, self.by_len.get(n, ()), scorer=Levenshtein.distance,
                                           score_cutoff=distance, limit=None):
                if d == distance:
                    out.append(w)
        return tuple(sorted(out))


def checkable(core: str) -> bool:
    """Whether a token's core (marks stripped) may be a misread English word (the module's rules)."""
    if not core.isascii() or not core.isalnum():
        return False
    letters = sum(ch.isalpha() for ch in core)
    digits = len(core) - letters
    return letters >= MIN_LETTERS and digits <= MAX_DIGITS and not (core.isupper() and letters <= ACRONYM)


def spellings(word: str) -> list[str]:
    """A lower-case word as written lower, Capitalised and in CAPITALS: the model's logits pick the case."""
    return [word, word.capitalize(), word.upper()]


def snap(text: str, views: Sequence[torch.Tensor], charset: Charset, lexicon: Lexicon,
         margin: float = MARGIN) -> str:
    """`text` (one crop's reading) with each checkable word that the lexicon lacks replaced by the likeliest
    lexicon spelling at distance 1 (then 2, from LONG letters) whose mean log-likelihood over `views`
    ((T, C) logits of the crop, models.recognition.decode.ctc_log_likelihood) is at most `margin` below the
    text's; words left to right, each scored in the line as already changed."""
    toks = text.split(" ")
    base = None
    for k, tok in enumerate(toks):
        pre, core, post = TOKEN.match(tok).groups()
        if not checkable(core) or core in lexicon:
            continue
        for distance in (1, 2) if sum(ch.isalpha() for ch in core) >= LONG else (1,):
            words = lexicon.near(core.lower(), distance)
            if not words:
                continue
            if base is None:
                base = float(ctc_log_likelihood([" ".join(toks)], list(views), charset)[0]) / len(views)
            variants = [v for w in words for v in spellings(w) if all(ch in charset.characters for ch in v)]
            if not variants:
                continue
            lines = [" ".join(toks[:k] + [pre + v + post] + toks[k + 1:]) for v in variants]
            ll = ctc_log_likelihood(lines, list(views), charset) / len(views)
            best = int(np.argmax(ll))
            if np.isfinite(ll[best]) and ll[best] >= base - margin:
                toks[k], base = pre + variants[best] + post, float(ll[best])
                break
    return " ".join(toks)
