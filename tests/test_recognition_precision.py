"""Reduced-precision inference agrees with float inference on a fixed batch."""
import numpy as np
import pytest
import torch

from models.recognition.charset import Charset
from models.recognition.data import pad_batch
from models.recognition.model import ColumnViTSTR, ColumnViTSTRConfig
from models.precision import cpu_has_bf16
from models.recognition.predictor import RecognitionPredictor, quantize_int8


@pytest.fixture(scope="module")
def setup():
    torch.manual_seed(0)
    charset = Charset("0123456789abc")
    model = ColumnViTSTR(ColumnViTSTRConfig(num_classes=charset.num_classes, dim=64, depth=2, heads=2,
                                            dropout=0.0)).eval()
    rng = np.random.default_rng(0)
    crops = [rng.random((32, w)).astype(np.float32) for w in (20, 64, 100, 37)]
    images, widths = pad_batch(crops, 4)
    with torch.no_grad():
        ref, lengths = model(images, widths)
    return charset, model, images, widths, ref, lengths


def agreement(a: torch.Tensor, b: torch.Tensor, lengths: torch.Tensor) -> float:
    keep = torch.arange(a.shape[1])[None, :] < lengths[:, None]
    return float((a.argmax(-1) == b.argmax(-1))[keep].float().mean())


def test_int8_dynamic_quantisation_agrees_with_float(setup):
    _, model, images, widths, ref, lengths = setup
    q = quantize_int8(model)
    assert any("quantized" in type(m).__module__ for m in q.modules())
    with torch.no_grad():
        out, _ = q(images, widths)
    assert agreement(ref, out, lengths) >= 0.95
    cos = torch.nn.functional.cosine_similarity(ref.flatten(), out.flatten(), dim=0)
    assert cos > 0.99


@pytest.mark.skipif(not cpu_has_bf16(), reason="CPU without native bf16")
def test_bf16_autocast_agrees_with_float(setup):
    _, model, images, widths, ref, lengths = setup
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        out, _ = model(images, widths)
    assert agreement(ref, out.float(), lengths) >= 0.95


def test_predictor_precisions_return_the_same_texts(setup):
    charset, model, *_ = setup
    rng = np.random.default_rng(5)
    crops = [rng.integers(0, 256, (32, w), dtype=np.uint8) for w in (30, 90, 150)]
    fp32 = RecognitionPredictor(model, charset, precision="fp32").recognize(crops)
    int8 = RecognitionPredictor(model, charset, precision="int8").recognize(crops)
    same = sum(a[0] == b[0] for a, b in zip(fp32, int8))
    assert same >= 2
