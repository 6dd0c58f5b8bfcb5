"""A read word's characters are refit to its ink, its text giving their count and letters (models.charfit)."""
import numpy as np
import pytest

from models.charfit import fit_chars, fit_word_chars
from models.eval.metrics import iou_matrix
from models.geometry import box_to_quad, rotation_matrix_90, transform_quads
from models.pipeline import Pipeline
from models.types import Char, Page, Word

# ink boxes (x0, y0, x1, y1) of a drawn word "ab.c": two letters, a period on the baseline, a letter
A, B, DOT, C = (20, 40, 31, 60), (35, 40, 46, 60), (50, 56, 54, 60), (58, 40, 69, 60)
WORD = box_to_quad(18, 37, 71, 63)


def _image(*boxes, dark: bool = False) -> np.ndarray:
    img = np.full((100, 120), 255, np.uint8)
    for x0, y0, x1, y1 in boxes:
        img[y0:y1, x0:x1] = 0
    return 255 - img if dark else img


def _word(text: str, *char_boxes) -> Word:
    return Word(quad=WORD, text=text, chars=[Char("", box_to_quad(*b), 0.9) for b in char_boxes])


def _best_iou(chars, box) -> float:
    return float(iou_matrix([c.quad for c in chars], [box_to_quad(*box)]).max())


@pytest.mark.parametrize("dark", [False, True])
def test_a_missed_period_is_added_at_its_ink_and_every_character_gets_its_letter(dark):
    image = _image(A, B, DOT, C, dark=dark)
    chars = fit_word_chars(image, _word("ab.c", A, B, C))
    assert [c.text for c in chars] == list("ab.c")
    assert _best_iou(chars, DOT) > 0.8
    # the detector's characters that fit their ink come back as they were
    assert [tuple(np.asarray(c.quad).ravel()) for c in chars if c.text != "."] == \
        [tuple(box_to_quad(*b).ravel()) for b in (A, B, C)]


def test_a_box_far_larger_than_its_own_ink_is_cut_to_the_ink():
    big_dot = (47, 48, 57, 62)              # about 2.5 times the period each way: IoU with it 0.11
    chars = fit_word_chars(_image(A, B, DOT, C), _word("ab.c", A, B, big_dot, C))
    assert _best_iou(chars, DOT) > 0.8 and _best_iou(chars, big_dot) < 0.5


def test_a_box_over_two_strokes_is_split_where_the_text_needs_one_more_character():
    i, l = (20, 44, 24, 60), (29, 40, 33, 60)
    both = (19, 40, 34, 60)
    chars = fit_word_chars(_image(i, l), _word("il", both))
    assert [c.text for c in chars] == ["i", "l"]
    assert _best_iou(chars, i) > 0.8 and _best_iou(chars, l) > 0.8
    # a Hangul syllable's parts stay together: the counts then disagree, and no letter is guessed
    kept = fit_word_chars(_image(i, l), _word("가나", both))
    assert len(kept) == 1 and kept[0].text == ""


def test_one_letter_boxed_as_two_halves_is_merged_where_the_text_has_fewer_letters():
    m_ink = (20, 44, 37, 60)
    chars = fit_word_chars(_image(m_ink, C), _word("mc", (20, 44, 28, 60), (29, 44, 37, 60), C))
    assert [c.text for c in chars] == ["m", "c"]
    assert _best_iou(chars, m_ink) > 0.8


def test_touching_letters_boxed_as_one_are_paired_with_their_ink_in_reading_order():
    # the detector boxed a and b as one and put a thin box in the gap after them: three boxes, three
    # letters, three ink clusters; in order each box takes its cluster's ink box
    chars = fit_word_chars(_image(A, B, C), _word("abc", (20, 40, 46, 60), (47, 40, 52, 60), C))
    assert [c.text for c in chars] == list("abc")
    assert all(_best_iou(chars, box) > 0.8 for box in (A, B, C))


def test_letters_run_together_by_a_faint_join_are_parted_by_a_stricter_threshold():
    # a and b joined by a gray bridge that Otsu counts as ink: one cluster for two letters; the detector
    # boxed them as one. At a threshold nearer the letters' black the bridge falls out and the cluster is cut
    # there; each part keeps its full ink box
    image = _image(A, B, C)
    image[48:52, 31:35] = 100
    chars = fit_word_chars(image, _word("abc", (20, 40, 46, 60), C))
    assert [c.text for c in chars] == list("abc")
    assert _best_iou(chars, A) > 0.8 and _best_iou(chars, B) > 0.8 and _best_iou(chars, C) > 0.8
    # the bridge as dark as the letters: nothing parts them, no letter is guessed for a box
    image[48:52, 31:35] = 0
    kept = fit_word_chars(image, _word("abc", (20, 40, 46, 60), C))
    assert _best_iou(kept, A) < 0.5


def test_a_double_peak_on_one_character_counts_once():
    # the detector gave b twice (IoU 0.7 between the two) and missed the period; b is drawn in two side-by-
    # side strokes (as a Hangul consonant and its vowel), so clusters and letters disagree and nothing is
    # paired in order: boxes and letters are as many, and b's double would take the period's letter. Counted
    # once, the box is missing, and the period's free ink becomes it
    b_left, b_right = (35, 40, 40, 60), (42, 40, 46, 60)
    chars = fit_word_chars(_image(A, b_left, b_right, DOT, C), _word("ab.c", A, B, (36, 41, 47, 60), C))
    assert [c.text for c in chars] == list("ab.c")
    assert _best_iou(chars, DOT) > 0.8 and _best_iou(chars, B) > 0.8


def test_a_text_that_does_not_need_more_characters_adds_none():
    # the recognizer did not read the period either: nothing is added, the counts agree, letters given
    chars = fit_word_chars(_image(A, B, DOT, C), _word("abc", A, B, C))
    assert [c.text for c in chars] == list("abc")


def test_unread_words_and_pages_of_given_boxes_are_left_alone():
    image = _image(A, B, DOT, C)
    unread = _word("", A, B, C)
    assert fit_word_chars(image, unread) is unread.chars
    given = Page(width=120, height=100, words=[Word(quad=WORD, text="ab.c")])   # no detected characters
    assert fit_chars(image, given).words[0].chars == []
    # a read word without characters on a detected page gets them from its ink
    page = Page(width=120, height=100, words=[Word(quad=WORD, text="ab.c"), _word("x", (100, 40, 110, 60))])
    assert [c.text for c in fit_chars(image, page).words[0].chars] == list("ab.c")


@pytest.mark.parametrize("k", [1, 2, 3])
def test_a_rotated_page_gives_the_same_characters_rotated(k):
    image = _image(A, B, DOT, C)
    m, _ = rotation_matrix_90(k, image.shape[1], image.shape[0])
    turned = np.ascontiguousarray(np.rot90(image, -k))
    word = Word(quad=transform_quads(WORD, m), text="ab.c",
                chars=[Char("", transform_quads(box_to_quad(*b), m)) for b in (A, B, C)])
    chars = fit_word_chars(turned, word)
    assert [c.text for c in chars] == list("ab.c")
    dot = transform_quads(box_to_quad(*DOT), m)
    assert float(iou_matrix([c.quad for c in chars], [dot]).max()) > 0.8


class _OneWord:
    def detect(self, images):
        return [Page(width=120, height=100, words=[_word("", A, B, C)]) for _ in images]


class _Reads:
    crop_pad = 0.0

    def recognize(self, crops, lines=False):
        return [("ab.c", 0.9) for _ in crops]


def test_the_pipeline_refits_characters_unless_told_not_to():
    image = _image(A, B, DOT, C)
    page = Pipeline(_OneWord(), recognizers={"*": _Reads()}, join_words=False).run([image])[0]
    assert [c.text for c in page.words[0].chars] == list("ab.c")
    off = Pipeline(_OneWord(), recognizers={"*": _Reads()}, join_words=False, fit_chars=False).run([image])[0]
    assert [c.text for c in off.words[0].chars] == ["", "", ""]
    assert fit_chars(image, Page(width=120, height=100)).words == []




def _hyphen_rows(coverage: float) -> tuple[float, float]:
    """(height, centre) of the hyphen refit in "a-c" drawn one black row high with `coverage` of ink in the
    rows above and below (a bar 1 + 2 * coverage pixels high, anti-aliased)."""
    image = _image(A, (50, 50, 56, 51), C)
    image[49, 50:56] = image[51, 50:56] = round(255 * (1 - coverage))
    word = Word(quad=WORD, text="a-c", chars=[Char("", box_to_quad(*b), 0.9) for b in (A, C)])
    ys = np.asarray(next(c for c in fit_word_chars(image, word) if c.text == "-").quad)[:, 1]
    return float(ys.max() - ys.min()), float(ys.mean())


def test_a_hyphen_is_as_high_as_its_ink_not_its_mask(monkeypatch):
    import models.charfit as charfit
    coverages = (0.2, 0.4, 0.6)
    for cov in coverages:
        height, centre = _hyphen_rows(cov)
        assert height == pytest.approx(1 + 2 * cov, abs=0.1) and centre == pytest.approx(50.5, abs=0.1)
    monkeypatch.setattr(charfit, "BARS", "")        # the mask's box: a row in or out, as the threshold falls
    assert max(abs(_hyphen_rows(cov)[0] - (1 + 2 * cov)) for cov in coverages) > 0.2


def test_a_free_cluster_the_boxes_already_span_is_added_last(monkeypatch):
    import models.charfit as charfit
    # a and b touch: one cluster whose centre falls in the gap between their two boxes, so it is free; the
    # period is free too. The text needs one more character: the period, not the letters boxed already
    a, b = (20, 40, 31, 60), (31, 40, 42, 60)
    word = _word("ab.c", (20, 40, 30, 60), (32, 40, 42, 60), C)
    chars = fit_word_chars(_image(a, b, DOT, C), word)
    assert [c.text for c in chars] == list("ab.c") and _best_iou(chars, DOT) > 0.8
    monkeypatch.setattr(charfit, "COVERED", 1e9)      # largest first, as before: the touching pair is taken
    assert _best_iou(fit_word_chars(_image(a, b, DOT, C), word), DOT) < 0.5


def test_a_trailing_colon_boxed_with_the_syllable_before_it_gets_its_own_box(monkeypatch):
    import models.charfit as charfit
    dots = (50, 44, 53, 47), (50, 54, 53, 57)
    colon = (50, 44, 53, 57)
    word = _word("가나:", A, (35, 40, 54, 60))     # the detector boxed 나 and the colon as one
    chars = fit_word_chars(_image(A, B, *dots), word)
    assert [c.text for c in chars] == ["가", "나", ":"]
    assert _best_iou(chars, colon) > 0.8 and _best_iou(chars, B) > 0.8
    monkeypatch.setattr(charfit, "TRAILING", "")      # a Hangul word's box is not split at gaps: no letters
    assert [c.text for c in fit_word_chars(_image(A, B, *dots), word)] == ["", ""]
