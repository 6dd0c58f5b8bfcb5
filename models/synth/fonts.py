"""Font discovery, glyph coverage and the train/eval font split.

Fonts come from Debian packages (fonts-nanum, fonts-noto-cjk, fonts-unfonts-core, fonts-baekmuk,
fonts-dejavu-core, fonts-liberation2). Coverage is read from each face's cmap with fontTools: a
character is rendered with a font only if the font maps it to a glyph, so no tofu (.notdef boxes)
reaches an image (TrueType glyphs without outline data count as missing). Noto CJK `.ttc` collections hold several faces; only the Korean ("KR") faces are
used, addressed by their collection index.

`EVAL_FONTS` names the families that are never used for training (`load_fonts("train")`); evaluation
renders use `load_fonts("eval")`.
"""
from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from fontTools.ttLib import TTFont
from PIL import ImageFont

from models.synth.charset import ALL_CHARS, DIGITS, HANGUL_KSX1001, LATIN, PUNCT

DEBIAN_FONT_DIRS: tuple[str, ...] = (
    "/usr/share/fonts/truetype/nanum",
    "/usr/share/fonts/truetype/unfonts-core",
    "/usr/share/fonts/truetype/baekmuk",
    "/usr/share/fonts/opentype/noto",
    "/usr/share/fonts/truetype/dejavu",
    "/usr/share/fonts/truetype/liberation2",
    "/usr/share/fonts/truetype/liberation",
)
# LAKEOCR_FONT_DIRS (folders joined by ":") replaces the Debian folders, e.g. on a machine without the font
# packages that was given the subset training faces of scripts/gpu/pack_fonts.py
FONT_DIRS: tuple[str, ...] = tuple(d for d in os.environ.get("LAKEOCR_FONT_DIRS", "").split(":") if d) or DEBIAN_FONT_DIRS
# decorative / symbol faces that are not document text
SKIP_STEMS: tuple[str, ...] = ("DejaVuMathTeXGyre", "hline")
# held-out families: two Korean (sans + serif) and two Latin, never rendered for training
EVAL_FONTS: tuple[str, ...] = ("NanumBarunGothic", "UnBatang", "LiberationSerif", "DejaVuSansCondensed")

_STYLE_SUFFIX = re.compile(r"(-?(Regular|Bold|Italic|Oblique|BoldItalic|BoldOblique|ExtraLight|Light))+$")


@dataclass(frozen=True)
class FontInfo:
    """One font face: file path plus face index inside a collection."""
    name: str               # unique, e.g. "NanumGothicBold", "NotoSansCJK-Regular#KR"
    family: str             # style-free family, the unit of the train/eval split
    path: str
    index: int
    chars: frozenset        # characters of ALL_CHARS this face has a glyph for
    bold: bool = False
    mono: bool = False

    def covers(self, text: str) -> bool:
        """True when every non-space character of `text` has a real glyph in this face."""
        return all(c in self.chars for c in text if not c.isspace())

    def pil(self, size: int) -> ImageFont.FreeTypeFont:
        """PIL font at a pixel size (cached); basic layout so per-character advances are exact."""
        return _pil_font(self.path, self.index, int(size))

    @property
    def korean(self) -> bool:
        return all(c in self.chars for c in HANGUL_KSX1001)


# a CJK face costs ~3 MB once it has drawn (loading one: ~1 ms); page sizes vary freely, and 4,096 cached
# faces grew a long training run with page crops to 9 GB
@functools.lru_cache(maxsize=256)
def _pil_font(path: str, index: int, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size, index=index, layout_engine=ImageFont.Layout.BASIC)


@dataclass(frozen=True)
class FontSet:
    """An immutable list of fonts with per-script views. Scripts: "hangul" (full KS X 1001 coverage),
    "latin", "digits", "other" (punctuation; every font here covers ASCII)."""
    fonts: tuple[FontInfo, ...]
    split: str = "all"
    _by_script: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self):
        if not self.fonts:
            raise ValueError("a FontSet needs at least one font (are the Debian font packages installed?)")
        self._by_script["hangul"] = tuple(f for f in self.fonts if f.korean)
        base = tuple(f for f in self.fonts if all(c in f.chars for c in LATIN + DIGITS + PUNCT))
        for s in ("latin", "digits", "other"):
            self._by_script[s] = base

    def for_script(self, script: str) -> tuple[FontInfo, ...]:
        """Fonts able to render text of a script (Korean fonts also serve Latin and digits)."""
        if script not in self._by_script:
            raise ValueError(f"unknown script {script!r}; choose from {sorted(self._by_script)}")
        return self._by_script[script]

    def for_text(self, text: str) -> tuple[FontInfo, ...]:
        """Fonts that cover every character of `text` (may be empty)."""
        return tuple(f for f in self.fonts if f.covers(text))

    def by_name(self, name: str) -> FontInfo:
        for f in self.fonts:
            if f.name == name:
                return f
        raise ValueError(f"no font named {name!r} in this set")

    @property
    def families(self) -> tuple[str, ...]:
        return tuple(sorted({f.family for f in self.fonts}))

    def __len__(self) -> int:
        return len(self.fonts)


def _family(stem: str) -> str:
    fam = _STYLE_SUFFIX.sub("", stem)
    # Nanum square / Baekmuk / Un fonts use a trailing R/B or "Bold" without a dash
    fam = re.sub(r"(Bold|Light)$", "", fam)
    if fam.startswith("NanumSquare"):
        fam = re.sub(r"[RB]$", "", fam)
    return fam or stem


def _faces(path: Path) -> list[tuple[int, str]]:
    """(index, suffix) of the faces to use in a font file: every face of a .ttf, Korean faces of a .ttc."""
    if path.suffix.lower() != ".ttc":
        return [(0, "")]
    faces = []
    for i in range(32):
        try:
            fam, _style = ImageFont.truetype(str(path), 12, index=i).getname()
        except OSError:
            break
        if fam and fam.endswith(" KR"):
            faces.append((i, "#Mono-KR" if "Mono" in fam else "#KR"))
    return faces


def _coverage(path: str, index: int) -> frozenset:
    tt = TTFont(path, fontNumber=index, lazy=True) if path.lower().endswith(".ttc") else TTFont(path, lazy=True)
    try:
        cmap = tt.getBestCmap() or {}
        chars = [c for c in ALL_CHARS if ord(c) in cmap]
        if "loca" in tt:        # TrueType outlines: a mapped glyph with no outline data is no glyph either
            loca = tt["loca"]
            empty = {i for i in range(len(loca) - 1) if loca[i] == loca[i + 1]}
            chars = [c for c in chars if c.isspace() or tt.getGlyphID(cmap[ord(c)]) not in empty]
    finally:
        tt.close()
    return frozenset(chars)


def discover_fonts(dirs: tuple[str, ...] = FONT_DIRS) -> tuple[FontInfo, ...]:
    """All usable faces under `dirs`, sorted by name (deterministic)."""
    infos = []
    for d in dirs:
        for path in sorted(Path(d).glob("*.tt[fc]")) + sorted(Path(d).glob("*.otf")):
            if path.stem in SKIP_STEMS:
                continue
            for index, suffix in _faces(path):
                chars = _coverage(str(path), index)
                if not all(c in chars for c in LATIN + DIGITS):
                    continue
                stem = path.stem
                family = _family(stem.replace("CJK", "CJK" + suffix.replace("#", "-")))
                infos.append(FontInfo(name=stem + suffix, family=family, path=str(path), index=index,
                                      chars=chars, bold="Bold" in stem or stem.endswith(("B", "Bold")),
                                      mono="Mono" in stem or "Coding" in stem or "Mono" in suffix))
    return tuple(sorted(infos, key=lambda f: f.name))


@functools.lru_cache(maxsize=4)
def load_fonts(split: str = "train") -> FontSet:
    """Fonts of a split: "train" (all but EVAL_FONTS families), "eval" (only those), "all". Cached."""
    if split not in ("train", "eval", "all"):
        raise ValueError(f"split is 'train', 'eval' or 'all', got {split!r}")
    fonts = _all_fonts()
    if split == "train":
        fonts = tuple(f for f in fonts if f.family not in EVAL_FONTS)
    elif split == "eval":
        fonts = tuple(f for f in fonts if f.family in EVAL_FONTS)
    return FontSet(fonts=fonts, split=split)


@functools.lru_cache(maxsize=1)
def _all_fonts() -> tuple[FontInfo, ...]:
    return discover_fonts()
