"""English words for the doubtful Latin words of the reread (models.recognition.lexicon)."""
import numpy as np
import pytest
import torch

from models.recognition.charset import Charset
from models.recognition.lexicon import Lexicon, checkable, snap, spellings

CHARSET = Charset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .:")
LEX = Lexicon(["branch", "brunch", "total", "metal", "receipts", "Received", "a", "to", "café", "well-known"])


def frames(spec: list[dict[str, float]]) -> torch.Tensor:
    """(T, C) log-probs: one frame per dict {character or "" (blank): probability}, the rest spread evenly,
    each followed by a sure blank frame."""
    rows = []
    for probs in spec:
        for p in (probs, {"": 0.97}):
            row = np.full(CHARSET.num_classes, (1 - sum(p.values())) / (CHARSET.num_classes - len(p)))
            for ch, q in p.items():
                row[0 if ch == "" else CHARSET.encode(ch)[0]] = q
            rows.append(row)
    return torch.from_numpy(np.log(np.vstack(rows))).float()


def word(text: str, doubt: dict[int, dict[str, float]] | None = None) -> torch.Tensor:
    """Frames reading `text` sharply (0.95) but where `doubt` gives a position its own probabilities."""
    doubt = doubt or {}
    return frames([doubt.get(i, {ch: 0.95}) for i, ch in enumerate(text)])


def test_lexicon_keeps_alphabetic_ascii_words_of_three_letters_lower_case():
    assert len(LEX) == 6                      # "a", "to" too short; "café" not ASCII; "well-known" not letters
    assert "Received" in LEX and "RECEIVED" in LEX and "received" in LEX and "to" not in LEX
    with pytest.raises(ValueError):
        Lexicon(["a", "é"])


def test_near_finds_the_words_at_exactly_that_distance():
    assert LEX.near("brsnch", 1) == ("branch", "brunch")
    assert LEX.near("tetal", 1) == ("metal", "total")
    assert LEX.near("reneipts", 1) == ("receipts",)        # one substitution
    assert LEX.near("reneipt", 1) == () and LEX.near("reneipt", 2) == ("receipts",)   # and one insertion
    assert LEX.near("receved", 2) == () and LEX.near("receved", 1) == ("received",)


def test_checkable_leaves_acronyms_codes_and_marked_tokens_alone():
    assert checkable("Brsnch") and checkable("exchan9es") and checkable("TETAL") and checkable("Tel")
    assert not checkable("GST") and not checkable("SDN")            # capitals of <= 3 letters: acronyms
    assert not checkable("ab") and not checkable("HFC309")          # too few letters, too many digits
    assert not checkable("haris.oom") and not checkable("U5/BT") and not checkable("약국a")
    assert spellings("branch") == ["branch", "Branch", "BRANCH"]


def test_snap_spells_a_doubtful_word_as_the_word_its_frames_nearly_read():
    # "Brsnch": the model gave the 3rd character "a" 0.3 against "s" 0.6
    view = word("Brsnch", {2: {"s": 0.6, "a": 0.3}})
    assert snap("Brsnch", [view], CHARSET, LEX) == "Branch"           # the case comes from the frames
    assert snap("Brsnch:", [view], CHARSET, LEX) == "Branch:"         # marks around the word are kept
    # where the frames give "a" nothing, no word is near enough in likelihood: left as read
    sharp = word("Brsnch", {2: {"s": 0.95, "a": 0.001}})
    assert snap("Brsnch", [sharp], CHARSET, LEX) == "Brsnch"
    assert snap("Brsnch", [sharp], CHARSET, LEX, margin=50.0) == "Branch"
    # of two words at distance 1, the likelier: "u" has more mass than "a"
    view = word("Brsnch", {2: {"s": 0.5, "a": 0.1, "u": 0.35}})
    assert snap("Brsnch", [view], CHARSET, LEX) == "Brunch"


def test_snap_changes_only_words_the_lexicon_lacks_and_scores_the_views_together():
    line = "TETAL 12.00"
    view = frames([{"T": 0.95}, {"E": 0.6, "O": 0.35}] + [{ch: 0.95} for ch in "TAL 12.00"])
    assert snap(line, [view], CHARSET, LEX) == "TOTAL 12.00"
    assert snap("metal", [word("metal")], CHARSET, LEX) == "metal"    # a word: never changed
    gst = word("GST", {1: {"S": 0.5, "A": 0.45}})
    assert snap("GST", [gst], CHARSET, Lexicon(["gat"])) == "GST"     # an acronym: never changed
    # averaged over the views: a second view sure of "s" pulls the mean below the margin
    doubtful = word("Brsnch", {2: {"s": 0.6, "a": 0.3}})
    sure = word("Brsnch", {2: {"s": 0.99, "a": 0.00001}})
    assert snap("Brsnch", [doubtful, doubtful], CHARSET, LEX) == "Branch"
    assert snap("Brsnch", [doubtful, sure], CHARSET, LEX) == "Brsnch"


def test_snap_tries_distance_two_only_for_long_words():
    lex = Lexicon(["adjustments", "cat"])
    # "adustents" read, the frames giving the missing "j" and "m" some mass: two letters away, 9 letters long
    view = frames([{"a": 0.95}, {"d": 0.95}, {"j": 0.35, "": 0.6}, {"u": 0.95}, {"s": 0.95}, {"t": 0.95},
                   {"m": 0.35, "": 0.6}, {"e": 0.95}, {"n": 0.95}, {"t": 0.95}, {"s": 0.95}])
    assert snap("adustents", [view], CHARSET, lex) == "adjustments"
    # a 3-letter word: distance 1 only ("cat" is one letter from "cxt", two from "cxx")
    assert snap("cxt", [word("cxt", {1: {"x": 0.6, "a": 0.3}})], CHARSET, lex) == "cat"
    two = frames([{"c": 0.95}, {"x": 0.5, "a": 0.45}, {"x": 0.5, "t": 0.45}])
    assert snap("cxx", [two], CHARSET, lex, margin=1000.0) == "cxx"


def test_the_english_list_loads_and_holds_common_words():
    lex = Lexicon.english()
    assert len(lex) > 100_000 and "received" in lex and "receipts" in lex and "jalan" not in lex
    assert Lexicon.english() is lex                                   # read once a process
