"""A small learned entity tagger: hashed character n-grams per word -> BiGRU over the page -> BIO tags.

Words are read in the clustering's reading order (page.lines). Each word is a bag of hashed features
(crc32, so stable across processes): its lower-cased character 1-3-grams, its shape ("Xxxx", "0,000",
"가가"), a line-start marker, and the text of the key it is the value of (page.meta["kv_pairs"]).
Tags are BIO over ENTITY_TYPES; a span is a B-X followed by I-X words (a stray I-X starts one).
Trained on synthetic pages (models.synth.pages.render_page) after the same clustering stage that runs at
inference, half of them with simulated OCR errors; weights ship as models/weights/ner_tagger.{pt,json}.
CPU-only and tiny (about 0.6 M parameters).
"""
from __future__ import annotations

import re
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from models.postocr.normalize import normalize
from models.types import ENTITY_TYPES, Entity, Page

TAGS: tuple[str, ...] = ("O",) + tuple(f"{p}-{t}" for t in ENTITY_TYPES for p in ("B", "I"))


@dataclass(frozen=True)
class TaggerConfig:
    buckets: int = 1 << 14
    dim: int = 32
    hidden: int = 48
    max_ngram: int = 3


def _h(s: str, buckets: int) -> int:
    return zlib.crc32(s.encode("utf-8")) % (buckets - 1) + 1          # 0 is padding


def word_shape(text: str) -> str:
    s = re.sub(r"[A-Z]", "X", text)
    s = re.sub(r"[a-z]", "x", s)
    s = re.sub(r"[0-9]", "0", s)
    s = re.sub(r"[가-힣]", "가", s)
    return re.sub(r"(.)\1{2,}", r"\1\1", s)[:12]


def word_features(text: str, key: str, line_start: bool, cfg: TaggerConfig) -> list[int]:
    t = text.lower()
    padded = f"<{t}>"
    feats = [f"w:{t}", f"shape:{word_shape(text)}", f"len:{min(len(text), 20)}"]
    for n in range(1, cfg.max_ngram + 1):
        feats += [f"{n}:{padded[i:i + n]}" for i in range(len(padded) - n + 1)]
    if key:
        feats += [f"key:{key}"] + [f"kw:{w}" for w in re.split(r"[\s():：]+", key.lower()) if w]
    if line_start:
        feats.append("bol")
    return [_h(f, cfg.buckets) for f in feats]


def page_sequence(page: Page) -> list[int]:
    """Word indices in reading order (lines in order; words not in any line at the end)."""
    order = [i for ln in page.lines for i in ln.word_ids]
    seen = set(order)
    return order + [i for i in range(len(page.words)) if i not in seen]


def encode_page(page: Page, cfg: TaggerConfig) -> tuple[list[int], list[list[int]]]:
    order = page_sequence(page)
    key_of: dict[int, str] = {}
    for kv in page.meta.get("kv_pairs", []):
        key = " ".join(page.words[i].text for i in kv["key"]).strip().rstrip(":：").lower()
        for i in kv["value"]:
            key_of.setdefault(i, key)
    starts = {ln.word_ids[0] for ln in page.lines if ln.word_ids}
    return order, [word_features(page.words[i].text, key_of.get(i, ""), i in starts, cfg) for i in order]


def bio_targets(page: Page, order: list[int]) -> list[int]:
    tag_of = {i: 0 for i in order}
    pos = {w: k for k, w in enumerate(order)}
    for e in page.entities:
        if e.label not in ENTITY_TYPES:
            continue
        ids = sorted((i for i in e.word_ids if i in pos), key=pos.get)
        for j, i in enumerate(ids):
            tag_of[i] = TAGS.index(f"{'B' if j == 0 else 'I'}-{e.label}")
    return [tag_of[i] for i in order]


class TaggerNet(nn.Module):
    def __init__(self, cfg: TaggerConfig):
        super().__init__()
        self.cfg = cfg
        self.emb = nn.EmbeddingBag(cfg.buckets, cfg.dim, mode="mean", padding_idx=0)
        self.gru = nn.GRU(cfg.dim, cfg.hidden, batch_first=True, bidirectional=True)
        self.out = nn.Linear(2 * cfg.hidden, len(TAGS))

    def forward(self, batch: dict) -> dict | torch.Tensor:
        """batch: feats (B, T, F) long (0 = pad), mask (B, T) bool, optional tags (B, T) long.
        With tags: {"ce": loss}; without: logits (B, T, n_tags)."""
        feats, mask = batch["feats"], batch["mask"]
        b, t, f = feats.shape
        x = self.emb(feats.reshape(b * t, f)).reshape(b, t, -1)
        h, _ = self.gru(x)
        logits = self.out(h)
        if "tags" not in batch:
            return logits
        loss = nn.functional.cross_entropy(logits[mask], batch["tags"][mask])
        return {"ce": loss}


def collate(seqs: list[list[list[int]]], tags: list[list[int]] | None = None) -> dict:
    t = max(1, max(len(s) for s in seqs))
    f = max(1, max((len(w) for s in seqs for w in s), default=1))
    feats = torch.zeros(len(seqs), t, f, dtype=torch.long)
    mask = torch.zeros(len(seqs), t, dtype=torch.bool)
    for b, s in enumerate(seqs):
        for k, w in enumerate(s):
            feats[b, k, :len(w)] = torch.tensor(w, dtype=torch.long)
        mask[b, :len(s)] = True
    out = {"feats": feats, "mask": mask}
    if tags is not None:
        tt = torch.zeros(len(seqs), t, dtype=torch.long)
        for b, s in enumerate(tags):
            tt[b, :len(s)] = torch.tensor(s, dtype=torch.long)
        out["tags"] = tt
    return out


def decode_spans(tags: list[int], order: list[int]) -> list[tuple[str, list[int]]]:
    spans: list[tuple[str, list[int]]] = []
    cur: tuple[str, list[int]] | None = None
    for tag, w in zip(tags, order):
        name = TAGS[tag]
        if name == "O":
            cur = None
            continue
        p, label = name.split("-", 1)
        if p == "B" or cur is None or cur[0] != label:
            cur = (label, [w])
            spans.append(cur)
        else:
            cur[1].append(w)
    return spans


class WordTagger:
    """Inference wrapper: `entities(page)` -> list[Entity] (normalised and validated like rule entities)."""

    def __init__(self, net: TaggerNet, version: str = ""):
        self.net = net.eval()
        self.cfg = net.cfg
        self.version = version

    @classmethod
    def from_weights(cls, name: str, weights_dir: str | Path) -> "WordTagger":
        from models.weights import load_weights
        state, config = load_weights(name, weights_dir)
        cfg = TaggerConfig(**config["model"])
        if tuple(config.get("tags", TAGS)) != TAGS:
            raise ValueError(f"weights {name!r} were trained for other tags than this code's TAGS")
        net = TaggerNet(cfg)
        net.load_state_dict(state)
        return cls(net, config.get("sha256", "")[:12])

    @torch.no_grad()
    def entities(self, page: Page) -> list[Entity]:
        if not page.words:
            return []
        order, feats = encode_page(page, self.cfg)
        logits = self.net(collate([feats]))[0]
        tags = logits.argmax(-1).tolist()
        out = []
        for label, ids in decode_spans(tags, order):
            text = " ".join(page.words[i].text for i in ids)
            value, valid = normalize(label, text)
            out.append(Entity(label, text, ids, value, valid))
        return out


LOOK_ALIKES = {"0": "O", "O": "0", "1": "l", "l": "1", "5": "S", "S": "5", "8": "B", "B": "8", "-": "~", ".": ",",
               ",": ".", "2": "Z", "6": "b"}


def simulate_ocr_errors(page: Page, rng: np.random.Generator, rate: float,
                        look: dict[str, str] = LOOK_ALIKES) -> Page:
    """Each character replaced by a look-alike (60%), a random letter (20%) or dropped (20%) with
    probability `rate`; in place."""
    for w in page.words:
        out = []
        for ch in w.text:
            r = rng.random()
            if r < rate * 0.6:
                out.append(look.get(ch, ch))
            elif r < rate * 0.8:
                out.append(chr(int(rng.integers(0x61, 0x7B))))
            elif r >= rate:
                out.append(ch)
        w.text = "".join(out) or w.text
    return page


def tagger_config_dict(cfg: TaggerConfig) -> dict:
    return {"model": asdict(cfg), "tags": list(TAGS)}
