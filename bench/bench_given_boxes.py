"""Given boxes on synthetic pages: how the recognizer reads a line's box drawn tight, cut at the baseline, or
cut through its last letter, fit only (models.linefit.fit_line_quad) or fit and grown over the letters the
box cuts (models.linefit.fit_box) -- the rule bench/bench_recognizer.py real applies to GT boxes.

    .venv/bin/python bench/bench_given_boxes.py --lang en --pages 24 --seed 777     # dev seeds: 777, 778
    .venv/bin/python bench/bench_given_boxes.py --lang mixed --pages 16 --seed 778

Pages are rendered with held-out fonts (`lakeocr synth pages --fonts eval`) into --cache (reused). Each GT
line is read with `recognize(lines=True)`, cut at height 32 with no margin, as the bench cuts GT boxes.
"Cut at the baseline": the bottom edge moved up to the median bottom of the line's letters and digits
without a tail; "cut right": the right end moved in by 40 % of the last character's width. Prints JSON.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TAILS = set("gjpqyQJ,;()[]{}|/_$@")


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(1e-6, float(np.linalg.norm(v)))


def cut_boxes(d: dict) -> tuple[list, list, list, list]:
    """(texts, tight, cut at the baseline, cut right) quads of a page's GT lines (benchdata JSON + chars)."""
    from models.linefit import shift_edges
    texts, tight, base_cut, right_cut = [], [], [], []
    chars = [(c["text"], np.asarray(c["quad"], np.float32)) for w in d["words"] for c in w.get("chars", [])]
    for ln in d["lines"]:
        q = np.asarray(ln["quad"], np.float32)
        along, up = _unit(q[1] - q[0]), _unit(q[3] - q[0])
        w, h = float(np.linalg.norm(q[1] - q[0])), float(np.linalg.norm(q[3] - q[0]))
        mine = []
        for text, cq in chars:
            a, b = float((cq.mean(0) - q[0]) @ along), float((cq.mean(0) - q[0]) @ up)
            if 0 <= a <= w and 0 <= b <= h:
                mine.append((a, text, cq))
        bottoms = [float(((cq[2] + cq[3]) / 2 - q[0]) @ up) for _, t, cq in mine
                   if t not in TAILS and t.isascii() and t.isalnum()]
        base = float(np.median(bottoms)) if bottoms else h
        last = max(mine, key=lambda m: m[0])[2] if mine else None
        texts.append(ln["text"])
        tight.append(q)
        base_cut.append(shift_edges(q, 0.0, -(h - base)) if base < h - 1 else q)
        right_cut.append(shift_edges(q, 0.0, 0.0, 0.0, -0.4 * float(np.linalg.norm(last[1] - last[0])))
                         if last is not None else q)
    return texts, tight, base_cut, right_cut


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--lang", default="en", choices=("ko", "en", "mixed"))
    p.add_argument("--pages", type=int, default=24)
    p.add_argument("--seed", type=int, default=777)
    p.add_argument("--cache", type=Path, default=None, help="rendered pages (default: build/given_boxes/LANG_SEED)")
    p.add_argument("--weights-dir", type=Path, default=ROOT / "models" / "weights")
    p.add_argument("--precision", default="fp32")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)

    import cv2
    import torch
    from models.eval.metrics import edit_distance, normalize_text
    from models.geometry import crop_quad
    from models.linefit import fit_box
    from models.recognition.predictor import RecognitionPredictor

    torch.set_num_threads(args.threads)
    cache = args.cache or ROOT / "build" / "given_boxes" / f"{args.lang}_{args.seed}_{args.pages}"
    if not (cache / "gt").is_dir():
        subprocess.run([sys.executable, "-m", "jobs.cli", "synth", "pages", "--n", str(args.pages), "--lang",
                        args.lang, "--kind", "mixed", "--fonts", "eval", "--seed", str(args.seed), "--out",
                        str(cache)], check=True, cwd=ROOT)
    images, texts, sets = [], [], {"tight": [], "cut at the baseline": [], "cut right": []}
    for gt in sorted((cache / "gt").glob("*.json")):
        d = json.loads(gt.read_text(encoding="utf-8"))
        img = cv2.cvtColor(cv2.imread(str(cache / "images" / d["image"])), cv2.COLOR_BGR2RGB)
        t, *quads = cut_boxes(d)
        texts += t
        images += [img] * len(t)
        for key, qs in zip(sets, quads):
            sets[key] += qs
    pred = RecognitionPredictor.from_weights("recognizer", args.weights_dir, "cpu", args.precision)
    n_chars = sum(len(normalize_text(t, False)) for t in texts)
    out = {"pages": args.pages, "lang": args.lang, "seed": args.seed, "lines": len(texts), "chars": n_chars,
           "recognizer": pred.version}
    for key, quads in sets.items():
        for grow in (False, True):
            read = [fit_box(im, q, grow=grow) for im, q in zip(images, quads)]
            got = [t for t, _ in pred.recognize([crop_quad(im, q, height=32) for im, q in zip(images, read)],
                                                lines=True)]
            edits = sum(edit_distance(normalize_text(o, False), normalize_text(g, False)) for o, g in zip(got, texts))
            exact = float(np.mean([normalize_text(o, False) == normalize_text(g, False) for o, g in zip(got, texts)]))
            out[f"{key}, {'fit and grown' if grow else 'fit only'}"] = {
                "cer": round(edits / max(1, n_chars), 4), "exact": round(exact, 4), "edits": edits}
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
