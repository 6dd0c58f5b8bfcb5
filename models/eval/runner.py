"""Run an engine over a dataset folder (benchdata format) and score every page with models.eval.pages.

An engine is anything with `ocr(image) -> Page` (models.peers); saved predictions (the JSON that
`lakeocr ocr` writes, same format as the GT) are scored through `SavedPredictions`. Only the engine call is
timed (not image decoding, not scoring): wall time with time.perf_counter, and CPU time = this process's
(all threads) + its finished children's (tesseract) user + system time, which a busy shared machine
disturbs far less than wall time.
"""
from __future__ import annotations

import resource
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from models.eval.pages import EvalConfig, PageResult, aggregate, evaluate_page
from models.eval.report import PageCase
from models.gtio import iter_dataset, load_page
from models.types import Page


def read_image(path: str | Path) -> np.ndarray:
    """An image file as RGB uint8 (the project's page convention, as udfs/decode.py produces)."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"cannot decode image {path}")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


@dataclass(frozen=True)
class SavedPredictions:
    """Predictions already on disk: `<dir>/<image stem>.json` or `<dir>/<dataset name>/<image stem>.json`."""
    directory: Path
    name: str = "saved"
    version: str = "saved-predictions"

    def page_for(self, image_path: Path) -> Page:
        d = Path(self.directory)
        for cand in (d / f"{image_path.stem}.json", d / image_path.parent.parent.name / f"{image_path.stem}.json"):
            if cand.exists():
                return load_page(cand)
        raise ValueError(f"no saved prediction for {image_path.name} under {d}")


def cpu_seconds() -> float:
    """User + system CPU seconds of this process (all threads) and of its waited-for children."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


@dataclass
class DatasetRun:
    name: str
    metrics: dict
    cases: list[PageCase]


def evaluate_dataset(dataset_dir: str | Path, predict: Callable[[Path, np.ndarray], Page],
                     config: EvalConfig = EvalConfig(), limit: int | None = None,
                     progress: Callable[[str], None] | None = None) -> DatasetRun:
    """Score `predict(image_path, image) -> Page` on every page of a dataset folder (first `limit` pages)."""
    root = Path(dataset_dir)
    cases: list[PageCase] = []
    for k, (img_path, gt_path) in enumerate(iter_dataset(root)):
        if limit is not None and k >= limit:
            break
        image = read_image(img_path)
        gt = load_page(gt_path)
        t0, c0 = time.perf_counter(), cpu_seconds()
        pred = predict(img_path, image)
        seconds, cpu = time.perf_counter() - t0, cpu_seconds() - c0
        result: PageResult = evaluate_page(pred, gt, config, name=img_path.name)
        result.seconds, result.cpu_seconds = seconds, cpu
        cases.append(PageCase(result=result, image_path=img_path, pred=pred, gt=gt, dataset=root.name))
        if progress:
            progress(f"{root.name}/{img_path.name}: {seconds:.2f}s e2e F1 {result.e2e_hmean:.3f}")
    if not cases:
        raise ValueError(f"{root}: no pages")
    return DatasetRun(name=root.name, metrics=aggregate([c.result for c in cases]), cases=cases)


def engine_predict(engine) -> Callable[[Path, np.ndarray], Page]:
    """Adapter: an engine with `ocr(image)` as a `predict(image_path, image)` function."""
    return lambda _path, image: engine.ocr(image)


def saved_predict(saved: SavedPredictions) -> Callable[[Path, np.ndarray], Page]:
    return lambda path, _image: saved.page_for(path)
