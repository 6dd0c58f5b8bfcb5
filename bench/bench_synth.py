"""Speed of the synthetic engine on one core: A4 pages/s at 150 dpi with full GT, word crops/s.

    taskset -c 0 .venv/bin/python bench/bench_synth.py [--pages 40] [--crops 3000]

Pages are rendered in memory (no PNG/JSON writing), kinds cycling over the A4 kinds, with the default
degradations and rotations; the first few renders (font loading, glyph caches) are excluded as warm-up. On a shared machine the
CPU-second rate is the one-core figure; the wall-clock rate includes time lost to other processes.
"""
from __future__ import annotations

import argparse
import os
import time

import cv2
import numpy as np

from models.synth.crops import render_word_crop
from models.synth.fonts import load_fonts
from models.synth.pages import render_page

A4_KINDS = ("form", "invoice", "statement", "letter")


def bench_pages(n: int, degrade: bool) -> tuple[float, float]:
    fonts = load_fonts("train")
    for i in range(4):
        render_page(np.random.default_rng([99, i]), kind=A4_KINDS[i % 4], dpi=150, degrade=degrade, fonts=fonts)
    words = 0
    t, c = time.perf_counter(), time.process_time()
    for i in range(n):
        _, page = render_page(np.random.default_rng([1, i]), kind=A4_KINDS[i % 4], lang="mixed", dpi=150,
                              degrade=degrade, fonts=fonts)
        words += len(page.words)
    return n / (time.perf_counter() - t), n / (time.process_time() - c), words / n


def bench_crops(n: int) -> float:
    fonts = load_fonts("train")
    rng = np.random.default_rng(0)
    for _ in range(200):
        render_word_crop(rng, fonts=fonts)
    t, c = time.perf_counter(), time.process_time()
    for _ in range(n):
        render_word_crop(rng, fonts=fonts)
    return n / (time.perf_counter() - t), n / (time.process_time() - c)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=40)
    ap.add_argument("--crops", type=int, default=3000)
    args = ap.parse_args()
    cv2.setNumThreads(1)
    try:
        import torch
        torch.set_num_threads(1)
    except ImportError:
        pass
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "?"
    print(f"cores available to this process: {cores}")
    print("rates: per wall-clock second, and per CPU second of this process (equal on an idle core)")
    for degrade in (True, False):
        wall, cpu, wpp = bench_pages(args.pages, degrade=degrade)
        what = "degraded+rotated" if degrade else "clean          "
        print(f"pages (A4 @150 dpi, full GT, {what}): {wall:6.2f} /s wall  {cpu:6.2f} /s cpu  ({wpp:.0f} words/page)")
    wall, cpu = bench_crops(args.crops)
    print(f"word crops (height 32, degraded):               {wall:6.0f} /s wall  {cpu:6.0f} /s cpu")


if __name__ == "__main__":
    main()
