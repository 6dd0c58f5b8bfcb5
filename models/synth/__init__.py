"""The synthetic document engine: fonts, word/line crops, full pages with exact GT, template instances.

    from models.synth import load_fonts, render_word_crop, render_page
    crop = render_word_crop(np.random.default_rng(0), script="hangul")
    image, page = render_page(np.random.default_rng(0), kind="receipt", lang="mixed")
"""
from models.synth.charset import HANGUL_KSX1001, script_of
from models.synth.crops import WordCrop, render_text_line_crop, render_word_crop
from models.synth.fonts import EVAL_FONTS, FontInfo, FontSet, load_fonts
from models.synth.pages import PAGE_KINDS, render_page

__all__ = ["HANGUL_KSX1001", "script_of", "WordCrop", "render_word_crop", "render_text_line_crop", "EVAL_FONTS",
           "FontInfo", "FontSet", "load_fonts", "PAGE_KINDS", "render_page"]
