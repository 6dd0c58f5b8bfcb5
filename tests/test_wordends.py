"""A detected word's box is extended over the small marks just past its ends (models.wordends)."""
import numpy as np
import pytest

from models.geometry import box_to_quad, quad_to_box, rotation_matrix_90, transform_quads
from models.pipeline import Pipeline
from models.types import Line, Page, Word
from models.wordends import extend_to_marks

# ink boxes (x0, y0, x1, y1): two letters 20 px high, then a period and a colon's lower dot on the baseline
A, B = (20, 40, 32, 60), (36, 40, 48, 60)
DOT, DOT2 = (52, 56, 56, 60), (59, 56, 63, 60)


def _image(*boxes) -> np.ndarray:
    img = np.full((100, 160), 255, np.uint8)
    for x0, y0, x1, y1 in boxes:
        img[y0:y1, x0:x1] = 0
    return img


def _page(*word_boxes) -> Page:
    words = [Word(quad=box_to_quad(*b)) for b in word_boxes]
    return Page(width=160, height=100, words=words, lines=[Line(quad=box_to_quad(*word_boxes[0]), word_ids=[0])])


def test_the_marks_past_a_words_end_are_taken_into_it_and_its_line():
    page = _page((19, 39, 49, 61))                      # the detector's box stops after the letters
    assert extend_to_marks(_image(A, B, DOT, DOT2), page) == 1
    x0, _, x1, _ = quad_to_box(page.words[0].quad)
    assert x0 == pytest.approx(19) and 63 <= x1 <= 65
    assert quad_to_box(page.lines[0].quad)[2] >= 63


def test_a_letter_right_after_the_end_is_taken_one_a_word_space_away_is_not():
    page = _page((19, 39, 49, 61))                      # a last letter 4 px (0.18 heights) after the box's ink
    assert extend_to_marks(_image(A, B, (52, 40, 61, 60)), page) == 1
    assert quad_to_box(page.words[0].quad)[2] >= 61
    page = _page((19, 39, 49, 61))                      # 8 px (0.36 heights): the next word's first letter
    assert extend_to_marks(_image(A, B, (56, 40, 65, 60)), page) == 0


def test_far_marks_and_marks_of_another_word_are_left_out():
    # a period more than GAP heights (7 px) past the ink
    page = _page((19, 39, 49, 61))
    assert extend_to_marks(_image(A, B, (60, 56, 64, 60)), page) == 0
    # a period that another detected word holds
    page = _page((19, 39, 49, 61), (50, 39, 80, 61))
    extend_to_marks(_image(A, B, DOT), page)
    assert quad_to_box(page.words[0].quad)[2] == pytest.approx(49)


def test_a_mark_before_a_word_moves_its_start_and_a_box_past_its_ink_stays():
    quote = (12, 40, 15, 46)
    page = _page((19, 39, 49, 61))
    extend_to_marks(_image(quote, A, B), page)
    assert quad_to_box(page.words[0].quad)[0] <= 12
    # a box that cuts its own last letter (its centre inside) is left as it is: its ink runs on past the box
    page = _page((19, 39, 44, 61))
    assert extend_to_marks(_image(A, B, DOT), page) == 0


@pytest.mark.parametrize("k", [1, 2, 3])
def test_a_turned_page_gives_the_same_extension_turned(k):
    image = _image(A, B, DOT, DOT2)
    m, _ = rotation_matrix_90(k, image.shape[1], image.shape[0])
    turned = np.ascontiguousarray(np.rot90(image, -k))
    page = Page(width=turned.shape[1], height=turned.shape[0],
                words=[Word(quad=transform_quads(box_to_quad(19, 39, 49, 61), m))])
    assert extend_to_marks(turned, page) == 1
    expected = transform_quads(box_to_quad(19, 39, 64, 61), m)
    assert np.abs(np.asarray(page.words[0].quad) - expected).max() < 1.5


class _OneWord:
    def detect(self, images):
        return [_page((19, 39, 49, 61)) for _ in images]


class _Widths:
    crop_pad = 0.0

    def recognize(self, crops, lines=False):
        return [(str(c.shape[1]), 0.9) for c in crops]      # "reads" each crop's width


def test_the_pipeline_reads_the_extended_word_unless_its_boxes_are_given():
    image = _image(A, B, DOT, DOT2)
    on = Pipeline(_OneWord(), recognizers={"*": _Widths()}, join_words=False).run([image])[0]
    off = Pipeline(_OneWord(), recognizers={"*": _Widths()}, join_words=False, extend_words=False).run([image])[0]
    assert int(on.words[0].text) > int(off.words[0].text)
