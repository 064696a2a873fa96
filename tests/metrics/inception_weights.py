"""A weights file with the Inception architecture and random parameters, for offline tests.

PyTorch's default initialisation makes this deep network's 2048-d features
vanish (about 1e-8), so every FID would be ~0 and prove nothing; Kaiming-normal
convolutions keep the features alive.
"""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import torch
from torch import nn


def write_random_inception_weights(path: Path, seed: int = 0) -> Path:
    import torch_fidelity.feature_extractor_inceptionv3 as fe

    torch.manual_seed(seed)
    with mock.patch.object(fe.FeatureExtractorInceptionV3, "load_state_dict", lambda self, state: None), \
            mock.patch.object(fe, "load_state_dict_from_url", lambda *a, **k: {}):
        net = fe.FeatureExtractorInceptionV3("inception-v3-compat", ["2048", "logits_unbiased"])
    for module in net.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
        elif isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=0.05)
            nn.init.zeros_(module.bias)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(net.state_dict(), path)
    return path
