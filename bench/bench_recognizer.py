"""Recognizer benchmarks: speed per precision, held-out synthetic accuracy, real-scan accuracy vs Tesseract.

    .venv/bin/python bench/bench_recognizer.py speed --n 1000            # crops/s on one CPU thread per
                                                                         # precision (fp32 / int8 / bf16),
                                                                         # accuracy of each, peak memory
    .venv/bin/python bench/bench_recognizer.py synth --per-script 300    # word acc + CER per script
    .venv/bin/python bench/bench_recognizer.py real --tesseract-n 300    # FUNSD GT words, SROIE GT lines
                                                  [--tesseract-all] [--tesseract-boxes both] [--no-fit] [--no-grow]
    .venv/bin/python bench/bench_recognizer.py symbols                   # symbol words, rare symbols, `&`
    .venv/bin/python bench/bench_recognizer.py printed --per-script 300  # receipt printers' dot bitmaps
    .venv/bin/python bench/bench_recognizer.py banners --per-script 200  # light text on dark / halftone bands
    ... [--reread]    # any of them with the predictor's reread of doubtful crops (RecognitionPredictor.set_reread)
    ... [--reread --no-lexicon]    # the reread without English words for its doubtful Latin words

Speed is reported as wall crops/s AND crops per CPU-second (process time): on a shared machine the second
is the honest single-core figure. Peak memory = ru_maxrss of a fresh subprocess per precision.
Real scans: each GT box is fit to the skewed line inside it and its edges moved out over the characters they
cut (models.linefit.fit_box), with no margin: the recipe's `crop_pad` (0.12) is for the detector's quads,
tight around the characters, and FUNSD's GT word boxes are loose already (case-folded word accuracy 0.598
without it, 0.489 with it; SROIE's tight lines 0.619 / 0.638; adding it only where the ink lacks it read
FUNSD 0.560, SROIE 0.675, against 0.638 / 0.670 without). `--no-grow` keeps the fit alone (the crops before
2026-11-27), `--no-fit` the box as drawn. Cut with models.geometry.crop_quad at height 32. Tesseract (`--psm
7 -l eng`) gets the GT box at its native resolution with a white border (`--tesseract-boxes gt`), the box we
read (`ours`), or both; on a random subset of `--tesseract-n` boxes or, with `--tesseract-all`, all, with
our edits minus Tesseract's and a paired-bootstrap 95 % interval over the boxes (`*_paired_casefold`,
models.eval.metrics.paired_edits_bootstrap). Prints JSON; `--out` also writes it.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from models.recognition.evaluate import scores_by_script  # noqa: E402
from models.precision import cpu_has_bf16  # noqa: E402
from models.recognition.predictor import RecognitionPredictor  # noqa: E402
from models.weights import WEIGHTS_DIR  # noqa: E402

CACHE = ROOT / ".cache" / "recognizer"
BENCHDATA = ROOT.parent / "shared" / "benchdata"


def predictor(args, batch_size: int | None = None) -> RecognitionPredictor:
    """The predictor under test; `--reread` turns on its reread of doubtful crops (REREAD_SCALES)."""
    pred = RecognitionPredictor.from_weights(args.name, args.weights_dir, args.device, args.precision,
                                             batch_size=batch_size)
    if args.reread:
        pred.set_reread(lexicon=not args.no_lexicon)
    return pred


def held_out(per_script: int):
    from models.recognition.eval_sets import synthetic_eval_pool
    return synthetic_eval_pool(per_script, CACHE)


def speed_one(args) -> dict:
    """One precision, measured in this process (called in a fresh subprocess by `speed`)."""
    torch.set_num_threads(args.threads)
    pool = held_out(args.per_script)
    crops = [pool.image(i % len(pool)) for i in range(args.n)]
    pred = predictor(args, batch_size=args.batch_size)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    pred.recognize(crops[: pred.batch_size])                                    # warm-up
    best_wall = best_cpu = float("inf")
    for _ in range(args.repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        pred.recognize(crops)
        best_wall, best_cpu = min(best_wall, time.perf_counter() - w0), min(best_cpu, time.process_time() - c0)
    texts = [t for t, _ in pred.recognize([pool.image(i) for i in range(len(pool))])]
    acc = scores_by_script(texts, pool.texts, pool.scripts)
    return {"precision": pred.precision, "reread": list(pred.reread), "crops": args.n, "threads": args.threads,
            "crops_per_s_wall": args.n / best_wall, "crops_per_cpu_s": args.n / best_cpu,
            "mean_width_px": float(np.mean([c.shape[1] for c in crops])),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "rss_growth_mb": (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024,
            **({"gpu": torch.cuda.get_device_name(), "gpu_peak_mb": torch.cuda.max_memory_allocated() / 2**20,
                "batch_size": pred.batch_size} if str(args.device).startswith("cuda") else {}),
            "accuracy": {s: {k: round(v, 4) for k, v in d.items() if k in ("word_acc", "cer")} for s, d in acc.items()}}


def speed(args) -> dict:
    precisions = ["fp32", "int8"] + (["bf16"] if cpu_has_bf16() else [])
    out = {}
    for p in precisions:
        cmd = [sys.executable, __file__, "_speed_one", "--precision", p, "--n", str(args.n), "--repeat",
               str(args.repeat), "--threads", str(args.threads), "--name", args.name, "--weights-dir",
               str(args.weights_dir), "--per-script", str(args.per_script)] + ["--reread"] * args.reread + (
               ["--no-lexicon"] * args.no_lexicon) + (
               ["--batch-size", str(args.batch_size)] if args.batch_size else [])
        res = subprocess.run(cmd, capture_output=True, text=True, check=True)
        out[p] = json.loads(res.stdout.strip().splitlines()[-1])
        print(p, json.dumps(out[p]), file=sys.stderr, flush=True)
    return out


def synth(args) -> dict:
    torch.set_num_threads(args.threads)
    pool = held_out(args.per_script)
    pred = predictor(args)
    texts = [t for t, _ in pred.recognize([pool.image(i) for i in range(len(pool))])]
    errors = [(t, p) for t, p in zip(pool.texts, texts) if t != p][:15]
    return {"precision": pred.precision, "scores": scores_by_script(texts, pool.texts, pool.scripts),
            "examples_wrong (gt, pred)": errors}


def printed(args) -> dict:
    """Word acc + CER per script on held-out crops printed as a receipt printer's dot bitmap
    (eval_sets.printed_eval_pool), or with `banners` reversed out of a dark or halftone banner
    (eval_sets.banner_eval_pool); the line crops (text with a space) are read with `lines=True`, as the
    pipeline reads a region."""
    from models.recognition.eval_sets import banner_eval_pool, printed_eval_pool

    torch.set_num_threads(args.threads)
    pool = (banner_eval_pool(args.per_script, CACHE, args.split) if args.what == "banners"
            else printed_eval_pool(args.per_script, CACHE))
    pred = predictor(args)
    texts = [""] * len(pool)
    for lines in (False, True):
        idx = [i for i, t in enumerate(pool.texts) if (" " in t) == lines]
        for i, (t, _) in zip(idx, pred.recognize([pool.image(i) for i in idx], lines=lines)):
            texts[i] = t
    errors = [(t, p) for t, p in zip(pool.texts, texts) if t != p][:15]
    return {"version": pred.version, "precision": pred.precision,
            "scores": scores_by_script(texts, pool.texts, pool.scripts), "examples_wrong (gt, pred)": errors}


def symbols(args, words: int = 200, pairs: int = 100, seed: int = 4242) -> dict:
    """Exact match on held-out crops (eval fonts) of `symbol_word`s (`R&D`, `"quoted"`, `a=12` ...) and of
    pairs of RARE_SYMBOLS, and how many crops holding `&` keep it: what the word sampler once never drew."""
    from models.synth.content import Content
    from models.synth.crops import RARE_SYMBOLS, render_word_crop, symbol_word
    from models.synth.fonts import load_fonts

    torch.set_num_threads(args.threads)
    fonts, rng = load_fonts("eval"), np.random.default_rng(seed)
    crops, texts = [], []
    while len(crops) < words + pairs:
        content = Content(rng)
        text = symbol_word(content) if len(crops) < words else "".join(content.choice(RARE_SYMBOLS) for _ in range(2))
        try:
            crop = render_word_crop(rng, text=text, fonts=fonts)
        except ValueError:          # a face without one of the glyphs
            continue
        crops.append(crop.image)
        texts.append(text)
    pred = predictor(args)
    out = [t for t, _ in pred.recognize(crops)]
    amp = [o for o, t in zip(out, texts) if "&" in t]
    return {"version": pred.version, "symbol_words": float(np.mean([o == t for o, t in zip(out[:words], texts)])),
            "rare_symbol_pairs": float(np.mean([o == t for o, t in zip(out[words:], texts[words:])])),
            "ampersand_kept": f"{sum('&' in o for o in amp)}/{len(amp)}",
            "examples_wrong (gt, pred)": [(t, o) for t, o in zip(texts, out) if t != o][:15]}


def gt_boxes(dataset: str, unit: str):
    """(image path, quad, text) of every GT word (FUNSD) or line (SROIE)."""
    root = BENCHDATA / dataset
    for gt_path in sorted((root / "gt").glob("*.json")):
        d = json.loads(gt_path.read_text(encoding="utf-8"))
        for item in d[unit]:
            if item["text"].strip():
                yield root / "images" / d["image"], np.asarray(item["quad"], np.float32), item["text"]


def tesseract(crop: np.ndarray) -> str:
    import cv2
    padded = cv2.copyMakeBorder(crop, 10, 10, 10, 10, cv2.BORDER_CONSTANT, value=(255, 255, 255))
    with tempfile.NamedTemporaryFile(suffix=".png") as f:
        cv2.imwrite(f.name, padded)
        res = subprocess.run(["tesseract", f.name, "-", "--psm", "7", "-l", "eng"], capture_output=True, text=True)
    return " ".join(res.stdout.split())


def real(args) -> dict:
    import cv2
    from models.geometry import crop_quad
    from models.eval.metrics import paired_edits_bootstrap, text_scores
    from models.linefit import fit_box

    torch.set_num_threads(args.threads)
    pred = predictor(args)
    out = {}
    for dataset, unit in (("funsd", "words"), ("sroie", "lines")):
        images, boxes, gts = {}, [], []
        for path, quad, text in gt_boxes(dataset, unit):
            if path not in images:
                images[path] = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
            read = quad if args.no_fit else fit_box(images[path], quad, grow=not args.no_grow)
            boxes.append((images[path], quad, read))
            gts.append(text)
        crops = [crop_quad(image, read, height=32) for image, _, read in boxes]
        ours = [t for t, _ in pred.recognize(crops, lines=unit == "lines")]
        res = {"n": len(gts), "fit_changed": sum(not np.array_equal(q, r) for _, q, r in boxes),
               "ours": text_scores(zip(ours, gts)).as_dict(),
               "ours_casefold": text_scores(zip(ours, gts), casefold=True).as_dict()}
        if args.tesseract_n or args.tesseract_all:
            idx = np.random.default_rng(0).permutation(len(gts))
            idx = idx if args.tesseract_all else idx[: args.tesseract_n]
            sub = [(ours[i], gts[i]) for i in idx]
            res["subset_n"] = len(idx)
            res["ours_subset"] = text_scores(sub).as_dict()
            res["ours_subset_casefold"] = text_scores(sub, casefold=True).as_dict()
            for which in ("gt", "ours") if args.tesseract_boxes == "both" else (args.tesseract_boxes,):
                tess = [tesseract(crop_quad(boxes[i][0], boxes[i][1 if which == "gt" else 2])) for i in idx]
                key = "tesseract_subset" + ("" if which == "gt" else "_our_boxes")
                res[key] = text_scores(zip(tess, [gts[i] for i in idx])).as_dict()
                res[key + "_casefold"] = text_scores(zip(tess, [gts[i] for i in idx]), casefold=True).as_dict()
                res[key + "_paired_casefold"] = paired_edits_bootstrap(
                    [ours[i] for i in idx], tess, [gts[i] for i in idx], casefold=True)
                res[f"examples (gt, ours, tesseract on {which} boxes)"] = [
                    (gts[i], ours[i], t) for i, t in list(zip(idx, tess))[:12]]
        out[dataset] = res
        print(dataset, json.dumps({k: v for k, v in res.items() if not k.startswith("examples")}), file=sys.stderr,
              flush=True)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("what", choices=("speed", "synth", "real", "symbols", "printed", "banners", "_speed_one"))
    p.add_argument("--name", default="recognizer")
    p.add_argument("--weights-dir", type=Path, default=WEIGHTS_DIR)
    p.add_argument("--device", default="cpu")
    p.add_argument("--precision", default="fp32")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=None, help="default: the predictor's (32 on CPU)")
    p.add_argument("--per-script", type=int, default=300)
    p.add_argument("--tesseract-n", type=int, default=300, help="real: Tesseract on this many random boxes")
    p.add_argument("--tesseract-all", action="store_true", help="real: Tesseract on every box")
    p.add_argument("--tesseract-boxes", choices=("gt", "ours", "both"), default="gt",
                   help="real: Tesseract reads the GT boxes, the boxes we read (fit), or both")
    p.add_argument("--no-fit", action="store_true", help="real: read the GT boxes as they are (no models.linefit)")
    p.add_argument("--no-grow", action="store_true",
                   help="real: fit only, no edge moved over the characters it cuts (models.linefit.grow_to_ink)")
    p.add_argument("--reread", action="store_true",
                   help="read doubtful crops again, stretched (RecognitionPredictor.set_reread); every subcommand")
    p.add_argument("--split", choices=("eval", "train"), default="eval",
                   help="banners: held-out fonts (the benchmark) or training fonts (the dev set)")
    p.add_argument("--no-lexicon", action="store_true",
                   help="with --reread: no English words for doubtful Latin words (models.recognition.lexicon)")
    p.add_argument("--out", type=Path)
    args = p.parse_args(argv)
    result = {"speed": speed, "synth": synth, "real": real, "symbols": symbols, "printed": printed,
              "banners": printed, "_speed_one": speed_one}[args.what](args)
    text = json.dumps(result, ensure_ascii=False, indent=None if args.what == "_speed_one" else 2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
