"""Light text on a gray or halftone band: the second map `ink_views` offers, and the reader's choice."""
import numpy as np
import pytest
import torch

from models.recognition.charset import Charset
from models.recognition.data import CropSpec, ink_crop, ink_views
from models.recognition.model import ColumnViTSTR, ColumnViTSTRConfig
from models.recognition.predictor import RecognitionPredictor

SPEC = CropSpec()


def strokes(h: int = 32, w: int = 120) -> np.ndarray:
    """A bool mask of five vertical strokes, 3 px wide, with a bar across: a few letters' worth of text."""
    m = np.zeros((h, w), bool)
    for x in range(10, 110, 20):
        m[6:26, x:x + 3] = True
    m[15:18, 10:100] = True
    return m


def test_dark_text_on_paper_and_light_text_on_black_get_one_map():
    text = strokes()
    paper = np.where(text, 20, 235).astype(np.uint8)
    black = np.where(text, 235, 20).astype(np.uint8)
    for crop in (paper, black):
        ink, band = ink_views(crop, SPEC)
        assert band is None
        np.testing.assert_array_equal(ink, ink_crop(crop, SPEC))
    assert ink_views(paper, SPEC)[0][text].min() > 200                     # the strokes are the ink
    assert ink_views(np.full((32, 60), 128, np.uint8), SPEC)[1] is None    # one tone: nothing to tell apart


def on_halftone(text: np.ndarray) -> np.ndarray:
    """`text` in light gray on a band screened by a 2-px checker: half the band's pixels black."""
    yy, xx = np.mgrid[:text.shape[0], :text.shape[1]]
    screen = ((yy // 2 + xx // 2) % 2 == 0)
    return np.where(text, 240, np.where(screen, 0, 255)).astype(np.uint8)


def test_light_text_on_a_halftone_band_gets_a_second_map_with_the_text_as_ink():
    text = strokes()
    crop = on_halftone(text)
    assert np.median(crop) > 100                           # ink_crop alone reads the band as the ink ...
    ink, band = ink_views(crop, SPEC)
    assert ink[~text].mean() > ink[text].mean()            # ... and the text as paper
    assert band is not None and band.shape == ink.shape and band.dtype == np.uint8
    inner = np.zeros_like(text)
    inner[8:24, 20:100] = True                             # away from the crop's edges
    assert band[text & inner].mean() > 200 and band[~text & inner].mean() < 60   # the screen melted to paper


class Reader:
    """Stands in for RecognitionPredictor._read: a crop's reading chosen by which map it is given."""

    def __init__(self, by_map):
        self.by_map = by_map

    def __call__(self, norm, lines, keep_below=None):
        return [self.by_map(c) for c in norm]


@pytest.fixture()
def predictor():
    charset = Charset("abc")
    model = ColumnViTSTR(ColumnViTSTRConfig(num_classes=charset.num_classes, dim=32, depth=1, heads=2,
                                            dropout=0.0)).eval()
    return RecognitionPredictor(model, charset, precision="fp32")


@pytest.mark.parametrize("band_read, plain_read, takes_band", [
    (("abcab", 0.5), ("a", 0.6), True),        # per character 0.87 against 0.6: the band
    (("abcab", 0.2), ("ab", 0.6), False),      # 0.72 against 0.77: the plain map
    (("", 0.99), ("a", 0.1), False),           # the band reads nothing: never taken
])
def test_the_band_map_is_taken_where_it_reads_better_per_character(predictor, band_read, plain_read, takes_band):
    band = np.full((32, 40), 7, np.uint8)
    plain = np.full((32, 40), 9, np.uint8)
    predictor._read = Reader(lambda c: band_read if c[0, 0] == 7 else plain_read)
    chosen, known = predictor._choose_views([plain, plain], [band, None], lines=False)
    assert chosen[1] is plain and 1 not in known           # no band offered: untouched, not read yet
    assert (chosen[0] is band) == takes_band
    assert known[0] == (band_read if takes_band else plain_read)     # the reading of the map kept



def test_without_the_reread_a_crop_read_both_ways_is_not_read_again(predictor):
    crop = on_halftone(strokes())
    ink, band = ink_views(crop, SPEC)
    calls = []

    def read(norm, lines, keep_below=None):
        calls.append(len(norm))
        return [("abcab", 0.5) if np.array_equal(c, band) else ("a", 0.1) for c in norm]

    predictor._read = read
    paper = np.where(strokes(), 20, 235).astype(np.uint8)
    assert predictor.recognize([crop, paper]) == [("abcab", 0.5), ("a", 0.1)]
    assert calls == [1, 1, 1]              # the banded crop both ways, then only the crop on paper
