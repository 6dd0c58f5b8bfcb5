"""The bundled sample archive (`samples/archive/`): a few dozen documents rendered by our generator, Korean
and English, in every input format the job reads, plus two broken files. Small enough to commit (< 5 MB).

    python -m jobs.samples [--out samples] [--docs 30] [--seed 7]

Document i uses np.random.default_rng([seed, i]), so a rebuild gives the same pages. The list of files
(kind, language, pages) goes to `samples/manifest.json`, outside the archive so the job does not read it;
`--gt DIR` also writes each page's ground truth JSON there (not committed: it would double the size).
"""
from __future__ import annotations

import argparse
import io
import json
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

# (kind, lang, format, pages): cycled over the documents
PLAN: tuple[tuple[str, str, str, int], ...] = (
    ("receipt", "ko", "jpg", 1), ("receipt", "en", "png", 1), ("invoice", "ko", "pdf", 2),
    ("form", "en", "jpg", 1), ("statement", "ko", "tif", 2), ("letter", "en", "pdf", 1),
    ("card", "ko", "webp", 1), ("receipt", "en", "jpg", 1), ("invoice", "en", "tif", 1),
    ("form", "ko", "png", 1), ("statement", "en", "jpg", 1), ("receipt", "ko", "bmp", 1),
)
BROKEN = {"broken/truncated_invoice.pdf": "truncated PDF (CorruptPdf)",
          "broken/empty_scan.png": "zero-byte file (EmptyFile)"}
SAMPLE_DPI = 100


def encrypted_pdf() -> bytes:
    """A one-page PDF whose standard security handler wants a password (pdfium refuses the empty one)."""
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
            b"<< /Filter /Standard /V 1 /R 2 /O <" + b"ab" * 32 + b"> /U <" + b"cd" * 32 + b"> /P -4 >>"]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for i, obj in enumerate(objs, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (i, obj))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1))
    for off in offsets:
        out.write(b"%010d 00000 n \n" % off)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R /Encrypt 4 0 R /ID [<%s> <%s>] >>\nstartxref\n%d\n%%%%EOF\n"
              % (len(objs) + 1, b"01" * 16, b"01" * 16, xref))
    return out.getvalue()


def encode_pages(pages: list[np.ndarray], fmt: str) -> bytes:
    """Bytes of a document in `fmt` (jpg, png, tif, pdf, webp, bmp); several pages only for tif and pdf."""
    images = [Image.fromarray(p) for p in pages]
    if len(images) > 1 and fmt not in ("tif", "pdf"):
        raise ValueError(f"{fmt} holds one page; got {len(images)}")
    buf = io.BytesIO()
    first, rest = images[0], images[1:]
    if fmt == "jpg":
        first.save(buf, "JPEG", quality=70)
    elif fmt == "png":
        first.convert("L").save(buf, "PNG", optimize=True)
    elif fmt == "webp":
        first.save(buf, "WEBP", quality=70)
    elif fmt == "bmp":
        first.convert("L").save(buf, "BMP")
    elif fmt == "tif":
        first.convert("L").save(buf, "TIFF", save_all=True, append_images=[r.convert("L") for r in rest],
                                compression="tiff_deflate")
    elif fmt == "pdf":     # a "scanned" PDF: JPEG page images at the render dpi
        first.save(buf, "PDF", save_all=True, append_images=rest, resolution=SAMPLE_DPI, quality=70)
    else:
        raise ValueError(f"unknown sample format {fmt!r}")
    return buf.getvalue()


def build_archive(out: str | Path, n_docs: int = 30, seed: int = 7, gt_dir: str | Path | None = None) -> dict:
    """Render the archive into `out/archive` (+ `out/manifest.json`, ground truth into `gt_dir`)."""
    from models.gtio import save_page
    from models.synth.fonts import load_fonts
    from models.synth.pages import render_page

    out = Path(out)
    shutil.rmtree(out / "archive", ignore_errors=True)
    (out / "archive").mkdir(parents=True)
    if gt_dir is not None:
        Path(gt_dir).mkdir(parents=True, exist_ok=True)
    fonts = load_fonts("eval")
    manifest = {"seed": seed, "documents": [], "broken": BROKEN}
    for i in range(n_docs):
        kind, lang, fmt, n_pages = PLAN[i % len(PLAN)]
        rng = np.random.default_rng([seed, i])
        pages = []
        for k in range(n_pages):
            img, page = render_page(rng, kind=kind, lang=lang, dpi=SAMPLE_DPI, rotate=False, degrade=True,
                                    fonts=fonts)
            pages.append(img)
            if gt_dir is not None:
                save_page(page, Path(gt_dir) / f"doc{i:03d}_{kind}_{lang}_p{k + 1}.json",
                          image_name=f"doc{i:03d}_{kind}_{lang}.{fmt}")
        name = f"doc{i:03d}_{kind}_{lang}.{fmt}"
        (out / "archive" / name).write_bytes(encode_pages(pages, fmt))
        manifest["documents"].append({"file": name, "kind": kind, "lang": lang, "pages": n_pages})
    (out / "archive" / "broken").mkdir()
    pdf = encode_pages([pages[0]], "pdf") if pages else encrypted_pdf()
    (out / "archive" / "broken" / "truncated_invoice.pdf").write_bytes(pdf[: len(pdf) // 3])
    (out / "archive" / "broken" / "empty_scan.png").write_bytes(b"")
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return manifest


def archive_size(folder: str | Path) -> int:
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "samples"))
    parser.add_argument("--docs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--gt", default=None, help="also write ground-truth JSON pages into this folder")
    args = parser.parse_args(argv)
    manifest = build_archive(args.out, args.docs, args.seed, args.gt)
    pages = sum(d["pages"] for d in manifest["documents"])
    size = archive_size(Path(args.out) / "archive")
    print(f"[samples] {len(manifest['documents'])} documents ({pages} pages) + {len(BROKEN)} broken files, "
          f"{size / 1e6:.2f} MB in {args.out}/archive")
    if size > 5_000_000:
        raise SystemExit(f"sample archive is {size / 1e6:.1f} MB; keep it under 5 MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
