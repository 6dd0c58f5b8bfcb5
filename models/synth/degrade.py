"""Photometric degradations: small composable functions `f(image, rng, ...) -> image`.

Images are uint8, grayscale (H, W) or RGB (H, W, 3), dark text on a light background. None of these
functions moves pixels geometrically (geometry lives in models.synth.warp), so ground truth is unchanged;
blur and bold print may spread ink by a pixel or two around the glyph boxes.
"""
from __future__ import annotations

import cv2
import numpy as np


def add_field(img: np.ndarray, field: np.ndarray) -> np.ndarray:
    """img + field (float (H, W), same for every channel), saturated to uint8 (OpenCV, no float copies)."""
    f = np.rint(field).astype(np.int16)
    if img.ndim == 3:
        f = cv2.merge([f] * img.shape[2])
    return cv2.add(img, f, dtype=cv2.CV_8U)


def mul_field(img: np.ndarray, field: np.ndarray) -> np.ndarray:
    """img * field (float (H, W), same for every channel), saturated to uint8."""
    f = field.astype(np.float32)
    if img.ndim == 3:
        f = cv2.merge([f] * img.shape[2])
    return cv2.multiply(img, f, dtype=cv2.CV_8U)


def _lowres_normal(rng: np.random.Generator, h: int, w: int, std: float, factor: int) -> np.ndarray:
    """Gaussian noise drawn at 1/factor resolution and upscaled (nearest) to (h, w)."""
    small = rng.standard_normal(((h + factor - 1) // factor, (w + factor - 1) // factor), dtype=np.float32) * std
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST) if factor > 1 else small


def blur(img: np.ndarray, rng: np.random.Generator, sigma: tuple[float, float] = (0.3, 1.2)) -> np.ndarray:
    """Gaussian blur (out-of-focus scan / camera)."""
    s = float(rng.uniform(*sigma))
    return cv2.GaussianBlur(img, (0, 0), s)


def motion_blur(img: np.ndarray, rng: np.random.Generator, length: tuple[int, int] = (2, 5)) -> np.ndarray:
    """Short linear motion blur in a random direction."""
    n = int(rng.integers(length[0], length[1] + 1))
    k = np.zeros((n, n), np.float32)
    if rng.random() < 0.5:
        k[n // 2, :] = 1
    else:
        k[:, n // 2] = 1
    return cv2.filter2D(img, -1, k / k.sum())


def noise(img: np.ndarray, rng: np.random.Generator, std: tuple[float, float] = (2.0, 12.0)) -> np.ndarray:
    """Additive Gaussian sensor noise (drawn at half resolution and upscaled when large, for speed)."""
    h, w = img.shape[:2]
    return add_field(img, _lowres_normal(rng, h, w, float(rng.uniform(*std)), 2 if h * w > 400_000 else 1))


def salt_pepper(img: np.ndarray, rng: np.random.Generator, amount: tuple[float, float] = (0.0005, 0.004)) -> np.ndarray:
    """Isolated black and white specks (dust, fax noise)."""
    out = img.copy()
    h, w = img.shape[:2]
    n = int(h * w * rng.uniform(*amount))
    ys, xs = rng.integers(0, h, n), rng.integers(0, w, n)
    out[ys[: n // 2], xs[: n // 2]] = 0
    out[ys[n // 2:], xs[n // 2:]] = 255
    return out


def jpeg(img: np.ndarray, rng: np.random.Generator, quality: tuple[int, int] = (25, 90)) -> np.ndarray:
    """JPEG compression artefacts."""
    q = int(rng.integers(quality[0], quality[1] + 1))
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, q])
    if not ok:
        return img
    return cv2.imdecode(buf, cv2.IMREAD_UNCHANGED).reshape(img.shape)


def low_res(img: np.ndarray, rng: np.random.Generator, factor: tuple[float, float] = (0.45, 0.8)) -> np.ndarray:
    """Downscale and upscale back (a low-resolution scan); the size is unchanged."""
    f = float(rng.uniform(*factor))
    h, w = img.shape[:2]
    small = cv2.resize(img, (max(1, int(w * f)), max(1, int(h * f))), interpolation=cv2.INTER_AREA)
    interp = cv2.INTER_LINEAR if rng.random() < 0.7 else cv2.INTER_NEAREST
    return cv2.resize(small, (w, h), interpolation=interp).reshape(img.shape)


def binarize(img: np.ndarray, rng: np.random.Generator, level: tuple[float, float] = (0.3, 0.7)) -> np.ndarray:
    """Hard black/white threshold (bitonal scanner). The threshold sits at a random `level` between the
    page's own ink and paper grays (the two means of Otsu's split), so faint or gray print thins or breaks
    up but never vanishes while its GT stays."""
    gray = img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    otsu = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)[0]
    dark, light = gray[gray <= otsu], gray[gray > otsu]
    ink = float(dark.mean()) if dark.size else 0.0
    paper_ = float(light.mean()) if light.size else 255.0
    t = ink + float(rng.uniform(*level)) * (paper_ - ink)
    return cv2.threshold(img, t, 255, cv2.THRESH_BINARY)[1]


def fax(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Fax look: gray, anisotropic low resolution (fine x, coarse y), hard threshold, specks."""
    gray = img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    h, w = gray.shape
    fy = float(rng.uniform(0.4, 0.6))
    small = cv2.resize(gray, (w, max(1, int(h * fy))), interpolation=cv2.INTER_AREA)
    gray = cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)
    gray = salt_pepper(binarize(gray, rng, (0.4, 0.6)), rng, (0.0002, 0.0015))
    return gray if img.ndim == 2 else np.repeat(gray[:, :, None], 3, axis=2)


def uneven_light(img: np.ndarray, rng: np.random.Generator, strength: tuple[float, float] = (0.1, 0.35)) -> np.ndarray:
    """Multiply by a smooth brightness gradient (lamp / camera vignetting)."""
    h, w = img.shape[:2]
    s = float(rng.uniform(*strength))
    gx, gy = rng.uniform(-1, 1, 2)
    cx, cy = rng.uniform(0, 1, 2)
    ys = np.linspace(0, 1, 32, dtype=np.float32)[:, None] - cy
    xs = np.linspace(0, 1, 32, dtype=np.float32)[None, :] - cx
    field = 1.0 - s * np.clip(0.5 + gx * xs + gy * ys + 0.6 * (xs ** 2 + ys ** 2), 0, 1)
    return mul_field(img, cv2.resize(field, (w, h), interpolation=cv2.INTER_LINEAR))


def faint(img: np.ndarray, rng: np.random.Generator, strength: tuple[float, float] = (0.3, 0.65)) -> np.ndarray:
    """Faint print: pull ink toward the paper (low contrast toner)."""
    s = float(rng.uniform(*strength))
    lut = np.clip(255 - (255 - np.arange(256, dtype=np.float32)) * (1 - s), 0, 255).astype(np.uint8)
    return cv2.LUT(img, lut)


def bold(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Heavy print: grow dark strokes by one pixel (min filter 2x2)."""
    del rng
    return cv2.erode(img, np.ones((2, 2), np.uint8))


def thin(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Light print: shrink dark strokes (max filter 2x2)."""
    del rng
    return cv2.dilate(img, np.ones((2, 2), np.uint8))


def paper(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Paper texture: low-frequency fibre noise (same on every channel; the paper tint is colorize's)."""
    h, w = img.shape[:2]
    tex = rng.standard_normal((max(2, h // 8), max(2, w // 8)), dtype=np.float32) * float(rng.uniform(2, 8))
    tex = cv2.resize(cv2.GaussianBlur(tex, (0, 0), 1.0), (w, h), interpolation=cv2.INTER_LINEAR)
    return add_field(img, tex)


def pattern(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Light background print under the text: a hatch, grid or dot screen (security paper, forms); darkens
    only where the pattern is darker than the page, so text stays on top."""
    h, w = img.shape[:2]
    layer = np.full((h, w), 255, np.uint8)
    level = int(rng.integers(195, 236))
    step = int(rng.integers(6, 24))
    kind = int(rng.integers(3))
    if kind == 0:                                     # diagonal hatch
        for k in range(-h, w, step):
            cv2.line(layer, (k, 0), (k + h, h), level, 1)
    elif kind == 1:                                   # grid
        layer[::step, :] = level
        layer[:, ::step] = level
    else:                                             # dot screen
        layer[::step, ::step] = level
        layer = cv2.erode(layer, np.ones((2, 2), np.uint8))
    if img.ndim == 3:
        layer = cv2.merge([layer] * img.shape[2])
    return cv2.min(img, layer)


def stain(img: np.ndarray, rng: np.random.Generator, n: tuple[int, int] = (1, 3)) -> np.ndarray:
    """Coffee/water stains: soft translucent blobs and rings (computed only inside each stain's box)."""
    out = img.copy()
    h, w = img.shape[:2]
    for _ in range(int(rng.integers(n[0], n[1] + 1))):
        r = int(rng.integers(max(4, min(h, w) // 20), max(5, min(h, w) // 5)))
        cx, cy = int(rng.integers(0, w)), int(rng.integers(0, h))
        x0, y0, x1, y1 = max(0, cx - 2 * r), max(0, cy - 2 * r), min(w, cx + 2 * r), min(h, cy + 2 * r)
        if x1 - x0 < 2 or y1 - y0 < 2:
            continue
        mask = np.zeros((y1 - y0, x1 - x0), np.float32)
        ring = rng.random() < 0.5
        cv2.ellipse(mask, (cx - x0, cy - y0), (r, int(r * rng.uniform(0.6, 1.0))), float(rng.uniform(0, 180)),
                    0, 360, 1.0, thickness=max(1, r // 6) if ring else -1)
        mask = cv2.GaussianBlur(mask, (0, 0), max(1.0, r / 6)) * float(rng.uniform(0.08, 0.25))
        region = out[y0:y1, x0:x1].astype(np.float32)
        color = np.array([150, 110, 60], np.float32) if img.ndim == 3 else np.float32(140)
        m = mask[:, :, None] if img.ndim == 3 else mask
        out[y0:y1, x0:x1] = np.clip(region * (1 - m) + color * m, 0, 255).astype(np.uint8)
    return out


def contrast(img: np.ndarray, rng: np.random.Generator, ink: tuple[int, int] = (0, 90),
             background: tuple[int, int] = (185, 255)) -> np.ndarray:
    """Remap black->ink level and white->background level (gray scans, dark paper)."""
    lo, hi = float(rng.uniform(*ink)), float(rng.uniform(*background))
    if hi - lo < 60:
        hi = min(255.0, lo + 60)
    lut = np.clip(lo + np.arange(256, dtype=np.float32) * (hi - lo) / 255.0, 0, 255).astype(np.uint8)
    return cv2.LUT(img, lut)


def apply_random(img: np.ndarray, rng: np.random.Generator, steps) -> np.ndarray:
    """Apply each (probability, function) of `steps` in order with its probability."""
    for p, fn in steps:
        if rng.random() < p:
            img = fn(img, rng)
    return img


# a scanner/camera chain for whole pages (after geometry); order matters: optics -> sensor -> codec
PAGE_STEPS = (
    (0.25, uneven_light), (0.35, blur), (0.1, motion_blur), (0.15, low_res), (0.35, noise),
    (0.1, salt_pepper), (0.08, binarize), (0.35, jpeg),
)
# for word crops (grayscale, small)
CROP_STEPS = (
    (0.15, bold), (0.1, thin), (0.3, blur), (0.2, low_res), (0.4, contrast), (0.35, noise), (0.1, uneven_light),
    (0.06, binarize), (0.3, jpeg),
)
