"""The up/down word classifier: crops, labels and its training batches."""
import numpy as np
import torch

from models.detection.data import toy_source
from models.detection.flip import FlipClassifier, FlipConfig, flip_batches, flip_loss, word_crop
from models.detection.toy import render_toy_page


def test_word_crop_is_rectified_and_padded_to_the_configured_size():
    image, page = render_toy_page(np.random.default_rng(0), 160, 120, 90)
    cfg = FlipConfig()
    crop = word_crop(image[:, :, 0], page.words[0].quad, cfg)
    assert crop.shape == (cfg.height, cfg.width) and crop.dtype == np.float32
    assert crop.min() < 0 < crop.max() <= 1.0          # ink and paper
    # the crop of a word rotated with its page equals the crop of the upright word (up to resampling)
    up_img, up_page = render_toy_page(np.random.default_rng(0), 160, 120, 0)
    upright = word_crop(up_img[:, :, 0], up_page.words[0].quad, cfg)
    assert np.abs(crop - upright).mean() < 0.1


def test_flip_batches_are_balanced_and_the_classifier_scores_each_crop():
    cfg = FlipConfig(widths=(4, 8))
    batch = next(flip_batches(toy_source((200, 160)), 64, cfg, seed=0))
    assert batch["crop"].shape == (64, 1, cfg.height, cfg.width)
    assert 16 <= float(batch["flipped"].sum()) <= 48
    model = FlipClassifier(cfg)
    assert model(batch["crop"]).shape == (64,)
    loss = flip_loss(model, batch)["flip_bce"]
    assert torch.isfinite(loss) and loss.requires_grad
