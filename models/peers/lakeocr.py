"""Our own pipeline behind the peer interface (`models.zoo.load_pipeline`), so it is scored like the peers.

`GivenBoxes` stands in for the detector when the readers (script id, recognizers, post-OCR) are evaluated
alone: it returns the GT word (or, for line-level GT, line) quads with their text removed.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from models.gtio import load_page
from models.pipeline import Pipeline
from models.types import GIVEN_LINES, Line, Page, Word


class LakeOcrEngine:
    name = "lakeocr"

    def __init__(self, pipeline: Pipeline):
        self.pipeline = pipeline
        self.version = ",".join(f"{k}={v}" for k, v in sorted(pipeline.versions.items())) or "unversioned"

    @classmethod
    def from_zoo(cls, weights_dir: str | Path | None = None, device: str = "cpu", reread: bool = False,
                 **_ignored) -> "LakeOcrEngine":
        from models.zoo import load_pipeline
        kwargs = {"device": device, "reread": reread}
        if weights_dir is not None:
            kwargs["weights_dir"] = weights_dir
        try:
            return cls(load_pipeline(**kwargs))
        except (FileNotFoundError, ModuleNotFoundError) as exc:
            raise RuntimeError(f"lakeocr pipeline cannot load: {exc}") from exc

    def ocr(self, image: np.ndarray) -> Page:
        return self.pipeline.run([image])[0]


class GivenBoxes:
    """A detector returning the quads of a GT page (set per page by `gt_boxes_predict`)."""
    version = "gt-boxes"

    def __init__(self):
        self.page: Page | None = None

    def detect(self, images) -> list[Page]:
        if self.page is None or len(images) != 1:
            raise ValueError("GivenBoxes needs its GT page set, and one image per call")
        gt = self.page
        meta = {}
        if gt.meta.get("granularity") == "line" and gt.lines:     # one word per GT line, each its own line
            words = [Word(quad=ln.quad.copy(), line_id=i) for i, ln in enumerate(gt.lines)]
            lines = [Line(quad=w.quad.copy(), word_ids=[i]) for i, w in enumerate(words)]
            # the boxes are lines: read them as lines, and the clusterer keeps them (a key and its value
            # given as two lines on one row stay two lines)
            meta[GIVEN_LINES] = True
        else:
            words = [Word(quad=w.quad.copy(), line_id=w.line_id) for w in gt.words]
            lines = [Line(quad=ln.quad.copy(), word_ids=list(ln.word_ids)) for ln in gt.lines]
        return [Page(width=gt.width, height=gt.height, words=words, lines=lines, meta=meta)]


def gt_boxes_engine(weights_dir: str | Path | None = None, device: str = "cpu",
                    reread: bool = False) -> tuple[LakeOcrEngine, GivenBoxes]:
    """The shipped readers behind GT boxes: (engine, its GivenBoxes detector to feed GT pages to)."""
    from models.zoo import load_pipeline
    boxes = GivenBoxes()
    kwargs = {"device": device, "detector": boxes, "reread": reread}
    if weights_dir is not None:
        kwargs["weights_dir"] = weights_dir
    try:
        pipeline = load_pipeline(**kwargs)
    except (FileNotFoundError, ModuleNotFoundError) as exc:
        raise RuntimeError(f"lakeocr readers cannot load: {exc}") from exc
    pipeline.split_words = False        # the GT boxes are the words: a space read inside one is a misread
    pipeline.join_words = False         # ... and two of them are two words
    pipeline.complete_rules = False     # ... nor a rule's pieces one
    pipeline.fit_boxes = True           # drawn upright around text that may be skewed (models.linefit)
    return LakeOcrEngine(pipeline), boxes


def gt_path_for(image_path: Path) -> Path:
    """`<dataset>/images/<stem>.<ext>` -> `<dataset>/gt/<stem>.json` (benchdata layout)."""
    return image_path.parent.parent / "gt" / f"{image_path.stem}.json"


def gt_boxes_predict(engine: LakeOcrEngine, boxes: GivenBoxes):
    """`predict(image_path, image)` that feeds each page's GT quads to the readers."""
    def predict(path: Path, image: np.ndarray) -> Page:
        boxes.page = load_page(gt_path_for(Path(path)))
        return engine.ocr(image)
    return predict
