"""`lakeocr ocr PATH... --out DIR`: run the shipped pipeline on images (files or folders, no Spark) and
write one `<stem>.json` per image in the benchdata prediction format (models.gtio): words with quad,
text, conf, orientation, line id and chars (refit to the word's ink, each with its letter where the word's
boxes and letters are as many: models.charfit); lines; page orientation. Text stays empty where no recognizer
weights are shipped (models.zoo.load_pipeline picks them up)."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", type=Path, help="image files or folders of images")
    parser.add_argument("--out", type=Path, required=True, help="folder for the <stem>.json predictions")
    parser.add_argument("--weights-dir", type=Path, default=None, help="default: models/weights")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--no-postocr", action="store_true", help="skip the post-OCR stages")
    parser.add_argument("--reread", action="store_true",
                        help="read doubtful crops again, stretched (slower, more accurate on receipts)")
    parser.add_argument("--draw", action="store_true", help="also write <stem>.png with the word boxes drawn")


def list_images(paths: list[Path]) -> list[Path]:
    """Image files among `paths` (folders are searched recursively), sorted, without duplicates."""
    found: list[Path] = []
    for p in paths:
        if p.is_dir():
            found += sorted(f for f in p.rglob("*") if f.suffix.lower() in IMAGE_SUFFIXES)
        elif p.is_file():
            found.append(p)
        else:
            raise SystemExit(f"lakeocr ocr: {p} does not exist")
    return list(dict.fromkeys(found))


def read_rgb(path: Path) -> np.ndarray:
    """Image file -> HxWx3 uint8 RGB (EXIF orientation applied; first frame of multi-page files)."""
    from PIL import Image, ImageOps

    with Image.open(path) as im:
        return np.asarray(ImageOps.exif_transpose(im).convert("RGB"))


def run(args) -> int:
    import torch

    from models.gtio import save_page
    from models.weights import WEIGHTS_DIR
    from models.zoo import load_pipeline

    torch.set_num_threads(args.threads)
    images = list_images(args.paths)
    if not images:
        raise SystemExit("lakeocr ocr: no images found")
    pipeline = load_pipeline(args.weights_dir or WEIGHTS_DIR, args.device, with_postocr=not args.no_postocr,
                             reread=args.reread)
    args.out.mkdir(parents=True, exist_ok=True)
    failed = 0
    for path in images:
        t0 = time.perf_counter()
        try:
            image = read_rgb(path)
            page = pipeline.run([image])[0]
        except (OSError, ValueError) as exc:
            print(f"{path}: error: {exc}", file=sys.stderr)
            failed += 1
            continue
        page.meta["versions"] = dict(pipeline.versions)
        if args.draw:
            from PIL import Image

            from models.draw import draw_boxes
            Image.fromarray(draw_boxes(image, page)).save(args.out / f"{path.stem}.png")
        save_page(page, args.out / f"{path.stem}.json", image_name=path.name)
        print(f"{path} -> {args.out / (path.stem + '.json')}: {len(page.words)} words, {len(page.lines)} lines, "
              f"orientation {page.orientation}, {1000 * (time.perf_counter() - t0):.0f} ms")
    return 1 if failed else 0
