"""The post-OCR stages the pipeline runs after recognition, each `Page -> Page` (in place, same object):

    Clusterer       lines, blocks, reading order, key -> value links          (models.postocr.cluster)
    LineReader      each line's text read again as one crop (punctuation the detector lost between words)
    EntityTagger    named entities: rules + validators (+ learned tagger)       (models.postocr.entities)
    TemplateMatcher registered template id and its fields                       (models.postocr.templates)
    ReceiptFields   receipt key fields by rules, on receipt-like unmatched pages   (models.postocr.receipts)

`default_stages()` is what models/zoo.py assembles; pass `pii_mask=True, salt=...` to mask identifiers in
the stored text (off by default), `template_dir` to add a user template folder to the shipped ones.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from models.postocr.cluster import ClusterConfig, Clusterer
from models.postocr.entities import EntityTagger
from models.postocr.receipts import ReceiptFields
from models.postocr.templates import MatchConfig, TemplateMatcher, TemplateRegistry
from models.types import Page


class LineReader:
    """Stage: `line.text` of every line read as one crop (the union of its word quads) by the pipeline's
    recognizer, which was trained on line crops too: characters the detector left out between two words
    ("12.50" found as "12" "50", a date's slashes) come back, and the line's spaces are the recognizer's.
    Words keep their own readings; a line read as nothing keeps its words' text, and a one-word line is
    not read again (its crop is the word's). Without a reader (the stage run on words alone) it does
    nothing."""
    reads_regions = True

    def __call__(self, page: Page, reader=None) -> Page:
        lines = [ln for ln in page.lines if len(ln.word_ids) > 1]     # one word: its crop was read already
        if reader is None or not lines:
            return page
        for ln, (text, _conf) in zip(lines, reader([ln.quad for ln in lines])):
            ln.text = text.strip() or ln.text
        return page


def load_tagger(weights_dir: str | Path | None = None):
    """The shipped learned tagger (weights "ner_tagger") or None when it is not there."""
    try:
        from models.postocr.tagger import WordTagger
        from models.weights import WEIGHTS_DIR
        return WordTagger.from_weights("ner_tagger", Path(weights_dir) if weights_dir else WEIGHTS_DIR)
    except FileNotFoundError:
        return None


def default_stages(*, pii_mask: bool = False, salt: str = "", template_dir: str | Path | None = None,
                   use_tagger: bool = True, cluster: ClusterConfig = ClusterConfig(),
                   match: MatchConfig = MatchConfig(), reread_lines: bool = True) -> list[Callable[[Page], Page]]:
    """Clustering -> entities (-> PII masking, when on) -> templates -> receipt fields (receipt-like pages
    no template matched). Text is masked as soon as the entities are known, so everything stored downstream
    (lines, fields) holds the masked text; a field over masked words carries the entity's salted hash as its
    value."""
    tagger = load_tagger() if use_tagger else None
    return [Clusterer(cluster)] + ([LineReader()] if reread_lines else []) + [
            EntityTagger(tagger=tagger, pii_mask=pii_mask, salt=salt),
            TemplateMatcher(TemplateRegistry(template_dir).specs, match), ReceiptFields()]
