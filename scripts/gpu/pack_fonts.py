"""Pack the training fonts, subset to our character set, into one folder that fits a device `carry`.

The Debian font packages are ~190 MB (Noto CJK collections hold every CJK ideograph); a machine without
them (the lent GPU machine) only needs the *training* faces (`load_fonts("train")`), and of those only the
characters the synthetic engine draws (models.synth.charset.ALL_CHARS). Each face is written as its own
file named after `FontInfo.name` (collection faces get their own file), so `LAKEOCR_FONT_DIRS=DIR` there
finds the same faces:

    .venv/bin/python scripts/gpu/pack_fonts.py device/fonts      # ~25 MB, a few minutes
"""
from __future__ import annotations

import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont

from models.synth.charset import ALL_CHARS
from models.synth.fonts import load_fonts


def pack(out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    unicodes = sorted({ord(c) for c in ALL_CHARS} | {0x20})
    for f in load_fonts("train").fonts:
        suffix = ".otf" if "CFF " in TTFont(f.path, fontNumber=f.index, lazy=True) else ".ttf"
        target = out_dir / (f.name.replace("#", "-") + suffix)
        if target.exists():
            continue
        font = TTFont(f.path, fontNumber=f.index)
        opts = subset.Options()
        opts.name_IDs, opts.name_languages, opts.notdef_outline = ["*"], ["*"], True
        opts.layout_features = ["*"]
        sub = subset.Subsetter(opts)
        sub.populate(unicodes=unicodes)
        sub.subset(font)
        font.save(str(target))
        print(f"{target.name}: {target.stat().st_size / 1e6:.2f} MB", flush=True)


if __name__ == "__main__":
    pack(Path(sys.argv[1] if len(sys.argv) > 1 else "device/fonts"))
