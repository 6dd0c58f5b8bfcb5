"""Document bytes -> page images (RGB uint8, H x W x 3), with limits, and one exception type for bad input.

Formats are recognised by their magic bytes, not by the file name: PNG, JPEG, TIFF (every frame is a
page), BMP, WebP (PIL) and PDF (pypdfium2, each page rendered at `pdf_dpi`). Sizes are checked from the
header before any pixel is decoded, so a giant image costs nothing. Every failure raises `DecodeError`
with a short `error_class` (the `errors` table's column) and a message a person can act on.
"""
from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageSequence, UnidentifiedImageError


@dataclass(frozen=True)
class DecodeLimits:
    max_bytes: int = 100 * 1024 * 1024       # larger files are refused unread
    max_pixels: int = 40_000_000             # per page (an A4 page at 600 dpi is ~35 Mpx)
    max_pages: int = 200                     # per document
    pdf_dpi: float = 150.0                   # PDF render resolution

    def __post_init__(self) -> None:
        if min(self.max_bytes, self.max_pixels, self.max_pages) <= 0 or self.pdf_dpi <= 0:
            raise ValueError(f"decode limits must be positive, got {self}")


class DecodeError(ValueError):
    """A document that cannot become pages. `error_class` is one of ERROR_CLASSES."""

    def __init__(self, error_class: str, message: str):
        super().__init__(message)
        self.error_class = error_class


ERROR_CLASSES = ("EmptyFile", "FileTooLarge", "UnsupportedFormat", "CorruptImage", "ImageTooLarge",
                 "TooManyPages", "CorruptPdf", "EncryptedPdf")

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "png"), (b"\xff\xd8\xff", "jpeg"), (b"II*\x00", "tiff"), (b"MM\x00*", "tiff"),
    (b"BM", "bmp"), (b"%PDF-", "pdf"),
)


def sniff_format(data: bytes) -> str | None:
    """'png' | 'jpeg' | 'tiff' | 'bmp' | 'webp' | 'pdf' from the first bytes, else None."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    head = data[:1024].lstrip()       # some PDF writers put whitespace before %PDF
    for magic, fmt in _MAGIC:
        if data.startswith(magic) or (fmt == "pdf" and head.startswith(magic)):
            return fmt
    return None


def decode_document(data: bytes, limits: DecodeLimits = DecodeLimits()) -> list[np.ndarray]:
    """All pages of one document as RGB uint8 arrays; raises DecodeError on bad input."""
    if len(data) == 0:
        raise DecodeError("EmptyFile", "the file is empty (0 bytes)")
    if len(data) > limits.max_bytes:
        raise DecodeError("FileTooLarge", f"{len(data)} bytes exceeds the limit of {limits.max_bytes}")
    fmt = sniff_format(data)
    if fmt is None:
        raise DecodeError("UnsupportedFormat",
                          f"not PNG/JPEG/TIFF/BMP/WebP/PDF (first bytes {data[:8]!r})")
    return decode_pdf(data, limits) if fmt == "pdf" else decode_image(data, limits)


def _check_pixels(width: float, height: float, page: int, limits: DecodeLimits) -> None:
    if width * height > limits.max_pixels:
        raise DecodeError("ImageTooLarge", f"page {page} is {int(width)}x{int(height)} = "
                          f"{int(width * height):,} pixels, over the limit of {limits.max_pixels:,}")


def _check_pages(n: int, limits: DecodeLimits) -> None:
    if n > limits.max_pages:
        raise DecodeError("TooManyPages", f"{n} pages exceeds the limit of {limits.max_pages}")


def decode_image(data: bytes, limits: DecodeLimits = DecodeLimits()) -> list[np.ndarray]:
    """PIL formats; every frame of a multi-page TIFF is a page."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            n = getattr(image, "n_frames", 1)
            _check_pages(n, limits)
            pages = []
            for i, frame in enumerate(ImageSequence.Iterator(image), start=1):
                _check_pixels(*frame.size, page=i, limits=limits)
                pages.append(np.asarray(frame.convert("RGB"), dtype=np.uint8).copy())
            return pages
    except DecodeError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise DecodeError("CorruptImage", f"cannot decode image: {type(exc).__name__}: {exc}") from exc


def decode_pdf(data: bytes, limits: DecodeLimits = DecodeLimits()) -> list[np.ndarray]:
    """Render each PDF page with pypdfium2 at `limits.pdf_dpi`."""
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        msg = str(exc)
        if "password" in msg.lower():
            raise DecodeError("EncryptedPdf", "the PDF is encrypted (password required)") from exc
        raise DecodeError("CorruptPdf", f"cannot open PDF: {msg}") from exc
    try:
        n = len(pdf)
        if n == 0:
            raise DecodeError("CorruptPdf", "the PDF has no pages (truncated or damaged)")
        _check_pages(n, limits)
        scale = limits.pdf_dpi / 72.0
        pages = []
        for i in range(n):
            page = pdf[i]
            w, h = page.get_size()
            _check_pixels(w * scale, h * scale, page=i + 1, limits=limits)
            pages.append(np.asarray(page.render(scale=scale).to_pil().convert("RGB"), dtype=np.uint8).copy())
            page.close()
        return pages
    except pdfium.PdfiumError as exc:
        raise DecodeError("CorruptPdf", f"cannot render PDF: {exc}") from exc
    finally:
        pdf.close()
