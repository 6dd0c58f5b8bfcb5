"""`0`/`o` and `1`/`l` read by their neighbours (models.recognition.confusables), and the predictor applying it."""
import numpy as np
import pytest
import torch

from models.recognition.confusables import fix_confusables


@pytest.mark.parametrize("read, fixed", [
    ("Ja1an Temenggung", "Jalan Temenggung"),      # a lone 1 between letters
    ("SELANG0R", "SELANGOR"),                      # upper case run: upper-case letter
    ("J0H0R BAHRU", "JOHOR BAHRU"),
    ("Te1: 07-3510749", "Tel: 07-3510749"),        # the number is another token
    ("tota1", "total"),
    ("RM 5o", "RM 50"),                            # a number's letter
    ("433o0 SERI", "43300 SERI"),
    ("No of items: i2", "No of items: 12"),
])
def test_misreads_inside_words_and_numbers_are_fixed(read, fixed):
    assert fix_confusables(read) == fixed


@pytest.mark.parametrize("text", [
    "1KG", "100PLUS", "500ML",        # a leading count stays a count
    "RM0.00", "RM1.88",               # the token has other digits: an amount
    "SH01", "B026", "LG10",           # codes: a run of two, or another digit
    "0ST", "10t",                     # a leading digit
    "oil", "Lot", "IO",               # no digit at all
    "서울 1층", "전화번호: 02-123-4567",  # Hangul and numbers as they are
    "  two  spaces ",                 # spaces kept
])
def test_what_is_left_alone(text):
    assert fix_confusables(text) == text


def test_only_positions_given_as_doubtful_change():
    assert fix_confusables("J0H0R", doubtful={3}) == "J0HOR"
    assert fix_confusables("J0H0R", doubtful=set()) == "J0H0R"


def _logits(text, charset, partner_p=None):
    """(1, T, C) logits reading `text` one token per character, blanks between; the `1`'s token gives its
    partner `l` the probability `partner_p`."""
    rows = []
    for c in text:
        p = np.full(len(charset.characters) + 1, 1e-6)
        p[charset.characters.index(c) + 1] = 1.0
        if c == "1" and partner_p is not None:
            p[charset.characters.index("l") + 1] = partner_p
            p[charset.characters.index(c) + 1] = 1.0 - partner_p
        rows += [p, np.eye(len(p))[0] + 1e-6]
    return torch.tensor(np.log(np.array(rows) / np.array(rows).sum(1, keepdims=True)))[None].float()


def test_the_decoder_fixes_what_the_model_doubted():
    from models.recognition.charset import Charset
    from models.recognition.decode import ctc_greedy

    charset = Charset("Jaln1 ")
    n = torch.tensor([10])
    assert ctc_greedy(_logits("Ja1an", charset, 0.2), n, charset, confusables=True)[0][0] == "Jalan"
    assert ctc_greedy(_logits("Ja1an", charset, 0.002), n, charset, confusables=True)[0][0] == "Ja1an"   # sure
    assert ctc_greedy(_logits("Ja1an", charset, 0.2), n, charset)[0][0] == "Ja1an"                       # off
    # with the space rescue of line crops the positions still line up
    assert ctc_greedy(_logits("Ja1an Ja1an", charset, 0.2), torch.tensor([22]), charset, 0.3,
                      confusables=True)[0][0] == "Jalan Jalan"


def test_the_predictor_passes_its_setting_to_the_decoder(monkeypatch):
    from models.recognition import predictor as rp
    from models.weights import WEIGHTS_DIR

    seen = []
    real = rp.ctc_greedy
    monkeypatch.setattr(rp, "ctc_greedy", lambda *a, **k: seen.append(a[4:] or k) or real(*a, **k))
    pred = rp.RecognitionPredictor.from_weights("recognizer", WEIGHTS_DIR)
    crop = np.full((32, 64, 3), 255, np.uint8)
    pred.recognize([crop])
    pred.confusables = False
    pred.recognize([crop])
    assert seen == [(True,), (False,)]
