"""A detected word read with a space in it is split along its reading direction (models.wordsplit)."""
import numpy as np

from models.geometry import box_to_quad, polygon_iou
from models.pipeline import Pipeline
from models.types import Char, Line, Page, Word
from models.wordsplit import split_at_spaces, split_word


def _word(text, x0=100.0, y0=50.0, cw=10.0, h=20.0):
    """A horizontal word of len(text) cells of width cw, one Char per non-space cell."""
    chars = [Char(text=c, quad=box_to_quad(x0 + i * cw + 1, y0, x0 + (i + 1) * cw - 1, y0 + h))
             for i, c in enumerate(text) if c != " "]
    return Word(quad=box_to_quad(x0, y0, x0 + len(text) * cw, y0 + h), text=text, conf=0.8, script="latin",
                chars=chars, line_id=0)


def test_parts_cover_the_word_in_reading_order_and_keep_their_characters():
    parts = split_word(_word("DIVISION NAME:"))
    assert [p.text for p in parts] == ["DIVISION", "NAME:"]
    # each part sits over its own letters: 8 cells, a space, 5 cells
    assert polygon_iou(parts[0].quad, box_to_quad(100, 50, 180, 70)) > 0.99
    assert polygon_iou(parts[1].quad, box_to_quad(190, 50, 240, 70)) > 0.99
    assert ["".join(c.text for c in p.chars) for p in parts] == ["DIVISION", "NAME:"]
    assert all(p.conf == 0.8 and p.script == "latin" and p.line_id == 0 for p in parts)
    one = _word("TOTAL")
    assert split_word(one) == [one]
    assert [p.text for p in split_word(_word("1991. 9.  11. "))] == ["1991.", "9.", "11."]   # runs of spaces


def test_a_rotated_word_splits_along_its_reading_direction():
    w = _word("4월 3일", cw=12)
    # the same word read top to bottom (rotated 90 degrees clockwise about the origin): TL stays first
    rot = lambda q: np.stack([-q[:, 1], q[:, 0]], axis=1).astype(np.float32)
    w.quad = rot(w.quad)
    w.chars = [Char(text=c.text, quad=rot(c.quad)) for c in w.chars]
    first, second = split_word(w)
    assert (first.text, second.text) == ("4월", "3일")
    assert ["".join(c.text for c in p.chars) for p in (first, second)] == ["4월", "3일"]
    assert np.allclose(first.quad[0], w.quad[0]) and np.allclose(second.quad[1], w.quad[1])
    # the cut runs across the word: the parts differ in y (reading direction), share their x extent
    assert first.quad[:, 1].max() <= second.quad[:, 1].min() + 1e-3
    assert np.allclose(sorted(first.quad[:, 0]), sorted(second.quad[:, 0]), atol=1e-3)


def test_lines_point_at_the_parts_in_order():
    page = Page(width=400, height=200, words=[_word("Date:"), _word("4 Mar", x0=160), _word("2018", x0=220)],
                lines=[Line(quad=box_to_quad(100, 50, 260, 70), word_ids=[0, 1, 2])])
    split_at_spaces(page)
    assert [w.text for w in page.words] == ["Date:", "4", "Mar", "2018"]
    assert page.lines[0].word_ids == [0, 1, 2, 3]


class _OneWord:
    def detect(self, images):
        return [Page(width=400, height=100, words=[Word(quad=box_to_quad(10, 10, 150, 40), line_id=0)],
                     lines=[Line(quad=box_to_quad(10, 10, 150, 40), word_ids=[0])])]


class _Reads:
    crop_pad = 0.0

    def __init__(self, text):
        self.text = text

    def recognize(self, crops, lines=False):
        return [(self.text, 0.9)] * len(crops)


def test_the_pipeline_splits_detected_words_unless_told_the_boxes_are_words():
    image = np.full((100, 400, 3), 255, np.uint8)
    page = Pipeline(detector=_OneWord(), recognizers={"*": _Reads("NAME: Kim")}).run([image])[0]
    assert [w.text for w in page.words] == ["NAME:", "Kim"] and page.lines[0].word_ids == [0, 1]
    assert page.lines[0].text == "NAME: Kim"
    given = Pipeline(detector=_OneWord(), recognizers={"*": _Reads("NAME: Kim")}, split_words=False).run([image])[0]
    assert [w.text for w in given.words] == ["NAME: Kim"]

