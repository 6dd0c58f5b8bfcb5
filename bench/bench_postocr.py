"""Post-OCR evaluation on benchdata (FUNSD links, SROIE key fields) and synthetic pages.

    python -m bench.bench_postocr funsd     # question->answer link F1 from GT word boxes + text only
    python -m bench.bench_postocr sroie     # company/date/address/total F1 from GT lines
    python -m bench.bench_postocr entities  # entity P/R/F1 per type on synthetic held-out pages
    python -m bench.bench_postocr templates # template identification / field exact match
    python -m bench.bench_postocr templates --e2e --pages 30   # ... end to end: the shipped pipeline reads
                                                               # the rendered image (detector + recognizer)
    python -m bench.bench_postocr clustering  # line / block grouping on synthetic pages
    python -m bench.bench_postocr receipts --pages 60   # receipt key fields on synthetic receipts (en, ko,
                                                        # mixed) and how often other kinds pass the gate

Nothing here is tuned per image: the stages run with their default configs.
"""
from __future__ import annotations

import argparse
import copy
import time
from pathlib import Path

from models.gtio import load_page
from models.postocr.metrics import PRF, funsd_gt_links, link_prf

BENCH = Path("/work/shared/benchdata")


def _strip(page):
    """Only word boxes and text survive: labels, entities, links and lines are dropped."""
    p = copy.deepcopy(page)
    for w in p.words:
        w.label, w.line_id, w.block_id = None, None, None
    p.entities, p.links, p.lines, p.blocks, p.meta = [], [], [], [], {}
    return p


def bench_funsd(root: Path) -> None:
    from models.postocr.cluster import Clusterer
    stage = Clusterer()
    strict, loose, t0, n = PRF(0, 0, 0), PRF(0, 0, 0), time.perf_counter(), 0
    for gt_path in sorted((root / "gt").glob("*.json")):
        gt = load_page(gt_path)
        pred = stage(_strip(gt))
        links = [(frozenset(kv["key"]), frozenset(kv["value"])) for kv in pred.meta["kv_pairs"]]
        gold = funsd_gt_links(gt)
        s, l = link_prf(links, gold), link_prf(links, gold, min_iou=0.5)
        strict, loose, n = strict + s, loose + l, n + 1
        print(f"{gt_path.stem:>16}: gt {s.n_gt:3d} pred {s.n_pred:3d} strict tp {s.tp:3d} overlap tp {l.tp:3d}")
    dt = (time.perf_counter() - t0) / max(n, 1)
    print(f"FUNSD Q->A links, {n} pages: strict (exact word sets) P {strict.precision:.3f} R {strict.recall:.3f} "
          f"F1 {strict.f1:.3f}; overlap (word IoU>=0.5) P {loose.precision:.3f} R {loose.recall:.3f} "
          f"F1 {loose.f1:.3f}; {dt * 1000:.1f} ms/page")




def _norm_text(t: str) -> str:
    """SROIE compares whole strings; we ignore case and runs of spaces only."""
    return " ".join(t.upper().split())


def _squash(t: str) -> str:
    return "".join(ch for ch in t.upper() if ch.isalnum())


def bench_sroie(root: Path) -> None:
    """Fields from the GT *lines* (SROIE GT order, which is the reading order of the receipt)."""
    from models.postocr.normalize import normalize_date, parse_amount
    from models.postocr.receipts import receipt_fields
    keys = ("company", "date", "address", "total")
    exact = {k: PRF(0, 0, 0) for k in keys}
    loose = {k: PRF(0, 0, 0) for k in keys}
    n = 0
    for gt_path in sorted((root / "gt").glob("*.json")):
        gt = load_page(gt_path)
        page = _strip(gt)
        page.lines = gt.lines
        pred = receipt_fields(page)
        n += 1
        for k in keys:
            g, p = gt.fields.get(k), pred.get(k)
            hit = g is not None and p is not None and _norm_text(g) == _norm_text(p)
            if k == "date" and g and p:
                near = normalize_date(g) is not None and normalize_date(g) == normalize_date(p)
            elif k == "total" and g and p:
                near = parse_amount(g) is not None and parse_amount(p) is not None and \
                    parse_amount(g)[0] == parse_amount(p)[0]
            else:
                near = g is not None and p is not None and _squash(g) == _squash(p)
            exact[k] += PRF(int(hit), int(p is not None), int(g is not None))
            loose[k] += PRF(int(near), int(p is not None), int(g is not None))
            if not near:
                print(f"  {gt_path.stem} {k}: gt {g!r} pred {p!r}")
    tot = sum(exact.values(), PRF(0, 0, 0))
    for k in keys:
        print(f"SROIE {k:8s}: exact-text P {exact[k].precision:.3f} R {exact[k].recall:.3f} F1 {exact[k].f1:.3f}"
              f"   (normalised: dates/amounts by value, text ignoring spaces/punctuation: F1 {loose[k].f1:.3f})")
    print(f"SROIE all 4 fields, {n} receipts: exact-text F1 {tot.f1:.3f}; "
          f"normalised F1 {sum(loose.values(), PRF(0, 0, 0)).f1:.3f}")




def synth_pages(n: int, seed: int, rotate: bool = True, degrade: bool = True, with_images: bool = False):
    """n synthetic pages (all kinds in turn, mixed languages) with exact GT; (image, page) pairs with
    `with_images`, else the pages alone."""
    import numpy as np
    from models.synth.pages import PAGE_KINDS, render_page
    rng = np.random.default_rng(seed)
    for k in range(n):
        img, page = render_page(rng, kind=PAGE_KINDS[k % len(PAGE_KINDS)], lang="mixed",
                                rotate=rotate, degrade=degrade)
        yield (img, page) if with_images else page


def _pairs_same(groups: list[list[int]]) -> set[tuple[int, int]]:
    return {(a, b) for g in groups for a in g for b in g if a < b}


def bench_clustering(n: int, seed: int) -> None:
    """Lines: share of GT lines reproduced exactly (word sets); blocks: pairwise same-block P/R;
    key->value: links P/R/F1 against the generator's kv_spans (exact word sets)."""
    from models.postocr.cluster import Clusterer
    stage = Clusterer()
    line_hit = line_gt = line_pred = 0
    blk, kv = PRF(0, 0, 0), PRF(0, 0, 0)
    per_kind: dict[str, list[int]] = {}
    for gt in synth_pages(n, seed):
        pred = stage(_strip(gt))
        g_lines = {frozenset(ln.word_ids) for ln in gt.lines}
        p_lines = {frozenset(ln.word_ids) for ln in pred.lines}
        hit = len(g_lines & p_lines)
        line_hit, line_gt, line_pred = line_hit + hit, line_gt + len(g_lines), line_pred + len(p_lines)
        k = per_kind.setdefault(gt.meta["kind"], [0, 0])
        k[0], k[1] = k[0] + hit, k[1] + len(g_lines)
        gb = _pairs_same([[i for li in b.line_ids for i in gt.lines[li].word_ids] for b in gt.blocks])
        pb = _pairs_same([[i for li in b.line_ids for i in pred.lines[li].word_ids] for b in pred.blocks])
        blk += PRF(len(gb & pb), len(pb), len(gb))
        gold = [(frozenset(a), frozenset(b)) for a, b in gt.meta.get("kv_spans", [])]
        links = [(frozenset(p["key"]), frozenset(p["value"])) for p in pred.meta["kv_pairs"] if p["kind"] == "field"]
        kv += link_prf(links, gold)
    print(f"synthetic clustering, {n} pages (seed {seed}): lines exact P {line_hit / max(line_pred, 1):.3f} "
          f"R {line_hit / max(line_gt, 1):.3f}; blocks pairwise P {blk.precision:.3f} R {blk.recall:.3f} "
          f"F1 {blk.f1:.3f}; key->value field links (table header->cell pairs not counted: the generator does not label them) P {kv.precision:.3f} R {kv.recall:.3f} F1 {kv.f1:.3f}")
    print("  lines recall per kind: " + ", ".join(f"{k} {a / max(b, 1):.3f}" for k, (a, b) in sorted(per_kind.items())))




def bench_templates(n: int, seed: int, e2e: bool = False, grid: list[str] | None = None,
                    weights_dir: str | None = None, reread: bool = False) -> None:
    """Identification on template instances (each shipped spec in turn), false matches on synthetic pages
    of every other kind, and field exact match against the rendered values: the text read from GT words,
    or with `e2e` the shipped pipeline (models.zoo) reading the rendered image itself. `grid`
    ("min_ratio=70,80" ...) scores every MatchConfig of the product on the same words (held-out seeds)."""
    import dataclasses
    import itertools

    import numpy as np
    from models.postocr.cluster import Clusterer
    from models.postocr.normalize import normalize
    from models.postocr.templates import MatchConfig, TemplateMatcher
    from models.synth.templates import load_templates, render_template_instance
    specs = load_templates()
    cluster = Clusterer()
    if e2e:
        from models.zoo import load_pipeline
        from models.weights import WEIGHTS_DIR
        pipeline = load_pipeline(weights_dir or WEIGHTS_DIR, with_postocr=False,   # words + text; matching below
                                 reread=reread)

        def read(img, gt):
            return pipeline.run([img])[0], pipeline.region_reader(img)
    else:
        def read(img, gt):
            return _strip(gt), None
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    instances = []
    for k in range(n):
        spec = list(specs.values())[k % len(specs)]
        img, gt = render_template_instance(spec, rng)
        page, reader = read(img, gt)
        instances.append((spec, gt, cluster(page), reader))
    others = []
    for img, page in synth_pages(n, seed + 1, with_images=True):
        page, reader = read(img, page)
        others.append((cluster(page), reader))
    t_read = (time.perf_counter() - t0) / (2 * n)
    configs = [MatchConfig()]
    if grid:
        axes = []
        for item in grid:
            name, values = item.split("=", 1)
            cast = type(getattr(MatchConfig(), name))
            axes.append([(name, cast(v)) for v in values.split(",")])
        configs = [dataclasses.replace(MatchConfig(), **dict(c)) for c in itertools.product(*axes)]
    entity_of = {s.id: {f.name: f.entity for f in s.fields} for s in specs.values()}
    for cfg in configs:
        matcher = TemplateMatcher(specs, cfg)
        ident = fields_ok = fields_n = typed_ok = 0
        misses: list[str] = []
        for spec, gt, words, reader in instances:
            page = matcher(copy.deepcopy(words), reader=reader)
            ident += page.template_id == spec.id
            fields_n += len(gt.fields)
            if page.template_id != spec.id:
                continue
            for name, text in gt.fields.items():
                ok = " ".join(page.fields.get(name, "").split()) == " ".join(text.split())
                fields_ok += ok
                ent = entity_of[spec.id].get(name)
                want = normalize(ent, text)[0] if ent else None
                typed_ok += ok if want is None else normalize(ent, page.fields.get(name, ""))[0] == want
                if not ok and len(misses) < 40 and not grid:
                    misses.append(f"{spec.id}.{name}: gt {text!r} read {page.fields.get(name)!r}")
        false = sum(matcher(copy.deepcopy(p), reader=r).template_id is not None for p, r in others)
        for m in misses:
            print("  " + m)
        changed = {k: v for k, v in dataclasses.asdict(cfg).items() if v != getattr(MatchConfig(), k)}
        print(f"templates ({len(specs)} specs, {'end to end: shipped pipeline on the images' if e2e else 'GT words'}"
              f"{', ' + str(changed) if grid else ''}), {n} instances (seed {seed}): identified {ident / n:.3f}; "
              f"field exact match {fields_ok / max(fields_n, 1):.3f} ({fields_ok}/{fields_n}, unidentified pages "
              f"count as misses); typed value match {typed_ok / max(fields_n, 1):.3f} (the normalised value of "
              f"typed fields, text of the rest); {n} non-template pages: no false match {1 - false / n:.3f}; "
              f"{t_read * 1000:.1f} ms/page {'reading + clustering' if e2e else 'clustering'}", flush=True)


def ocr_noise(page, rng, rate: float):
    """Simulated recognition errors (models.postocr.tagger.simulate_ocr_errors) with two Korean look-alikes
    added to the tagger's training noise, so the benchmark's noise is not exactly what the tagger saw."""
    from models.postocr.tagger import LOOK_ALIKES, simulate_ocr_errors

    return simulate_ocr_errors(page, rng, rate, look={**LOOK_ALIKES, "이": "01", "ㅇ": "o"})


def bench_entities(n: int, seed: int, noise: float = 0.0, use_tagger: bool = True) -> None:
    """Entity-level P/R/F1 per type (label and word set must match exactly) on synthetic held-out pages,
    from GT words (optionally with simulated OCR noise)."""
    import numpy as np
    from models.postocr.cluster import Clusterer
    from models.postocr.entities import EntityTagger
    from models.postocr.metrics import entity_prf
    from models.postocr.stages import load_tagger
    from models.types import ENTITY_TYPES
    tagger = load_tagger() if use_tagger else None
    stages = [Clusterer(), EntityTagger(tagger=tagger)]
    rng = np.random.default_rng(seed + 99)
    total = {t: PRF(0, 0, 0) for t in ENTITY_TYPES}
    for gt in synth_pages(n, seed):
        page = _strip(gt)
        if noise:
            ocr_noise(page, rng, noise)
        for st in stages:
            page = st(page)
        for t, prf in entity_prf(page, gt, labels=ENTITY_TYPES).items():
            if t != "ALL":
                total[t] += prf
    allp = sum(total.values(), PRF(0, 0, 0))
    name = ("rules + learned tagger" if tagger is not None else "rules only") + (f", OCR noise {noise:.0%}/char" if noise else "")
    print(f"synthetic entities, {n} pages (seed {seed}), {name}: overall P {allp.precision:.3f} "
          f"R {allp.recall:.3f} F1 {allp.f1:.3f}")
    for t, prf in total.items():
        if prf.n_gt or prf.n_pred:
            print(f"  {t:8s} P {prf.precision:.3f} R {prf.recall:.3f} F1 {prf.f1:.3f}  (gt {prf.n_gt}, pred {prf.n_pred})")


def receipt_gt(page) -> dict[str, str]:
    """Key fields of a synthetic receipt from its GT (models.synth.kinds.layout_receipt): the first ORG (the
    header) and DATE entities, and the words linked from the "주소" / "Address" and "합계" / "Total" keys (an
    address too long for the receipt is printed cut, and then is no ADDRESS entity)."""
    import re
    out: dict[str, str] = {}
    for label, key in (("ORG", "company"), ("DATE", "date")):
        ent = next((e for e in page.entities if e.label == label), None)
        if ent is not None:
            out[key] = ent.text
    for key, pattern in (("address", r"(주소|Address)\b"), ("total", r"(합계|Total)\b")):
        first = min((v for k, v in page.links if re.match(pattern, page.words[k].text)), default=None)
        if first is not None:             # the link's value word and the rest of its GT line
            line = page.words[first].line_id
            out[key] = " ".join(w.text for w in page.words[first:] if w.line_id == line)
    return out


def bench_receipts(n: int, seed: int, e2e: bool = False, weights_dir: str | None = None,
                   reread: bool = False) -> None:
    """The receipt stage (models.postocr.receipts.ReceiptFields) on synthetic receipts, a third each en / ko /
    mixed: share of receipts it fills, and exact match per key field (spaces collapsed) against
    `receipt_gt`; then the share of pages of every other kind it fills (invoices carry the same fields;
    forms, statements, letters and cards should mostly stay empty). GT words and GT-free lines
    (Clusterer), or with `e2e` the shipped pipeline on the rendered image."""
    import numpy as np
    from models.postocr.cluster import Clusterer
    from models.postocr.receipts import ReceiptFields
    from models.synth.pages import PAGE_KINDS, render_page
    cluster, stage = Clusterer(), ReceiptFields()
    if e2e:
        from models.weights import WEIGHTS_DIR
        from models.zoo import load_pipeline
        pipeline = load_pipeline(weights_dir or WEIGHTS_DIR, reread=reread)
    keys = ("company", "date", "address", "total")
    rng = np.random.default_rng(seed)
    filled: dict[str, list[int]] = {}
    hits = {k: PRF(0, 0, 0) for k in keys}
    misses: list[str] = []
    langs = ("en", "ko", "mixed")
    kinds = ["receipt"] * n + [k for k in PAGE_KINDS if k != "receipt" for _ in range(max(1, n // 3))]
    for i, kind in enumerate(kinds):
        img, gt = render_page(rng, kind=kind, lang=langs[i % 3], rotate=False, degrade=True)
        page = pipeline.run([img])[0] if e2e else stage(cluster(_strip(gt)))
        got = page.fields if page.meta.get("fields_source") == "receipt_rules" else {}
        f = filled.setdefault(kind, [0, 0])
        f[0] += bool(got)
        f[1] += 1
        if kind != "receipt":
            continue
        want = receipt_gt(gt)
        for k in keys:
            g, p = want.get(k), got.get(k)
            ok = g is not None and p is not None and " ".join(g.split()) == " ".join(p.split())
            hits[k] += PRF(int(ok), int(p is not None), int(g is not None))
            if not ok and len(misses) < 30:
                misses.append(f"  [{langs[i % 3]}] {k}: gt {g!r} got {p!r}")
    print("\n".join(misses))
    for k in keys:
        print(f"synthetic receipts {k:8s}: P {hits[k].precision:.3f} R {hits[k].recall:.3f} F1 {hits[k].f1:.3f}")
    print(f"synthetic receipts ({'end to end' if e2e else 'GT words'}, seed {seed}): all 4 fields F1 "
          f"{sum(hits.values(), PRF(0, 0, 0)).f1:.3f}; pages filled by the receipt stage: "
          + ", ".join(f"{k} {a}/{b}" for k, (a, b) in filled.items()), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["funsd", "sroie", "entities", "templates", "clustering", "receipts",
                                                   "all"])
    parser.add_argument("--pages", type=int, default=200, help="synthetic pages per evaluation")
    parser.add_argument("--seed", type=int, default=12345, help="seed of the synthetic held-out pages")
    parser.add_argument("--noise", type=float, default=0.03, help="simulated OCR error rate per character")
    parser.add_argument("--e2e", action="store_true", help="templates, receipts: read the rendered images with the "
                        "shipped pipeline instead of using GT words")
    parser.add_argument("--weights-dir", help="--e2e: the pipeline's weights (default models/weights)")
    parser.add_argument("--reread", action="store_true", help="--e2e: the recognizers reread doubtful crops")
    parser.add_argument("--match-set", action="append", metavar="FIELD=V1,V2",
                        help="templates: score a grid of MatchConfig values (repeatable)")
    parser.add_argument("--rules-only", action="store_true", help="entities without the learned tagger")
    args = parser.parse_args(argv)
    if args.what in ("funsd", "all"):
        bench_funsd(BENCH / "funsd")
    if args.what in ("sroie", "all"):
        bench_sroie(BENCH / "sroie")
    if args.what in ("clustering", "all"):
        bench_clustering(args.pages, args.seed)
    if args.what in ("entities", "all"):
        bench_entities(args.pages, args.seed, use_tagger=not args.rules_only)
        bench_entities(args.pages, args.seed, noise=args.noise, use_tagger=not args.rules_only)
    if args.what in ("templates", "all"):
        bench_templates(args.pages, args.seed, e2e=args.e2e, grid=args.match_set, weights_dir=args.weights_dir,
                        reread=args.reread)
    if args.what in ("receipts", "all"):
        bench_receipts(args.pages, args.seed, e2e=args.e2e, weights_dir=args.weights_dir, reread=args.reread)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
