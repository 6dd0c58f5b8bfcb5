"""The document kinds: form, receipt, invoice (incl. Korean 거래명세서), statement, letter, card.

Each `layout_<kind>(doc)` draws one page in reading order on `doc.canvas` and returns the content height
in pixels (the page is cropped to it for kinds with a variable length, i.e. receipts).
"""
from __future__ import annotations

from models.synth.layouts import (A4, CARD, LETTER, Doc, PageSize, checkbox, fit, items, kv, money_text,
                                  paragraph, table)
from models.synth.render import Span


def _margins(doc: Doc, lo: float = 12, hi: float = 28) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) in pixels."""
    c = doc.canvas
    l, t = doc.px(doc.uniform(lo, hi)), doc.px(doc.uniform(lo, hi))
    r, b = c.width - doc.px(doc.uniform(lo, hi)), c.height - doc.px(doc.uniform(lo, hi))
    return l, t, r, b


def _header(doc: Doc, ko: str, en: str, l: int, r: int, y: float, points: float = 20) -> float:
    st = doc.style(doc.uniform(points * 0.8, points * 1.2), head=True)
    c = doc.canvas
    with c.block("header"):
        align = "center" if doc.chance(0.7) else "left"
        x = (l + r) / 2 if align == "center" else l
        ln = c.text(x, y, Span(doc.title(ko, en), role="header"), st, align=align)
    if doc.chance(0.5):
        c.rule(l, ln.box[3] + 4, r, ln.box[3] + 4, width=max(1, doc.dpi // 100))
    return ln.box[3] + doc.px(doc.uniform(4, 10))


# --- form ----------------------------------------------------------------------------------------------
FORM_FIELDS = ("name", "birth", "phone", "email", "address", "company", "dept", "position", "date", "account",
               "bank", "rrn", "url")
FIELD_ENTITY = {"name": "PERSON", "birth": "DATE", "phone": "PHONE", "email": "EMAIL", "address": "ADDRESS",
                "company": "ORG", "date": "DATE", "account": "ACCOUNT", "rrn": "RRN", "url": "URL",
                "brn": "BRN", "card": "CARD", "time": "TIME", "ceo": "PERSON", "fax": "PHONE", "holder": "PERSON"}


def field_value(doc: Doc, key: str):
    ent = FIELD_ENTITY.get(key)
    if ent:
        return doc.entity(ent)
    if key == "bank":
        return doc.title(doc.content.choice(("국민은행", "신한은행", "우리은행", "하나은행", "농협은행", "기업은행")),
                         doc.content.choice(("Chase", "Bank of America", "Citibank", "Wells Fargo")))
    if key == "dept":
        return doc.title(doc.content.choice(("총무팀", "인사팀", "영업부", "재무팀", "개발팀")), doc.content.en.job()[:24])
    if key == "position":
        return doc.title(doc.content.choice(("사원", "대리", "과장", "차장", "부장", "팀장")),
                         doc.content.choice(("Manager", "Clerk", "Director", "Engineer")))
    return doc.content.word(doc.vlang())


def _kv_grid(doc: Doc, keys, l: float, r: float, y: float, body, kst) -> float:
    """Label/value pairs in one or two columns, optionally in ruled cells; returns the y below."""
    c = doc.canvas
    two_col = doc.chance(0.5)
    col_w = (r - l) / (2 if two_col else 1)
    boxed = doc.chance(0.5)
    row_h = body.line_height * doc.uniform(1.6, 2.2)
    value_dx = max(c.measure(doc.label(k) + ":", kst) for k in keys[:3]) + doc.px(6)
    for i, k in enumerate(keys):
        col = i % 2 if two_col else 0
        x = l + col * col_w
        if boxed:
            c.rect(x, y, x + col_w, y + row_h, width=max(1, doc.dpi // 150))
        ty = y + (row_h - body.line_height) / 2
        kv(doc, x + doc.px(2), ty, doc.label(k), field_value(doc, k), kst, body,
           value_x=x + value_dx if doc.chance(0.6) else None, sep=":" if not boxed else "",
           max_w=col_w - doc.px(4))
        if not two_col or col == 1 or i == len(keys) - 1:
            y += row_h
    return y


def layout_form(doc: Doc) -> int:
    c = doc.canvas
    l, t, r, b = _margins(doc)
    y = _header(doc, doc.content.choice(("신청서", "등록 신청서", "변경 신청서", "개인정보 수집 동의서", "지원서")),
                doc.content.choice(("Application Form", "Registration Form", "Request Form", "Enrollment Form")),
                l, r, t)
    body_pt = doc.uniform(9, 12)
    body, kst = doc.style(body_pt), doc.style(body_pt, bold=doc.chance(0.5))
    if doc.chance(0.6):
        y = paragraph(doc, l, y, r - l, doc.content.sentence(doc.lang, 10, 25), body) + body.size * 0.5
    sections = 1 if doc.chance(0.5) else 2
    for n in range(sections):
        if sections > 1:
            with c.block("header"):
                ln = c.text(l, y, Span(doc.title(f"{n + 1}. " + doc.content.choice(("신청인 정보", "신청 내용", "기본 정보",
                                                                                    "연락처", "계좌 정보")),
                                                 f"{'AB'[n]}. " + doc.content.choice(("Applicant", "Contact Details",
                                                                                     "Request", "Payment"))),
                                       role="header"), kst)
            y = ln.box[3] + body.size * 0.6
        keys = list(doc.rng.permutation(FORM_FIELDS))[: int(doc.rng.integers(4, 10))]
        y = _kv_grid(doc, keys, l, r, y, body, kst) + body.size
    # check boxes
    with c.block("list"):
        x = l
        for key in ("agree", "disagree"):
            x = checkbox(doc, x, y, doc.label(key), doc.chance(0.5), body) + doc.px(8)
    y += body.line_height * 2
    # a small table
    if doc.chance(0.7) and y < b - body.line_height * 8:
        cols = ["no", "item", "qty", "amount", "note"]
        widths = [0.08, 0.4, 0.12, 0.2, 0.2]
        rows = []
        for n, (name, q, p) in enumerate(items(doc, int(doc.rng.integers(2, 6))), 1):
            rows.append([str(n), name, str(q), money_text(doc, q * p), ""])
        y = table(doc, l, y, [w * (r - l) for w in widths], [doc.label(k) for k in cols], rows, body,
                  doc.style(body_pt, bold=True), aligns=["center", "left", "right", "right", "left"],
                  shade=doc.chance(0.5))
        y += body.size
    # notes: a list of remarks filling part of the remaining space
    if doc.chance(0.7) and y < b - body.line_height * 8:
        with c.block("list"):
            c.text(l, y, Span(doc.title("※ 유의사항", "Notes"), role="header"), kst)
        y += body.line_height * 1.4
        for _ in range(int(doc.rng.integers(2, 7))):
            if y > b - body.line_height * 7:
                break
            bullet = doc.content.choice(("※", "-", "·", "*", "1.", "2.", "3.", "○"))
            y = paragraph(doc, l, y, r - l, f"{bullet} {doc.content.sentence(doc.lang, 6, 20)}", body,
                          max_y=b - body.line_height * 5) + body.size * 0.3
        y += body.size
    # footer: date and signature
    if y < b - body.line_height * 4:
        y = max(y, b - body.line_height * 4)
        kv(doc, l, y, doc.label("date"), doc.entity("DATE"), body, body)
        kv(doc, (l + r) / 2, y, doc.label("signature"), doc.entity("PERSON"), body, body)
        c.text(r, y, "(인)" if doc.lang != "en" else "(sign)", body, align="right")
    return c.height


# --- receipt -------------------------------------------------------------------------------------------
def receipt_size(rng) -> PageSize:
    return PageSize(float(rng.choice([58.0, 72.0, 80.0])), 400.0)


def layout_receipt(doc: Doc) -> int:
    c = doc.canvas
    mono = doc.chance(0.6)
    pts = doc.uniform(7.5, 9.5)
    st = doc.style(pts, mono=mono)
    bst = doc.style(pts, mono=mono, bold=True)
    l, r = doc.px(doc.uniform(2, 5)), c.width - doc.px(doc.uniform(2, 5))
    y = doc.px(doc.uniform(4, 10))
    step = st.line_height * doc.uniform(1.15, 1.4)
    org = doc.entity("ORG")
    with c.block("header"):
        c.text((l + r) / 2, y, org, doc.style(pts * 1.4, bold=True), align="center")
    y += st.line_height * 2
    for key in ("brn", "ceo", "address", "phone"):
        val = doc.entity(FIELD_ENTITY[key]) if key != "ceo" else doc.entity("PERSON")
        y = kv(doc, l, y, doc.label(key), val, st, st, max_w=r - l) + step - st.line_height
    date, time = doc.entity("DATE"), doc.entity("TIME")
    with c.block("kv"):
        ln = c.text(l, y, [date, time], st)
    y += step

    def sep(y):
        if doc.chance(0.5):
            c.rule(l, y + st.line_height / 2, r, y + st.line_height / 2)
        else:
            ch = doc.content.choice(("-", "=", "*"))
            n = max(3, int((r - l) / max(1.0, c.measure(ch, st))) - 1)
            with c.block("text"):
                c.text(l, y, ch * n, st)
        return y + step
    y = sep(y)
    cols = [doc.label(k) for k in ("item", "qty", "amount")]
    with c.block("table"):
        c.text(l, y, Span(cols[0], role="header"), bst)
        c.text(l + (r - l) * 0.62, y, Span(cols[1], role="header"), bst, align="right")
        c.text(r, y, Span(cols[2], role="header"), bst, align="right")
        y += step
        total = 0
        for name, q, p in items(doc, int(doc.rng.integers(2, 12))):
            total += q * p
            name_w = (r - l) * 0.5
            c.text(l, y, fit(doc, name, st, name_w), st)
            c.text(l + (r - l) * 0.62, y, str(q), st, align="right")
            c.text(r, y, money_text(doc, q * p), st, align="right")
            y += step
    y = sep(y)
    tax = total // 11
    for key, amount, style in (("subtotal", total - tax, st), ("tax", tax, st), ("total", total, bst)):
        with c.block("kv"):
            k = c.text(l, y, Span(doc.label(key), role="question"), style)
            v = c.text(r, y, Span(money_text(doc, amount).text, entity=money_text(doc, amount), role="answer"),
                       style, align="right")
            c.link(k.word_ids, v.word_ids)
        y += step
    y = sep(y)
    if doc.chance(0.7):
        y = kv(doc, l, y, doc.label("card"), doc.entity("CARD"), st, st, max_w=r - l) + step - st.line_height
        y = kv(doc, l, y, doc.label("approval"), doc.content.digits(8), st, st, max_w=r - l) + step - st.line_height
    else:
        y = kv(doc, l, y, doc.label("paid"), money_text(doc, total + 1000 * int(doc.rng.integers(0, 5))), st, st)
        y += step - st.line_height
    with c.block("text"):
        c.text((l + r) / 2, y + step * 0.5, doc.title("감사합니다", "Thank you!"), st, align="center")
    y += step * 2
    return int(y + doc.px(doc.uniform(3, 12)))


# --- invoice / 거래명세서 ----------------------------------------------------------------------------------
def layout_invoice(doc: Doc) -> int:
    c = doc.canvas
    l, t, r, b = _margins(doc)
    korean = doc.lang == "ko" or (doc.lang == "mixed" and doc.chance(0.6))
    y = _header(doc, doc.content.choice(("거래명세서", "세금계산서", "청구서", "견적서")) if korean else "INVOICE",
                "INVOICE", l, r, t, points=22)
    pts = doc.uniform(8.5, 11)
    st, bst = doc.style(pts), doc.style(pts, bold=True)
    y = kv(doc, l, y, doc.label("no"), f"{doc.content.digits(4)}-{doc.content.digits(5)}", st, st)
    y = kv(doc, r - (r - l) * 0.35, y - st.line_height, doc.label("date"), doc.entity("DATE"), st, st) + st.size
    # supplier / buyer boxes side by side
    half = (r - l) / 2
    y_top = y
    for side, who in enumerate(("supplier", "buyer")):
        x = l + side * half
        yy = y_top
        with c.block("header"):
            c.text(x + doc.px(2), yy, Span(doc.label(who), role="header"), bst)
        yy += st.line_height * 1.5
        for key in ("brn", "company", "ceo", "address", "phone"):
            yy = kv(doc, x + doc.px(2), yy, doc.label(key), field_value(doc, key) if key != "brn" else doc.entity("BRN"),
                    st, st, max_w=half - doc.px(6)) + st.line_height * 0.4
        c.rect(x, y_top - 3, x + half - doc.px(2), yy + 2)
        y = max(y, yy)
    y += st.size
    cols = ["no", "item", "spec", "qty", "price", "amount", "tax"] if korean else ["no", "item", "qty", "price", "amount"]
    widths = [0.06, 0.3, 0.12, 0.08, 0.14, 0.16, 0.14] if korean else [0.07, 0.43, 0.1, 0.18, 0.22]
    rows, total, taxes = [], 0, 0
    for n, (name, q, p) in enumerate(items(doc, int(doc.rng.integers(3, 14))), 1):
        amt = q * p
        total += amt
        row = [str(n), name]
        if korean:
            row.append(doc.content.choice(("EA", "BOX", "kg", "SET", "개", "")))
        row += [str(q), money_text(doc, p), money_text(doc, amt)]
        if korean:
            row.append(money_text(doc, amt // 10))
            taxes += amt // 10
        rows.append(row)
    aligns = ["center", "left"] + (["center"] if korean else []) + ["right"] * (4 if korean else 3)
    y = table(doc, l, y, [w * (r - l) for w in widths], [doc.label(k) for k in cols], rows, st, bst,
              aligns=aligns, shade=doc.chance(0.6)) + st.size
    for key, amount in (("subtotal", total), ("tax", taxes if korean else total // 10),
                        ("total", total + (taxes if korean else total // 10))):
        y = kv(doc, l + (r - l) * 0.55, y, doc.label(key), money_text(doc, amount), bst if key == "total" else st,
               st, value_x=l + (r - l) * 0.78) + st.line_height * 0.4
    if y < b - st.line_height * 5:
        y += st.size
        kv(doc, l, y, doc.label("account"), doc.entity("ACCOUNT"), st, st)
        y += st.line_height * 1.4
        kv(doc, l, y, doc.label("holder"), doc.entity("PERSON"), st, st)
    return c.height


# --- bank statement ------------------------------------------------------------------------------------
def layout_statement(doc: Doc) -> int:
    c = doc.canvas
    l, t, r, b = _margins(doc)
    bank = field_value(doc, "bank")
    y = _header(doc, f"{bank} 거래내역서" if isinstance(bank, str) else "거래내역서", f"{bank} Account Statement",
                l, r, t)
    pts = doc.uniform(8, 10.5)
    st, bst = doc.style(pts), doc.style(pts, bold=True)
    for key in ("holder", "account", "period"):
        val = doc.entity("ACCOUNT") if key == "account" else (
            doc.entity("PERSON") if key == "holder" else Span(f"{doc.entity('DATE').text} ~ {doc.entity('DATE').text}"))
        y = kv(doc, l, y, doc.label(key), val, st, st, value_x=l + doc.px(35)) + st.line_height * 0.5
    y += st.size
    cols = ["date", "desc", "withdrawal", "deposit", "balance"]
    widths = [0.18, 0.34, 0.16, 0.16, 0.16]
    bal = int(doc.rng.integers(100, 10_000)) * 1000
    rows = []
    n = int((b - y) / (st.line_height * 1.6)) - 2
    for _ in range(max(3, min(n, int(doc.rng.integers(8, 40))))):
        amt = int(doc.rng.integers(1, 500)) * 100
        out = doc.chance(0.6)
        bal += -amt if out else amt
        desc = doc.content.choice((doc.entity("ORG").text, doc.entity("PERSON").text, doc.content.word(doc.vlang())))
        rows.append([doc.entity("DATE"), desc, money_text(doc, amt) if out else "", "" if out else money_text(doc, amt),
                     money_text(doc, bal)])
    grid = doc.chance(0.5)
    y = table(doc, l, y, [w * (r - l) for w in widths], [doc.label(k) for k in cols], rows, st, bst,
              aligns=["left", "left", "right", "right", "right"], grid=grid, row_pad=doc.uniform(0.3, 0.7))
    return c.height


# --- letter / notice ---------------------------------------------------------------------------------
def layout_letter(doc: Doc) -> int:
    c = doc.canvas
    l, t, r, b = _margins(doc, 15, 30)
    pts = doc.uniform(9, 12)
    st = doc.style(pts)
    # letterhead
    with c.block("header"):
        ln = c.text(l, t, doc.entity("ORG"), doc.style(pts * 1.6, head=True))
    y = ln.box[3] + st.size * 0.3
    with c.block("text"):
        ln = c.text(l, y, doc.entity("ADDRESS"), doc.style(pts * 0.85))
        y = ln.box[3] + st.size * 0.2
        ln = c.text(l, y, [doc.entity("PHONE"), Span("·"), doc.entity("EMAIL")], doc.style(pts * 0.85))
    y = ln.box[3] + st.size
    c.rule(l, y, r, y, width=max(1, doc.dpi // 100))
    y += st.size
    with c.block("text"):
        c.text(r, y, doc.entity("DATE"), st, align="right")
    y += st.line_height * 1.5
    if doc.chance(0.5):
        with c.block("header"):
            ln = c.text((l + r) / 2, y, Span(doc.title(doc.content.choice(("안내문", "공지사항", "알림", "통지서")),
                                                        doc.content.choice(("NOTICE", "Notice of Change", "Reminder"))),
                                              role="header"), doc.style(pts * 1.5, head=True), align="center")
        y = ln.box[3] + st.size
    greet = doc.entity("PERSON")
    with c.block("text"):
        ln = c.text(l, y, [Span(doc.title("수신:", "Dear")), greet], st)
    y = ln.box[3] + st.size
    ncols = 2 if doc.chance(0.35) else 1
    gap = doc.px(8)
    col_w = (r - l - gap * (ncols - 1)) / ncols
    lines_left = b - st.line_height * 6
    justify = doc.chance(0.5)
    y_end = y
    for col in range(ncols):
        x = l + col * (col_w + gap)
        yy = y
        while yy < lines_left - st.line_height * 3:
            text = " ".join(doc.content.sentence(doc.lang) for _ in range(int(doc.rng.integers(2, 6))))
            yy = paragraph(doc, x, yy, col_w, text, st, max_y=lines_left, justify=justify) + st.size * 0.6
            if doc.chance(0.1):
                break
        y_end = max(y_end, yy)
    y = max(y, y_end) + st.size
    with c.block("text"):
        ln = c.text(r, min(y, b - st.line_height * 3), [Span(doc.title("발신:", "Sincerely,")), doc.entity("PERSON")],
                    st, align="right")
    return c.height


# --- ID-like card ----------------------------------------------------------------------------------------
def layout_card(doc: Doc) -> int:
    c = doc.canvas
    w, h = c.width, c.height
    c.rect(1, 1, w - 2, h - 2, width=max(1, doc.dpi // 100))
    if doc.chance(0.5):
        c.rect(2, 2, w - 3, int(h * 0.18), ink=255, fill=int(doc.uniform(200, 235)))
    l, t = doc.px(4), doc.px(3)
    pts = doc.uniform(6.5, 8)
    st, bst = doc.style(pts), doc.style(pts, bold=True)
    with c.block("header"):
        c.text(l, t, Span(doc.title(doc.content.choice(("주민등록증", "사원증", "회원증", "학생증")),
                                    doc.content.choice(("IDENTITY CARD", "EMPLOYEE ID", "MEMBER CARD"))),
                          role="header"), doc.style(pts * 1.5, head=True))
    photo_w = int(w * 0.27)
    px0 = w - photo_w - doc.px(4)
    py0 = int(h * 0.25)
    c.rect(px0, py0, px0 + photo_w, py0 + int(photo_w * 1.25), width=1, fill=int(doc.uniform(180, 230)))
    y = h * 0.25
    maxw = px0 - l - doc.px(2)
    keys = ["name", "rrn", "address", "issued"] if doc.chance(0.6) else ["name", "birth", "dept", "position", "issued"]
    for key in keys:
        val = doc.entity("DATE") if key == "issued" else field_value(doc, key)
        y = kv(doc, l, y, doc.label(key), val, bst if doc.chance(0.3) else st, st, max_w=maxw) + st.line_height * 0.35
        if y > h - st.line_height * 2.2:
            break
    with c.block("text"):
        c.text(l, h - st.line_height * 1.8, doc.entity("ORG"), st)
    return h


KINDS: dict[str, tuple] = {
    # kind -> (page size function of rng, layout function)
    "form": (lambda rng: A4 if rng.random() < 0.7 else LETTER, layout_form),
    "receipt": (receipt_size, layout_receipt),
    "invoice": (lambda rng: A4, layout_invoice),
    "statement": (lambda rng: A4 if rng.random() < 0.7 else LETTER, layout_statement),
    "letter": (lambda rng: A4 if rng.random() < 0.7 else LETTER, layout_letter),
    "card": (lambda rng: CARD, layout_card),
}
