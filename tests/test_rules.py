"""Typed separator rules found in pieces are completed from the ink into one word (models.rules)."""
import numpy as np

from models.geometry import box_to_quad, polygon_iou, quad_size
from models.pipeline import Pipeline
from models.rules import complete_rules, hug_chars
from models.types import Char, Line, Page, Word

PITCH, GLYPH, TOP, BAR = 12, 10, 100, 2       # an `=` glyph: two bars 2 px thick, 4 px apart


def _rule_image(n, x0=40, bars=(0, 6), skew=0.0, touching=()):
    """A white page with `n` glyphs of a typed rule from x0 (bars at these offsets from TOP, rising `skew`
    pixels a pixel); glyphs k in `touching` run into the next one."""
    img = np.full((240, 800), 255, np.uint8)
    for k in range(n):
        x = x0 + k * PITCH
        w = PITCH if k in touching else GLYPH
        y = TOP - skew * (x - x0)
        for b in bars:
            yy = int(round(y + b))
            img[yy:yy + BAR, x:x + w] = 0
    return img


def _piece(text, x0, x1, y0=96.0, y1=110.0):
    return Word(quad=box_to_quad(x0, y0, x1, y1), text=text, conf=0.6, chars=[], line_id=0)


def _page(*words):
    return Page(width=800, height=240, words=list(words),
                lines=[Line(quad=w.quad, word_ids=[i]) for i, w in enumerate(words)])


def test_a_piece_of_a_rule_becomes_the_whole_rule_one_character_a_glyph():
    img = _rule_image(30)
    page = _page(_piece("====", 160, 208))          # glyphs 10-13 of 30
    made = complete_rules(img, page)
    assert len(made) == 1 and len(page.words) == 1
    rule = page.words[0]
    assert rule.text == "=" * 30 and len(rule.chars) == 30
    assert polygon_iou(rule.quad, box_to_quad(40, TOP, 40 + 29 * PITCH + GLYPH, TOP + 6 + BAR)) > 0.9
    for k, c in enumerate(rule.chars):
        x = 40 + k * PITCH
        assert polygon_iou(c.quad, box_to_quad(x, TOP, x + GLYPH, TOP + 8)) > 0.8, k


def test_pieces_and_stray_marks_on_the_rule_are_dropped_into_it_and_lines_follow():
    img = _rule_image(30)
    name = Word(quad=box_to_quad(40, 20, 100, 40), text="Total", chars=[], line_id=0)
    above = Word(quad=box_to_quad(120, 84, 190, 99), text="TOTAL:", chars=[])     # text just over the rule
    page = _page(name, _piece("===", 64, 100), _piece('o="', 200, 236), _piece("==:", 300, 340), above)
    complete_rules(img, page)
    assert [w.text for w in page.words] == ["Total", "=" * 30, "TOTAL:"]
    assert [line.word_ids for line in page.lines] == [[0], [1], [2]]
    assert [w.line_id for w in page.words] == [0, 1, 2]
    assert polygon_iou(page.lines[1].quad, page.words[1].quad) > 0.99


def test_the_ink_says_which_rule_character_touching_glyphs_count_by_their_length_and_skew_is_followed():
    img = _rule_image(40, bars=(3,), skew=0.03, touching=(5, 6, 20))     # a `-` rule, rising 1 px in 33
    # the pieces were read as `=`; the seed sits 5 px higher than the rule's start, where the rule is
    seed_y = TOP - 0.03 * 160
    page = _page(_piece("====", 160, 208, seed_y - 2, seed_y + 12))
    complete_rules(img, page)
    (rule,) = page.words
    assert rule.text == "-" * 40
    ends = np.asarray(rule.quad)
    assert ends[0, 0] < 42 and ends[1, 0] > 40 + 39 * PITCH + GLYPH - 2          # both ends reached
    assert ends[1, 1] < ends[0, 1] - 10                                          # along the skew


def test_short_runs_and_ordinary_words_are_left_as_read():
    img = _rule_image(5)                             # five glyphs: under MIN_GLYPHS
    page = _page(_piece("===", 52, 88), Word(quad=box_to_quad(300, 96, 360, 110), text="a=b", chars=[]))
    before = [(w.text, np.asarray(w.quad).copy()) for w in page.words]
    assert complete_rules(img, page) == []
    assert [(w.text) for w in page.words] == [t for t, _ in before]
    assert all(np.array_equal(w.quad, q) for w, (_, q) in zip(page.words, before))


def test_hug_chars_boxes_the_word_round_its_characters():
    word = Word(quad=box_to_quad(0, 0, 100, 20), text="--",
                chars=[Char("-", box_to_quad(10, 9, 20, 11)), Char("-", box_to_quad(30, 8, 40, 10))])
    hug_chars(word)
    assert polygon_iou(word.quad, box_to_quad(10, 8, 40, 11)) > 0.99
    assert quad_size(np.asarray(word.quad))[1] == 3


class _Pieces:
    """A detector that finds the rule as one short piece."""

    def detect(self, images):
        return [_page(_piece("====", 160, 208))]


class _ReadsRule:
    def recognize(self, crops, lines=False):
        return [("====", 0.6)] * len(crops)


def test_the_pipeline_completes_rules_unless_told_not_to():
    img = np.dstack([_rule_image(30)] * 3)
    on = Pipeline(_Pieces(), recognizers={"*": _ReadsRule()}, join_words=False).run([img])[0]
    off = Pipeline(_Pieces(), recognizers={"*": _ReadsRule()}, join_words=False, complete_rules=False).run([img])[0]
    assert [w.text for w in on.words] == ["=" * 30] and [w.text for w in off.words] == ["===="]
