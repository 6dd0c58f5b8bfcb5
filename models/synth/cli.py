"""`lakeocr synth` / `python -m models.synth`: render pages, word crops and contact sheets.

    lakeocr synth pages --n 200 --kind receipt --lang mixed --seed 1 --out DIR   # DIR/images/*.png + DIR/gt/*.json
    lakeocr synth pages --n 20 --template kr_transaction_statement --out DIR     # template instances
    lakeocr synth crops --n 1000 --out DIR                                       # DIR/images/*.png + labels.jsonl
    lakeocr synth gallery DIR --out sheet.png                                    # boxes coloured by script

Page i of a run uses np.random.default_rng([seed, i]): the same seed gives identical files.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np

from models.draw import draw_boxes
from models.gtio import iter_dataset, load_page, save_page

def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="synth_command", required=True, metavar="{pages,crops,gallery}")
    p = sub.add_parser("pages", help="render full pages with ground truth (images/ + gt/)")
    p.add_argument("--n", type=int, default=10)
    p.add_argument("--kind", default="mixed", help="form|receipt|invoice|statement|letter|card|mixed")
    p.add_argument("--lang", default="mixed", choices=("ko", "en", "mixed"))
    p.add_argument("--template", default=None, help="render instances of a template id (or 'all')")
    p.add_argument("--dpi", type=int, default=None, help="fixed dpi (default: random 100-300)")
    p.add_argument("--no-rotate", action="store_true", help="keep pages upright")
    p.add_argument("--no-degrade", action="store_true", help="clean renders (no warp, no scanner effects)")
    p.add_argument("--fonts", default="train", choices=("train", "eval", "all"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True)
    c = sub.add_parser("crops", help="render word (or line) crops (images/ + labels.jsonl)")
    c.add_argument("--n", type=int, default=100)
    c.add_argument("--script", default=None, choices=("hangul", "latin", "digits", "other"))
    c.add_argument("--height", type=int, default=32)
    c.add_argument("--lines", action="store_true", help="text-line crops instead of words")
    c.add_argument("--no-degrade", action="store_true")
    c.add_argument("--fonts", default="train", choices=("train", "eval", "all"))
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--out", required=True)
    g = sub.add_parser("gallery", help="contact sheet of a dataset folder with word boxes drawn")
    g.add_argument("dir")
    g.add_argument("--out", required=True)
    g.add_argument("--max", type=int, default=12)
    g.add_argument("--cols", type=int, default=4)
    g.add_argument("--thumb", type=int, default=480, help="thumbnail height in pixels")


def run(args: argparse.Namespace) -> int:
    return {"pages": run_pages, "crops": run_crops, "gallery": run_gallery}[args.synth_command](args)


def _write_png(path: Path, rgb_or_gray: np.ndarray) -> None:
    img = rgb_or_gray[:, :, ::-1] if rgb_or_gray.ndim == 3 else rgb_or_gray
    if not cv2.imwrite(str(path), img):
        raise OSError(f"could not write {path}")


def run_pages(args) -> int:
    from models.synth.fonts import load_fonts
    from models.synth.pages import render_page
    from models.synth.templates import load_templates, render_template_instance

    if args.n < 1:
        raise ValueError("--n must be >= 1")
    fonts = load_fonts(args.fonts)
    specs = []
    if args.template:
        all_specs = load_templates()
        if args.template != "all" and args.template not in all_specs:
            raise ValueError(f"unknown template {args.template!r}; known: {sorted(all_specs)}")
        specs = list(all_specs.values()) if args.template == "all" else [all_specs[args.template]]
    out = Path(args.out)
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "gt").mkdir(parents=True, exist_ok=True)
    for i in range(args.n):
        rng = np.random.default_rng([args.seed, i])
        if specs:
            img, page = render_template_instance(specs[i % len(specs)], rng, dpi=args.dpi, rotate=not args.no_rotate,
                                                 degrade=not args.no_degrade, fonts=fonts)
        else:
            img, page = render_page(rng, kind=args.kind, lang=args.lang, dpi=args.dpi, rotate=not args.no_rotate,
                                    degrade=not args.no_degrade, fonts=fonts)
        stem = f"synth_{args.seed}_{i:05d}"
        _write_png(out / "images" / f"{stem}.png", img)
        save_page(page, out / "gt" / f"{stem}.json", image_name=f"{stem}.png")
    print(f"wrote {args.n} pages to {out}/images and {out}/gt")
    return 0


def run_crops(args) -> int:
    from models.synth.crops import render_text_line_crop, render_word_crop
    from models.synth.fonts import load_fonts

    if args.n < 1:
        raise ValueError("--n must be >= 1")
    fonts = load_fonts(args.fonts)
    out = Path(args.out)
    (out / "images").mkdir(parents=True, exist_ok=True)
    fn = render_text_line_crop if args.lines else render_word_crop
    with open(out / "labels.jsonl", "w", encoding="utf-8") as f:
        for i in range(args.n):
            rng = np.random.default_rng([args.seed, i])
            crop = fn(rng, script=args.script, height=args.height, fonts=fonts, degrade=not args.no_degrade)
            name = f"crop_{args.seed}_{i:06d}.png"
            _write_png(out / "images" / name, crop.image)
            f.write(json.dumps({"image": name, "text": crop.text, "script": crop.script, "font": crop.font},
                               ensure_ascii=False) + "\n")
    print(f"wrote {args.n} crops to {out}/images and {out}/labels.jsonl")
    return 0


def run_gallery(args) -> int:
    pairs = list(iter_dataset(args.dir))[: args.max]
    if not pairs:
        raise ValueError(f"{args.dir}: no pages found")
    thumbs = []
    for img_path, gt_path in pairs:
        bgr = cv2.imread(str(img_path), cv2.IMREAD_COLOR)
        if bgr is None:
            raise ValueError(f"{img_path}: cannot read image")
        s = args.thumb / bgr.shape[0]
        small = cv2.resize(bgr[:, :, ::-1], (max(1, int(bgr.shape[1] * s)), args.thumb), interpolation=cv2.INTER_AREA)
        thumbs.append(draw_boxes(small, load_page(gt_path), scale=s))
    cell_w = max(t.shape[1] for t in thumbs)
    cols = max(1, min(args.cols, len(thumbs)))
    rows = (len(thumbs) + cols - 1) // cols
    sheet = np.full((rows * (args.thumb + 8), cols * (cell_w + 8), 3), 235, np.uint8)
    for k, t in enumerate(thumbs):
        r, c = divmod(k, cols)
        y, x = r * (args.thumb + 8) + 4, c * (cell_w + 8) + 4
        sheet[y:y + t.shape[0], x:x + t.shape[1]] = t
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    _write_png(out, sheet)
    print(f"wrote {out} ({len(thumbs)} pages)")
    return 0
