"""Neighbouring detected words that read as one crop without a space are joined (models.wordjoin)."""
import numpy as np
import pytest

from models.geometry import box_to_quad, gap_heights, polygon_iou
from models.pipeline import Pipeline
from models.types import Char, Line, Page, Word
from models.wordjoin import char_gaps, join_candidates, join_words


def _word(text, x0, x1, y0=50.0, h=20.0, script="latin", orientation=0):
    """A horizontal word; each character's box is its share of the word less 1 px on each side (gaps of
    0.1 heights between characters)."""
    cw = (x1 - x0) / max(1, len(text))
    chars = [Char(text=c, quad=box_to_quad(x0 + i * cw + 1, y0, x0 + (i + 1) * cw - 1, y0 + h))
             for i, c in enumerate(text)]
    return Word(quad=box_to_quad(x0, y0, x1, y0 + h), text=text, conf=0.7, script=script, chars=chars, line_id=0,
                orientation=orientation)


def _page(*words):
    quad = box_to_quad(min(w.quad[:, 0].min() for w in words), 50, max(w.quad[:, 0].max() for w in words), 70)
    return Page(width=800, height=200, words=list(words), lines=[Line(quad=quad, word_ids=list(range(len(words))))])


class _Reader:
    """Reads a crop as the words whose x centres it spans, by `reads` (their texts -> the reading), else as
    their texts with spaces. Records the quads it was asked to read."""

    def __init__(self, words, reads=None):
        self.words, self.reads, self.calls = words, reads or {}, []

    def __call__(self, quads):
        self.calls.append([np.asarray(q) for q in quads])
        out = []
        for q in quads:
            texts = tuple(w.text for w in self.words if q[0, 0] - 1 <= w.quad[:, 0].mean() <= q[1, 0] + 1)
            out.append((self.reads.get(texts, " ".join(texts)), 0.9))
        return out


def test_gap_is_in_heights_along_the_reading_direction():
    a, b = _word("은", 100, 120), _word("행", 124, 144)
    assert gap_heights(a.quad, b.quad) == pytest.approx(0.2)
    assert gap_heights(b.quad, a.quad) < 0    # b's right edge is past a's left edge: they overlap in reading order
    assert char_gaps(_word("전화", 100, 140)) == pytest.approx([0.1])


def test_a_tight_pair_read_without_a_space_becomes_one_word_and_lines_follow():
    # character gaps 0.1 heights: a pair up to 0.15 apart is tight
    words = [_word("Name:", 10, 70), _word("은", 100, 120, script="hangul"), _word("행", 122, 142, script="hangul"),
             _word("Kim", 200, 236)]
    page = _page(*words)
    reader = _Reader(list(words), {("은", "행"): "은행"})
    join_words(page, reader)
    assert [w.text for w in page.words] == ["Name:", "은행", "Kim"]
    assert page.lines[0].word_ids == [0, 1, 2]
    joined = page.words[1]
    assert polygon_iou(joined.quad, box_to_quad(100, 50, 142, 70)) > 0.99
    assert "".join(c.text for c in joined.chars) == "은행" and joined.conf == 0.9 and joined.script == "hangul"
    # "Name:"-"은" (30 px) and "행"-"Kim" (58 px) are not even read
    assert len(reader.calls) == 1 and len(reader.calls[0]) == 1


def test_a_tight_pair_read_with_a_space_stays_two_words():
    words = [_word("Thank", 100, 160), _word("you!", 162, 202)]
    page = _page(*words)
    reader = _Reader(list(words))
    join_words(page, reader)
    assert len(reader.calls) == 1
    assert [w.text for w in page.words] == ["Thank", "you!"] and page.lines[0].word_ids == [0, 1]


def test_wider_pairs_join_only_as_digits_with_the_lost_mark_between_them():
    # 6 px = 0.3 heights apart: not tight
    digits = [_word("289", 100, 136, script="digits"), _word("35", 142, 166, script="digits")]
    page = _page(*digits)
    join_words(page, _Reader(list(digits), {("289", "35"): "289.35"}))
    assert [w.text for w in page.words] == ["289.35"]
    for reads in ({("289", "35"): "28935"}, {("289", "35"): "289.-35"}):
        page = _page(*digits)
        join_words(page, _Reader(list(digits), reads))
        assert [w.text for w in page.words] == ["289", "35"]
    letters = [_word("NO", 100, 124), _word("OF", 130, 154)]
    assert join_candidates(_page(*letters)) == []
    assert join_candidates(_page(*digits)) == [(0, 1, False)]


def test_a_run_of_three_is_read_again_as_one_crop():
    words = [_word("전", 100, 120, script="hangul"), _word("화번", 122, 162, script="hangul"),
             _word("호", 164, 184, script="hangul"), _word("02", 240, 260, script="digits")]
    page = _page(*words)
    reader = _Reader(list(words), {("전", "화번"): "전화번", ("화번", "호"): "화번호", ("전", "화번", "호"): "전화 번호"})
    join_words(page, reader)
    assert [w.text for w in page.words] == ["전화번호", "02"]      # the run's spaces dropped
    assert page.words[0].script == "hangul" and page.lines[0].word_ids == [0, 1]
    assert [len(c) for c in reader.calls] == [2, 1]        # the two pairs, then the run of three
    assert polygon_iou(page.words[0].quad, box_to_quad(100, 50, 184, 70)) > 0.99


def test_words_of_other_orientations_or_lines_are_not_candidates():
    a, b = _word("A", 100, 110), _word("B", 111, 121, orientation=180)
    assert join_candidates(_page(a, b)) == []
    page = Page(width=400, height=200, words=[_word("A", 100, 110), _word("B", 111, 121)],
                lines=[Line(quad=box_to_quad(100, 50, 110, 70), word_ids=[0]),
                       Line(quad=box_to_quad(111, 50, 121, 70), word_ids=[1])])
    assert join_candidates(page) == []


def test_a_line_without_character_gaps_takes_the_bare_gap():
    # one-character words: no gaps inside words, so pairs up to 0.2 heights apart are tight
    near, far = _page(_word("A", 100, 110), _word("B", 113, 123)), _page(_word("A", 100, 110), _word("B", 115, 125))
    assert join_candidates(near) == [(0, 1, True)] and join_candidates(far) == []


def test_a_rotated_pair_joins_along_its_reading_direction():
    rot = lambda q: np.stack([-q[:, 1], q[:, 0]], axis=1).astype(np.float32)   # 90 degrees clockwise
    a, b = _word("12", 100, 124), _word("34", 126, 150)
    for w in (a, b):
        w.quad = rot(w.quad)
        w.chars = [Char(text=c.text, quad=rot(c.quad)) for c in w.chars]
    page = Page(width=400, height=400, words=[a, b], lines=[Line(quad=rot(box_to_quad(100, 50, 150, 70)),
                                                                 word_ids=[0, 1])])
    join_words(page, lambda quads: [("1234", 0.8)] * len(quads))
    assert [w.text for w in page.words] == ["1234"]
    assert np.allclose(page.words[0].quad[0], a.quad[0]) and np.allclose(page.words[0].quad[2], b.quad[2])


class _TwoWords:
    def detect(self, images):
        words = [_word("", 10, 60), _word("", 62, 100)]       # no characters: tight up to 0.2 heights
        return [Page(width=400, height=100, words=words,
                     lines=[Line(quad=box_to_quad(10, 50, 100, 70), word_ids=[0, 1])])]


class _ReadsBy:
    """Reads a crop by its width: the two detected words as "12" and "34", their union as "12.34"."""
    crop_pad = 0.0

    def recognize(self, crops, lines=False):
        return [("12.34" if c.shape[1] > 120 else "12" if c.shape[1] > 70 else "34", 0.9) for c in crops]


def test_the_pipeline_joins_unless_told_the_boxes_are_words():
    image = np.full((100, 400, 3), 255, np.uint8)
    page = Pipeline(detector=_TwoWords(), recognizers={"*": _ReadsBy()}).run([image])[0]
    assert [w.text for w in page.words] == ["12.34"] and page.lines[0].text == "12.34"
    given = Pipeline(detector=_TwoWords(), recognizers={"*": _ReadsBy()}, join_words=False).run([image])[0]
    assert [w.text for w in given.words] == ["12", "34"] and given.lines[0].text == "12 34"


def test_runs_follow_the_line_whatever_the_word_order():
    # the line reads word 2, then 0, then 1 (indices not in reading order)
    words = [_word("화번", 122, 162, script="hangul"), _word("호", 164, 184, script="hangul"),
             _word("전", 100, 120, script="hangul")]
    page = Page(width=800, height=200, words=list(words),
                lines=[Line(quad=box_to_quad(100, 50, 184, 70), word_ids=[2, 0, 1])])
    reader = _Reader(sorted(words, key=lambda w: w.quad[0, 0]),
                     {("전", "화번"): "전화번", ("화번", "호"): "화번호", ("전", "화번", "호"): "전화번호"})
    join_words(page, reader)
    assert [w.text for w in page.words] == ["전화번호"] and page.lines[0].word_ids == [0]
    assert polygon_iou(page.words[0].quad, box_to_quad(100, 50, 184, 70)) > 0.99
