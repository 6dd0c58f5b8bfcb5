"""A loose upright box around a skewed text line is fit to the line (models.linefit)."""
import cv2
import numpy as np
import pytest

from models.geometry import box_to_quad, quad_angle, quad_to_box, transform_quads
from models.linefit import GROW_MAX, fit_box, fit_line_quad, grow_to_ink
from models.pipeline import Pipeline
from models.types import Line, Page, Word


def _page(angle: float, neighbours: bool = True, dark: bool = False):
    """A white page with one text line (cv2's Hershey font, about 22 px high) turned by `angle` degrees
    clockwise about its centre, and lines above and below; returns (image, the upright box around the
    turned line, the line's own turned quad)."""
    img = np.full((300, 700), 255, np.uint8)
    text_box = box_to_quad(100, 130, 600, 158)
    cv2.putText(img, "INVOICE TOTAL 1,234.50 RM", (105, 154), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 0, 2)
    if neighbours:
        for y in (112, 196):
            cv2.putText(img, "GOODS SOLD ARE NOT RETURNABLE", (105, y), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 0, 2)
    m = cv2.getRotationMatrix2D((350, 144), -angle, 1.0)       # cv2 turns counter-clockwise for positive
    img = cv2.warpAffine(img, m, (700, 300), borderValue=255)
    if dark:
        img = 255 - img
    line = transform_quads(text_box, m)
    return img, box_to_quad(*quad_to_box(line)), line


def _band_height(quad) -> float:
    q = np.asarray(quad)
    return float(np.hypot(*(q[3] - q[0])))


@pytest.mark.parametrize("angle", [4.0, -6.0])
def test_a_skewed_line_in_an_upright_box_is_fit_to_its_angle_and_band(angle):
    img, box, line = _page(angle)
    fit = fit_line_quad(img, box)
    assert abs(quad_angle(fit) - angle) < 1.0
    # the band follows the line: about its height, far less than the upright box's, and centred on it
    assert _band_height(fit) < 0.6 * _band_height(box)
    assert abs(fit.mean(0)[1] - line.mean(0)[1]) < 6


def test_light_text_on_dark_is_fit_too():
    img, box, _ = _page(5.0, dark=True)
    assert abs(quad_angle(fit_line_quad(img, box)) - 5.0) < 1.0


def test_level_short_and_empty_boxes_come_back_unchanged():
    img, box, _ = _page(0.0)
    assert np.array_equal(fit_line_quad(img, box), box)                # level text: the box is kept
    tilted, _, line = _page(5.0)
    x0, y0, _, _ = quad_to_box(line)
    short = box_to_quad(x0, y0, x0 + 60, y0 + 40)                       # under MIN_ASPECT heights wide
    assert np.array_equal(fit_line_quad(tilted, short), short)
    blank = np.full((100, 400), 255, np.uint8)
    assert np.array_equal(fit_line_quad(blank, box_to_quad(10, 10, 300, 50)), box_to_quad(10, 10, 300, 50))


def test_a_float_image_is_refused():
    img, box, _ = _page(4.0)
    with pytest.raises(ValueError, match="uint8"):
        fit_line_quad(img.astype(np.float32), box)


def _descenders(below: str | None = None):
    """A line with descenders (baseline y=150) and the box a person draws from its capitals' top to the
    baseline; `below="banner"`: a dark band under the baseline that the tails touch, ending past GROW_MAX."""
    img = np.full((260, 700), 255, np.uint8)
    cv2.putText(img, "Paying jumpy gypsy Qty", (100, 150), cv2.FONT_HERSHEY_SIMPLEX, 1.2, 0, 2)
    ink_rows, ink_cols = np.flatnonzero((img < 128).any(1)), np.flatnonzero((img < 128).any(0))
    if below == "banner":
        img[158:166, 60:640] = 40
    box = box_to_quad(int(ink_cols[0]) - 3, int(ink_rows[0]) - 1, int(ink_cols[-1]) + 4, 151)
    return img, box, int(ink_rows[-1])


def test_a_box_that_cuts_the_tails_of_g_p_y_grows_over_them():
    img, box, ink_bottom = _descenders()
    grown = grow_to_ink(img, box)
    assert grown[2, 1] >= ink_bottom and grown[3, 1] >= ink_bottom        # the bottom edge passes the tails
    assert grown[2, 1] <= box[2, 1] + GROW_MAX * _band_height(box) + 1
    assert np.allclose(grown[:2], box[:2], atol=1.0)                      # nothing cut at the top: kept
    assert np.allclose(grown[:, 0], box[:, 0])                            # and the ends too
    short = box_to_quad(box[0, 0], box[0, 1], box[1, 0] - 12, ink_bottom + 3)   # cuts its last letter
    assert grow_to_ink(img, short)[1, 0] >= box[1, 0] - 4
    assert np.array_equal(fit_box(img, box), grown)                       # level text: fit_box = the grow
    assert np.array_equal(fit_box(img, box, grow=False), box)


def test_boxes_that_cut_nothing_stay_and_ink_that_runs_on_is_left_out():
    img, box, ink_bottom = _descenders()
    loose = box_to_quad(box[0, 0], box[0, 1] - 6, box[1, 0], ink_bottom + 6)
    assert np.array_equal(grow_to_ink(img, loose), loose)
    banner, box, _ = _descenders(below="banner")        # the tails join a banner: ink running past GROW_MAX
    assert grow_to_ink(banner, box)[2, 1] < 158            # is left out (the letters' own feet may be taken)
    flipped = 255 - img                                    # light text on dark: the same tails
    assert grow_to_ink(flipped, box)[2, 1] >= ink_bottom


class _GivenBox:
    def __init__(self, box):
        self.box = box

    def detect(self, images):
        return [Page(width=700, height=300, words=[Word(quad=self.box.copy(), line_id=0)],
                     lines=[Line(quad=self.box.copy(), word_ids=[0])])]


class _Widths:
    """Reads each crop as its width: crops arrive at the pipeline's height (32), so a crop cut along the
    line's thin band comes out wider than one of the whole upright box."""
    crop_pad = 0.0

    def recognize(self, crops, lines=False):
        return [(str(c.shape[1]), 1.0) for c in crops]


def test_the_pipeline_reads_given_boxes_along_their_lines_and_keeps_the_boxes():
    img, box, _ = _page(5.0)
    rgb = cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
    plain = Pipeline(detector=_GivenBox(box), recognizers={"*": _Widths()}, split_words=False).run([rgb])[0]
    fit = Pipeline(detector=_GivenBox(box), recognizers={"*": _Widths()}, split_words=False,
                   fit_boxes=True).run([rgb])[0]
    assert int(fit.words[0].text) > 1.6 * int(plain.words[0].text)
    assert np.array_equal(fit.words[0].quad, box)                        # the output keeps the given box
