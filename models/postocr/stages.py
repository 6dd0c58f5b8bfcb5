"""The post-OCR stages the pipeline runs after recognition, each `Page -> Page` (in place, same object):

    Clusterer       lines, blocks, reading order, key -> value links          (models.postocr.cluster)
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
                   match: MatchConfig = MatchConfig()) -> list[Callable[[Page], Page]]:
    """Clustering -> entities (-> PII masking, when on) -> templates -> receipt fields (receipt-like pages
    no template matched). Text is masked as soon as the entities are known, so everything stored downstream
    (lines, fields) holds the masked text; a field over masked words carries the entity's salted hash as its
    value."""
    tagger = load_tagger() if use_tagger else None
    return [Clusterer(cluster), EntityTagger(tagger=tagger, pii_mask=pii_mask, salt=salt),
            TemplateMatcher(TemplateRegistry(template_dir).specs, match), ReceiptFields()]
