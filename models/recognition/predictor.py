"""RecognitionPredictor: upright word crops (numpy) -> [(text, confidence)].

It owns everything around the model: input checks, normalisation (models.recognition.data), batching by
width buckets with right padding and a key-padding mask, reduced precision, greedy CTC decoding, and an
optional reread of doubtful crops (`set_reread`, below).
Precision: "fp32"; "bf16" (autocast; CPU with native bf16, or CUDA); "fp16" (CUDA autocast);
"int8" (CPU dynamic quantisation of every nn.Linear); "auto" = fp16 on CUDA, bf16 on a CPU with native
bf16 support, else int8.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np
import torch

from models.precision import autocast, place, resolve_precision
from models.recognition.charset import Charset
from models.recognition.data import CropSpec, ink_views, pad_batch, to_model_input, width_buckets
from models.recognition.decode import SPACE_THRESHOLD, ctc_greedy, ctc_log_likelihood
from models.recognition.lexicon import Lexicon, snap
from models.recognition.model import ColumnViTSTR, ColumnViTSTRConfig
from models.weights import WEIGHTS_DIR, load_weights


def quantize_int8(model: torch.nn.Module) -> torch.nn.Module:
    """Dynamic int8 quantisation of every nn.Linear (weights int8, activations quantised per batch)."""
    import copy
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")      # torch.ao.quantization deprecation notice
        return torch.ao.quantization.quantize_dynamic(copy.deepcopy(model).cpu().eval(), {torch.nn.Linear},
                                                      dtype=torch.qint8)


# Reread (test-time augmentation): a crop read with confidence below REREAD_BELOW is read again stretched
# horizontally by REREAD_SCALES in turn, until two of its readings agree (or the scales run out); of its
# readings, the text its views find likeliest together wins (`consensus`). Chosen on the dev pools, not on
# benchdata (docs/ARCHITECTURE.md, "Reread of doubtful crops"): the first version read every crop below 0.9 at
# all three scales (printed dot-bitmap crops 0.661 -> 0.707); stopping at the first agreement, in this order,
# and rereading below 0.7 keep most of that (0.698) with a sixth of its stretched reads on the held-out crops
# (bf16, one thread, same session: 556 -> 834-898 crops per CPU-second; plain 1,038-1,087). The readings
# were first combined by a majority vote (`vote`); the CTC likelihood over all views read the printed crops'
# characters better (CER 0.0636 -> 0.0610) at the same reads.
REREAD_SCALES = (1.1, 1.2, 0.9)
REREAD_BELOW = 0.7
REREAD_GROUP_TOKENS = 4096
KEEP_DTYPE = {torch.float32: torch.float16}     # the logits a doubtful crop keeps: half the memory of fp32


def vote(reads: Sequence[tuple[str, float]]) -> tuple[str, float]:
    """The text most reads agree on, ties broken by the larger summed confidence (then the earlier read);
    its confidence is the largest of the reads that gave it."""
    if not reads:
        raise ValueError("vote needs at least one read")
    count, total, best = Counter(), Counter(), {}
    for text, conf in reads:
        count[text] += 1
        total[text] += conf
        best[text] = max(best.get(text, 0.0), conf)
    text = max(count, key=lambda t: (count[t], total[t]))     # max keeps the first of equals: read order
    return text, best[text]


def consensus(reads: Sequence[tuple[str, float]], views: Sequence[torch.Tensor], charset: Charset
              ) -> tuple[str, float]:
    """Of the texts of several readings of one crop (one per view), the one with the largest CTC
    log-likelihood summed over the views' (T, C) logits or log-probs (decode.ctc_log_likelihood), ties to the
    earlier reading; where no view can emit any of them, the `vote`. Its confidence is the largest of the reads
    that gave it. A majority of greedy reads can agree on a dropped thin stroke that every view gives some
    mass to; the likelihood counts that mass, the vote does not."""
    if len(reads) != len(views):
        raise ValueError(f"one view per read: {len(reads)} reads, {len(views)} views")
    texts = list(dict.fromkeys(t for t, _ in reads))
    if len(texts) == 1:
        return texts[0], max(c for _, c in reads)
    score = ctc_log_likelihood(texts, list(views), charset)
    if not np.isfinite(score).any():
        return vote(reads)
    text = texts[int(np.argmax(score))]
    return text, max(c for t, c in reads if t == text)


def stretch(ink: np.ndarray, scale: float, max_width: int) -> np.ndarray:
    """An ink map (models.recognition.data.ink_crop) stretched horizontally by `scale`, at most max_width."""
    w = max(1, min(max_width, int(round(ink.shape[1] * scale))))
    return ink if w == ink.shape[1] else cv2.resize(ink, (w, ink.shape[0]), interpolation=cv2.INTER_LINEAR)


def model_config_from(config: dict) -> ColumnViTSTRConfig:
    fields = ColumnViTSTRConfig.__dataclass_fields__
    return ColumnViTSTRConfig(**{k: v for k, v in config["architecture"].items() if k in fields})


class RecognitionPredictor:
    def __init__(self, model: ColumnViTSTR, charset: Charset, spec: CropSpec | None = None, device: str = "cpu",
                 precision: str = "auto", batch_size: int | None = None, version: str = "unversioned",
                 crop_pad: float = 0.0, space_threshold: float | None = SPACE_THRESHOLD,
                 reread: Sequence[float] = (), reread_below: float = REREAD_BELOW, confusables: bool = True):
        self.device = torch.device(device)
        if batch_size is None:      # crops per forward pass: on one CPU core 32 read 953 crops/s in bf16,
            batch_size = 32 if self.device.type == "cpu" else 256     # 128 only 765 (cache); GPUs want more
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        self.precision = resolve_precision(precision, self.device, cpu_fallback="int8")
        self.charset, self.batch_size, self.version = charset, batch_size, version
        self.space_threshold = space_threshold     # for recognize(lines=True): decode.ctc_greedy
        self.crop_pad = float(crop_pad)     # margin around a word quad the model was trained on (Pipeline)
        self.confusables = confusables      # 0/o, 1/l read by their neighbours (models.recognition.confusables)
        self.set_reread(reread, reread_below)
        self.spec = spec or CropSpec(height=model.cfg.height, patch_width=model.cfg.patch_width,
                                     max_width=model.cfg.max_tokens * model.cfg.patch_width)
        self.model = quantize_int8(model) if self.precision == "int8" else place(model, self.precision, self.device)

    @classmethod
    def from_weights(cls, name: str = "recognizer", weights_dir: str | Path = WEIGHTS_DIR, device: str = "cpu",
                     precision: str = "auto", batch_size: int | None = None) -> "RecognitionPredictor":
        state, config = load_weights(name, weights_dir)
        model = ColumnViTSTR(model_config_from(config))
        model.load_state_dict(state)
        spec = CropSpec(**{k: config["input"][k] for k in ("height", "patch_width", "max_width")})
        return cls(model, Charset(config["charset"]), spec, device, precision, batch_size,
                   version=config["sha256"][:12], crop_pad=config["input"].get("crop_pad", 0.0))

    def recognize(self, crops: Sequence[np.ndarray], lines: bool = False) -> list[tuple[str, float]]:
        """(text, confidence in [0, 1]) per crop, in input order. Raises ValueError on a non-uint8 or
        malformed crop (see models.recognition.data.to_gray). `lines`: crops of text lines or regions
        (several words): decoded with `space_threshold` (models.recognition.decode.ctc_greedy); word crops
        are decoded by the argmax alone, where a rescued space split words (GT word boxes of synth_ko:
        bag-of-words F1 0.848 -> 0.827). With `confusables` (the default) a `0` / `1` read inside a word and an
        `o` / `l` inside a number are read by their neighbours (models.recognition.confusables). A crop that may
        be light text on a gray or halftone band is read from the map of `ink_views` that reads it better
        (`_choose_views`); with the reread (`set_reread`), the doubtful crops are read again and their Latin
        words checked against an English lexicon."""
        if isinstance(crops, np.ndarray):
            raise ValueError("pass a sequence of crops, not one array")
        norm, bands = zip(*(ink_views(c, self.spec) for c in crops)) if len(crops) else ((), ())
        norm, known = self._choose_views(list(norm), bands, lines)
        if not self.reread:                 # the crops read both ways keep the reading of the map chosen
            rest = [i for i in range(len(norm)) if i not in known]
            known.update(zip(rest, self._read([norm[i] for i in rest], lines)))
            return [known[i] for i in range(len(norm))]
        out: list[tuple[str, float]] = [("", 0.0)] * len(norm)
        for idx in self._groups(norm):
            for i, read in zip(idx, self._read_again([norm[i] for i in idx], lines)):
                out[i] = read
        return out

    def _choose_views(self, norm: list[np.ndarray], bands: Sequence[np.ndarray | None], lines: bool
                      ) -> tuple[list[np.ndarray], dict[int, tuple[str, float]]]:
        """Crops that may be light text on a band (models.recognition.data.ink_views) read both ways: the band's
        map replaces the plain one where it reads something with a higher confidence per character (the
        geometric mean: a confidence is a product over the characters, and junk read off a band's dots is
        often shorter than the text). Chosen on rendered banner crops (training fonts): word accuracy 0.288
        plain, 0.612 by the whole confidence, 0.630 per character, 0.633 with the band's map always taken,
        which reads bold text in tight boxes inverted. Returns the maps and, for the crops read both ways, the
        reading of the map kept."""
        idx = [i for i, b in enumerate(bands) if b is not None]
        known: dict[int, tuple[str, float]] = {}
        if idx:
            plain = self._read([norm[i] for i in idx], lines)
            banded = self._read([bands[i] for i in idx], lines)
            for i, (p_text, p), (b_text, b) in zip(idx, plain, banded):
                if b_text.strip() and b ** (1 / len(b_text)) > p ** (1 / max(1, len(p_text))):
                    norm[i], known[i] = bands[i], (b_text, b)
                else:
                    known[i] = (p_text, p)
        return norm, known

    def _groups(self, norm: list[np.ndarray]) -> list[list[int]]:
        """Whole width buckets of crops, grouped up to REREAD_GROUP_TOKENS tokens. The rereads of a group are
        batched together (rereading one batch at a time: 582-736 crops a CPU-second against 815-839), and the
        logits its doubtful crops keep stay bounded (2 bytes a class a token, KEEP_DTYPE: 20 MB a view at
        4,096 tokens, about 160 word crops; FUNSD with --reread peaked at 2.0 GB RSS, as with the vote, where
        16,384 tokens took 2.3 GB)."""
        groups, tokens = [], REREAD_GROUP_TOKENS
        for idx in width_buckets([c.shape[1] for c in norm], self.batch_size):
            size = sum(-(-norm[i].shape[1] // self.spec.patch_width) for i in idx)
            if tokens + size > REREAD_GROUP_TOKENS:
                groups.append([])
                tokens = 0
            groups[-1] += idx
            tokens += size
        return groups

    def _read_again(self, norm: list[np.ndarray], lines: bool) -> list[tuple[str, float]]:
        """Reads of ink maps whose doubtful ones (confidence below reread_below) are read again stretched by
        each reread scale in turn until two of their readings agree, and end as their `consensus`."""
        out, logits = self._read(norm, lines, keep_below=self.reread_below)
        pending = [i for i, lg in enumerate(logits) if lg is not None]
        reads = {i: [out[i]] for i in pending}
        views = {i: [logits[i]] for i in pending}
        for scale in self.reread:                  # in turn, until two readings of a crop agree
            if not pending:
                break
            again, again_logits = self._read([stretch(norm[i], scale, self.spec.max_width) for i in pending],
                                             lines, keep_below=float("inf"))
            for i, read, lg in zip(pending, again, again_logits):
                reads[i].append(read)
                views[i].append(lg)
            pending = [i for i in pending if len({t for t, _ in reads[i]}) == len(reads[i])]
        for i in reads:
            text, conf = consensus(reads[i], views[i], self.charset)
            if self.lexicon is not None:
                text = snap(text, views[i], self.charset, self.lexicon)
            out[i] = (text, conf)
        return out

    def set_reread(self, scales: Sequence[float] = REREAD_SCALES, below: float = REREAD_BELOW,
                   lexicon: bool = True) -> None:
        """Read crops whose confidence is below `below` again at the horizontal scales of `scales`, in turn,
        until two readings of a crop agree, and keep the reading its views find likeliest (`consensus`);
        with `lexicon`, its Latin words that are no English word are then spelt as the English word its views
        find nearly as likely, if one is (models.recognition.lexicon.snap). `scales=()` turns it off (the
        default: speed)."""
        scales = tuple(float(s) for s in scales)
        if any(not 0.25 <= s <= 4.0 for s in scales) or not 0.0 <= below <= 1.0:
            raise ValueError(f"reread scales must lie in [0.25, 4] and the threshold in [0, 1], got {scales}, {below}")
        self.reread, self.reread_below = scales, float(below)
        self.lexicon = Lexicon.english() if lexicon and scales else None

    def _read(self, norm: list[np.ndarray], lines: bool, keep_below: float | None = None):
        """Greedy reads of ink maps (ink_crop), in input order. With `keep_below`, also each crop's (T, C)
        logits where its confidence is below it, else None: returns (reads, logits)."""
        out: list[tuple[str, float] | None] = [None] * len(norm)
        kept: list[torch.Tensor | None] = [None] * len(norm)
        dev = torch.device("cpu") if self.precision == "int8" else self.device
        with torch.inference_mode(), autocast(self.precision, self.device):
            for idx in width_buckets([c.shape[1] for c in norm], self.batch_size):
                images, widths = pad_batch([norm[i] for i in idx], self.spec.patch_width)
                logits, lengths = self.model(to_model_input(images, dev), widths.to(dev))
                reads = ctc_greedy(logits, lengths, self.charset, self.space_threshold if lines else None,
                                   self.confusables)
                for i, res in zip(idx, reads):
                    out[i] = res
                rows = [j for j, (_, conf) in enumerate(reads) if keep_below is not None and conf < keep_below]
                if rows:            # one copy to the host for the batch's doubtful rows
                    host = logits[rows].to("cpu", KEEP_DTYPE.get(logits.dtype, logits.dtype), copy=True)
                    for row, j in zip(host, rows):
                        kept[idx[j]] = row[: int(lengths[j])]
        return out if keep_below is None else (out, kept)
