"""The OCR pipeline: a short sequence of calls, each stage an object you can replace.

    detect (chars, words, lines, orientation) -> words extended over the marks and letters past their ends
    (models.wordends)
    -> [given boxes: each fit to its skewed line (models.linefit)]
    -> script id per word -> recognizer per script (a page whose boxes are given lines, Page.meta[GIVEN_LINES],
       is read with the line decoding)
    -> a word read with a space in it split there (models.wordsplit)
    -> neighbours of a line read as one crop without a space joined (models.wordjoin)
    -> separator rules typed as characters, found in pieces, completed from the ink into one word (models.rules)
    -> each read word's characters refit to its ink, the text giving their count and letters (models.charfit)
    -> post-OCR stages (clustering, entities, templates), each `Page -> Page`

Stages are duck-typed by the protocols below; `versions` says which weights made the output, so a cache
on an executor can key the whole pipeline by them. A reader (script id, recognizer) may carry `crop_pad`:
the margin, as a fraction of the word's height on every side, it was trained to see around a word (its
weights' JSON recipe says it; 0 = the detector's quad as is). Word crops are cut once per distinct margin.

A stage that sets `reads_regions = True` is called `stage(page, reader=...)`: `reader(quads)` reads any
quads of that page's image with the shared recognizer ("*", else the first one), `[(text, conf)]`, with its
crop margin or `reader(quads, pad=...)`'s; the line reader and the template stage use it to read a line's
words again as one crop (a token the detector split in two, punctuation it lost between words), the
template stage with several margins that vote.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Protocol, Sequence

import numpy as np

from models import charfit, rules, wordends
from models.geometry import crop_quad
from models.linefit import fit_line_quad
from models.types import GIVEN_LINES, Page
from models.wordjoin import join_words
from models.wordsplit import split_at_spaces


class Detector(Protocol):
    def detect(self, images: Sequence[np.ndarray]) -> list[Page]:
        """Pages with words (quads, chars, orientation, line ids) and lines; text still empty."""


class ScriptIdentifier(Protocol):
    crop_pad: float

    def classify(self, crops: Sequence[np.ndarray]) -> list[tuple[str, float]]:
        """(script, confidence) per upright word crop."""


class Recognizer(Protocol):
    crop_pad: float

    def recognize(self, crops: Sequence[np.ndarray], lines: bool = False) -> list[tuple[str, float]]:
        """(text, confidence) per upright word crop; `lines`: the crops may hold several words (text lines,
        regions), so a word gap is read as a space even where the reading barely leans to one."""


class PageStage(Protocol):
    def __call__(self, page: Page) -> Page: ...


RegionReader = Callable[..., list[tuple[str, float]]]   # (quads, pad=<crop margin in heights>)


CROP_HEIGHT = 32


@dataclass
class Pipeline:
    detector: Detector
    script_id: ScriptIdentifier | None = None
    recognizers: dict[str, Recognizer] = field(default_factory=dict)   # script -> recognizer ("*" = any)
    stages: list[PageStage] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)
    crop_height: int = CROP_HEIGHT
    split_words: bool = True        # a detected word read with a space in it becomes one word per part
                                    # (models.wordsplit); off where the boxes are given words (GT boxes)
    join_words: bool = True         # neighbours of a line read as one crop without a space become one word
                                    # (models.wordjoin); off where the boxes are given words
    complete_rules: bool = True     # typed separator rules (`=====`) completed from the ink into one word
                                    # (models.rules); off where the boxes are given words
    extend_words: bool = True       # detected words extended over the marks and letters past their ends
                                    # (models.wordends); never given boxes (fit_boxes)
    fit_chars: bool = True          # character boxes refit to each read word's ink (models.charfit)
    fit_boxes: bool = False         # words' crops cut along the skewed line inside each box (models.linefit):
                                    # for boxes drawn upright around the text (given boxes), not the
                                    # detector's, which follow their characters already

    def set_reread(self, on: bool = True) -> None:
        """Every recognizer reads its doubtful crops again, stretched, or stops doing so
        (models.recognition.predictor.RecognitionPredictor.set_reread)."""
        for rec in self.recognizers.values():
            rec.set_reread() if on else rec.set_reread(())

    def run(self, images: Sequence[np.ndarray]) -> list[Page]:
        pages = self.detector.detect(images)
        for image, page in zip(images, pages):
            self._read_words(image, page)
            reader = self.region_reader(image)
            for stage in self.stages:
                page = stage(page, reader=reader) if reader and getattr(stage, "reads_regions", False) else stage(page)
        return pages

    def region_reader(self, image: np.ndarray) -> RegionReader | None:
        rec = self.recognizers.get("*") or next(iter(self.recognizers.values()), None)
        if rec is None:
            return None
        pad = float(getattr(rec, "crop_pad", 0.0))

        def read(quads: Sequence[np.ndarray], pad: float = pad) -> list[tuple[str, float]]:
            return rec.recognize([crop_quad(image, q, height=self.crop_height, pad=pad) for q in quads],
                                 lines=True) if quads else []
        return read

    def _read_words(self, image: np.ndarray, page: Page) -> None:
        if not page.words or not (self.recognizers or self.script_id):
            return
        if self.extend_words and not self.fit_boxes:
            wordends.extend_to_marks(image, page)
        by_pad: dict[float, list[np.ndarray]] = {}
        quads = [fit_line_quad(image, w.quad) if self.fit_boxes else w.quad for w in page.words]

        def crops_for(reader) -> list[np.ndarray]:
            pad = float(getattr(reader, "crop_pad", 0.0))
            if pad not in by_pad:
                by_pad[pad] = [crop_quad(image, q, height=self.crop_height, pad=pad) for q in quads]
            return by_pad[pad]

        if self.script_id is not None:
            for w, (script, _conf) in zip(page.words, self.script_id.classify(crops_for(self.script_id))):
                w.script = script
        by_model: dict[str, list[int]] = {}
        for i, w in enumerate(page.words):
            key = w.script if w.script in self.recognizers else "*"
            if key in self.recognizers:
                by_model.setdefault(key, []).append(i)
        for key, idx in by_model.items():
            crops = crops_for(self.recognizers[key])
            results = self.recognizers[key].recognize([crops[i] for i in idx], lines=bool(page.meta.get(GIVEN_LINES)))
            for i, (text, conf) in zip(idx, results):
                page.words[i].text, page.words[i].conf = text, float(conf)
        if self.split_words:
            split_at_spaces(page)
        reader = self.region_reader(image) if self.join_words else None
        if reader is not None:
            join_words(page, reader)
        made = rules.complete_rules(image, page) if self.complete_rules else []
        if self.fit_chars:
            charfit.fit_chars(image, page)
            for rule in made:           # its bars' height from their ink's mass (charfit), its box theirs
                rules.hug_chars(rule)
        for line in page.lines:
            line.text = " ".join(page.words[i].text for i in line.word_ids if page.words[i].text)
