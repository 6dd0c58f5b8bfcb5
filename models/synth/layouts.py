"""Document layouts: one small function per document kind, drawing on a `Doc` in reading order.

A `Doc` bundles the page canvas, the seeded content source, the page's fonts and language, and unit
conversions (mm and points -> pixels at the page's dpi). Layout helpers (`kv`, `table`, `checkbox`,
`paragraph`) keep every kind short; each text line drawn is one `Line`, each helper call one `Block`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.synth.content import Content, EntityText
from models.synth.fonts import FontInfo, FontSet
from models.synth.render import PageCanvas, Span, Style

# label key -> (Korean, English)
LABELS: dict[str, tuple[str, str]] = {
    "name": ("성명", "Name"), "company": ("상호", "Company"), "ceo": ("대표자", "Representative"),
    "address": ("주소", "Address"), "phone": ("전화번호", "Phone"), "email": ("이메일", "E-mail"),
    "date": ("일자", "Date"), "time": ("시간", "Time"), "brn": ("사업자등록번호", "Business Reg. No."),
    "rrn": ("주민등록번호", "Resident Reg. No."), "card": ("카드번호", "Card No."), "account": ("계좌번호", "Account No."),
    "bank": ("은행", "Bank"), "total": ("합계", "Total"), "subtotal": ("공급가액", "Subtotal"), "tax": ("부가세", "VAT"),
    "item": ("품목", "Item"), "qty": ("수량", "Qty"), "price": ("단가", "Unit Price"), "amount": ("금액", "Amount"),
    "spec": ("규격", "Spec"), "note": ("비고", "Remarks"), "url": ("홈페이지", "Website"), "approval": ("승인번호", "Approval No."),
    "issued": ("발급일", "Issued"), "period": ("조회기간", "Period"), "balance": ("잔액", "Balance"),
    "deposit": ("입금", "Deposit"), "withdrawal": ("출금", "Withdrawal"), "desc": ("적요", "Description"),
    "holder": ("예금주", "Account Holder"), "dept": ("부서", "Department"), "position": ("직위", "Position"),
    "birth": ("생년월일", "Date of Birth"), "signature": ("서명", "Signature"), "supplier": ("공급자", "Supplier"),
    "buyer": ("공급받는자", "Buyer"), "fax": ("팩스", "Fax"), "cashier": ("담당", "Cashier"), "no": ("번호", "No."),
    "paid": ("받은금액", "Paid"), "change": ("거스름돈", "Change"), "due": ("납부기한", "Due Date"),
    "agree": ("동의함", "I agree"), "disagree": ("동의하지 않음", "I do not agree"),
}


@dataclass(frozen=True)
class PageSize:
    width_mm: float
    height_mm: float


A4 = PageSize(210, 297)
LETTER = PageSize(215.9, 279.4)
CARD = PageSize(85.6, 53.98)


class Doc:
    """Everything a layout function draws with. `lang` is "ko", "en" or "mixed"."""

    def __init__(self, rng: np.random.Generator, fonts: FontSet, lang: str, dpi: int, size: PageSize):
        if lang not in ("ko", "en", "mixed"):
            raise ValueError(f"lang is 'ko', 'en' or 'mixed', got {lang!r}")
        self.rng, self.fonts, self.lang, self.dpi = rng, fonts, lang, int(dpi)
        self.content = Content(rng)
        self.canvas = PageCanvas(self.px(size.width_mm), self.px(size.height_mm))
        self.canvas.fallback = fonts
        pool = fonts.for_script("hangul" if lang in ("ko", "mixed") else "latin")
        if not pool:
            raise ValueError(f"no font in the set can render lang={lang!r}")
        regular = [f for f in pool if not f.bold] or list(pool)
        self.body = regular[int(rng.integers(len(regular)))]
        self.bold = self._bold_of(self.body, pool)
        self.head = self._bold_of(regular[int(rng.integers(len(regular)))], pool)
        mono = [f for f in pool if f.mono and not f.bold]
        self.mono = mono[int(rng.integers(len(mono)))] if mono else self.body
        self.ink = int(rng.integers(0, 50))

    @staticmethod
    def _bold_of(font: FontInfo, pool) -> FontInfo:
        same = [f for f in pool if f.family == font.family and f.bold and f.mono == font.mono]
        return same[0] if same else font

    # --- units and styles ------------------------------------------------------------------------------
    def px(self, mm: float) -> int:
        return int(round(mm / 25.4 * self.dpi))

    def pt(self, points: float) -> int:
        return max(6, int(round(points * self.dpi / 72)))

    def style(self, points: float, *, bold: bool = False, mono: bool = False, head: bool = False) -> Style:
        font = self.head if head else (self.mono if mono else (self.bold if bold else self.body))
        return Style(font, self.pt(points), self.ink)

    # --- language -------------------------------------------------------------------------------------
    def label(self, key: str) -> str:
        ko, en = LABELS[key]
        if self.lang == "ko":
            return ko
        if self.lang == "en":
            return en
        r = self.rng.random()
        return ko if r < 0.5 else (en if r < 0.8 else f"{ko}({en})")

    def vlang(self) -> str:
        """Language of one value: the page's, or a coin flip (biased to Korean) on mixed pages."""
        if self.lang != "mixed":
            return self.lang
        return "ko" if self.rng.random() < 0.65 else "en"

    def entity(self, label: str) -> EntityText:
        return self.content.entity(label, self.vlang())

    def title(self, ko: str, en: str) -> str:
        if self.lang == "ko":
            return ko
        if self.lang == "en":
            return en
        return ko if self.rng.random() < 0.6 else en

    def chance(self, p: float) -> bool:
        return bool(self.rng.random() < p)

    def uniform(self, a: float, b: float) -> float:
        return float(self.rng.uniform(a, b))


# --- helpers -----------------------------------------------------------------------------------------
def fit(doc: Doc, item, style: Style, width: float):
    """Shorten a cell's text (drop trailing words, then characters) until it fits `width` pixels; an entity
    that must be shortened loses its label."""
    span = Span.of(item)
    text = span.text
    if doc.canvas.measure(text, style) <= width:
        return span
    words = text.split()
    while len(words) > 1 and doc.canvas.measure(" ".join(words), style) > width:
        words.pop()
    text = " ".join(words)
    while len(text) > 1 and doc.canvas.measure(text, style) > width:
        text = text[:-1]
    return Span(text, role=span.role)


def kv(doc: Doc, x: float, y: float, key: str, value, kstyle: Style, vstyle: Style, *,
       value_x: float | None = None, sep: str = ":", max_w: float | None = None) -> float:
    """Draw `key<sep> value` as one block and link key -> value; `value_x` puts the value in its own line at
    that x (a value column). Returns the y below the pair."""
    c = doc.canvas
    key_span = Span(key + sep, role="question")
    val = Span.of(value)
    val = Span(val.text, entity=val.entity, role="answer")
    with c.block("kv"):
        if value_x is None:
            if max_w is not None:
                room = max_w - c.measure(key_span.text + " ", kstyle)
                val = fit(doc, val, vstyle, room) if c.measure(val.text, vstyle) > room else val
                val = Span(val.text, entity=val.entity, role="answer")
            if kstyle == vstyle:
                ln = c.text(x, y, [key_span, val], kstyle)
                c.link(ln.span_words[0], ln.span_words[1])
                return ln.box[3]
            k = c.text(x, y, key_span, kstyle)
            vx = k.box[2] + c.measure(" ", kstyle) + 1
            v = c.text(vx, y + kstyle.ascent - vstyle.ascent, val, vstyle)
        else:
            k = c.text(x, y, key_span, kstyle)
            if max_w is not None and c.measure(val.text, vstyle) > max_w - (value_x - x):
                val = fit(doc, val, vstyle, max_w - (value_x - x))
                val = Span(val.text, entity=val.entity, role="answer")
            v = c.text(max(value_x, k.box[2] + 4), y + kstyle.ascent - vstyle.ascent, val, vstyle)
        c.link(k.word_ids, v.word_ids)
    return max(k.box[3], v.box[3])


def table(doc: Doc, x: float, y: float, widths, header, rows, style: Style, hstyle: Style, *,
          aligns=None, grid: bool = True, row_pad: float = 0.55, shade: bool = False) -> float:
    """A table: one Line per non-empty cell, row-major reading order, one Block of kind "table".
    Returns the y below the table."""
    c = doc.canvas
    aligns = aligns or ["left"] * len(widths)
    xs = np.concatenate([[x], x + np.cumsum(widths)])
    pad = max(2, int(style.size * 0.3))
    y0 = y
    ys = [y]
    with c.block("table"):
        for r, cells in enumerate([header] + list(rows)):
            st = hstyle if r == 0 else style
            rh = st.line_height * (1 + row_pad)
            if r == 0 and shade:
                c.rect(xs[0], y, xs[-1], y + rh, ink=255, fill=int(doc.uniform(215, 240)))
            for j, cell in enumerate(cells):
                if cell is None or not Span.of(cell).text.strip():
                    continue
                span = fit(doc, cell, st, widths[j] - 2 * pad)
                if r == 0:
                    span = Span(span.text, role="header")
                ty = y + (rh - st.line_height) / 2
                al = "center" if r == 0 else aligns[j]
                tx = {"left": xs[j] + pad, "right": xs[j + 1] - pad, "center": (xs[j] + xs[j + 1]) / 2}[al]
                c.text(tx, ty, span, st, align=al)
            y += rh
            ys.append(y)
    if grid:
        lw = max(1, doc.dpi // 150)
        for yy in ys:
            c.rule(xs[0], yy, xs[-1], yy, width=lw)
        for xx in xs:
            c.rule(xx, y0, xx, y, width=lw)
    else:
        c.rule(xs[0], ys[1], xs[-1], ys[1], width=max(1, doc.dpi // 150))
    return y


def checkbox(doc: Doc, x: float, y: float, label: str, checked: bool, style: Style) -> float:
    """A drawn check box followed by its label; returns the x after the label."""
    c = doc.canvas
    s = int(style.ascent * 0.8)
    top = y + style.ascent - s
    c.rect(x, top, x + s, top + s, width=max(1, s // 10))
    if checked:
        c.rule(x + s * 0.15, top + s * 0.5, x + s * 0.45, top + s * 0.85, width=max(2, s // 6))
        c.rule(x + s * 0.45, top + s * 0.85, x + s * 0.9, top + s * 0.1, width=max(2, s // 6))
    ln = c.text(x + s * 1.5, y, label, style)
    return ln.box[2]


def paragraph(doc: Doc, x: float, y: float, width: float, text: str, style: Style, *, max_y=None,
              justify: bool = False) -> float:
    with doc.canvas.block("text"):
        return doc.canvas.paragraph(x, y, width, text, style, max_y=max_y, justify=justify)


def items(doc: Doc, n: int) -> list[tuple[str, int, int]]:
    """(item name, quantity, unit price) rows; prices in won for Korean values, cents for English."""
    out = []
    for _ in range(n):
        lang = doc.vlang()
        if lang == "ko":
            name = doc.content.choice(("", "(특)", "신선 ", "국산 ")) + doc.content.ko_word()
            if doc.chance(0.4):
                name += " " + doc.content.ko_word()
            price = int(doc.rng.integers(1, 300)) * 100
        else:
            name = " ".join(doc.content.en_word() for _ in range(int(doc.rng.integers(1, 3)))).title()
            price = int(doc.rng.integers(100, 20000))
        out.append((name, int(doc.rng.integers(1, 10)), price))
    return out


def money_text(doc: Doc, amount: int, lang: str | None = None) -> EntityText:
    lang = lang or ("ko" if doc.lang != "en" else "en")
    if lang == "ko":
        return EntityText(f"{amount:,}", "MONEY", str(amount))
    return EntityText(f"{amount / 100:,.2f}", "MONEY", f"{amount / 100:.2f}")
