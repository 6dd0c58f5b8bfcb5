"""Detector speed: ms per 1,700 x 2,200 page (A4 at 200 dpi) on CPU threads, and peak memory.

    .venv/bin/python bench/bench_detector.py --threads 1 --repeat 5
    .venv/bin/python bench/bench_detector.py --device cuda --batch 8       # pages/s on a GPU

The page is a dense toy page of words (models.detection.toy) of 1700 x 2200, or `--image PATH` resized to it.
Prints one JSON line: median wall ms per page for the whole `detect` call, its CPU ms (equal to wall time
on an idle core; the honest figure on a shared machine) and its network part, words found,
parameters, peak resident memory (ru_maxrss) of this process and its growth during detection.
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from models.detection.model import Detector, count_parameters  # noqa: E402
from models.detection.predictor import DetectionPredictor  # noqa: E402
from models.precision import autocast  # noqa: E402
from models.weights import WEIGHTS_DIR  # noqa: E402


def bench_page(image: str | None, size: tuple[int, int]) -> np.ndarray:
    if image:
        from PIL import Image
        page = np.asarray(Image.open(image).convert("RGB"))
    else:   # a dense page of words at 10-14 pt at 200 dpi (light to make, so the memory figure is the detector's)
        from models.detection.toy import render_toy_page
        page, _ = render_toy_page(np.random.default_rng(0), size[0], size[1], font_px=(28, 40))
    return cv2.resize(page, size, interpolation=cv2.INTER_AREA)


def _peak_mb() -> float:
    """Peak resident memory of this process so far (the CUDA build of torch alone is ~0.6 GB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights-dir", default=str(WEIGHTS_DIR))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--precision", default="auto", help="fp32 | bf16 | fp16 | auto (models.precision)")
    ap.add_argument("--batch", type=int, default=1, help="pages per detect call")
    ap.add_argument("--image", default=None)
    ap.add_argument("--width", type=int, default=1700)
    ap.add_argument("--height", type=int, default=2200)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    try:
        pred = DetectionPredictor.from_weights("detector", args.weights_dir, args.device, args.precision)
    except FileNotFoundError:
        print("no shipped detector weights: timing an untrained network", file=sys.stderr)
        pred = DetectionPredictor(Detector(), device=args.device, precision=args.precision)
    page = bench_page(args.image, (args.width, args.height))
    pages = [page] * args.batch
    base_mb = _peak_mb()
    pred.detect(pages)                                                  # warm-up
    totals, cpus, nets = [], [], []
    for _ in range(args.repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        out = pred.detect(pages)
        totals.append((time.perf_counter() - t0) * 1000 / args.batch)
        cpus.append((time.process_time() - c0) * 1000 / args.batch)
        arrays = [pred._prepare(p)[0] for p in pages]
        x = pred._batch_tensor(arrays)
        with torch.inference_mode(), autocast(pred.precision, pred.device):
            if args.device.startswith("cuda"):
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            pred.net(x)
            if args.device.startswith("cuda"):
                torch.cuda.synchronize()
            nets.append((time.perf_counter() - t0) * 1000 / args.batch)
    ms = statistics.median(totals)
    print(json.dumps({
        "page": f"{args.width}x{args.height}", "max_side": pred.config.max_side, "threads": args.threads,
        "device": args.device, "precision": pred.precision, "batch": args.batch, "ms_per_page": round(ms, 1),
        "cpu_ms_per_page": round(statistics.median(cpus), 1),
        "network_ms_per_page": round(statistics.median(nets), 1), "pages_per_s": round(1000 / ms, 2),
        "words": len(out[0].words), "params": count_parameters(pred.model), "version": pred.version,
        "peak_rss_mb": round(_peak_mb(), 1), "detect_peak_over_loaded_mb": round(_peak_mb() - base_mb, 1),
        **({"gpu": torch.cuda.get_device_name(), "gpu_peak_mb": round(torch.cuda.max_memory_allocated() / 2**20, 1)}
           if args.device.startswith("cuda") else {})}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
