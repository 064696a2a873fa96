"""Paired image metrics: a prediction against its ground truth (pix2pix-style translation, reconstruction).

Images are ``(N, C, H, W)`` in ``[-1, 1]`` (the zoo's range), so the data
range is 2.0.  Plain torch / torchmetrics functional code; no Lightning.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor
from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

DATA_RANGE = 2.0
"""max - min of the images ([-1, 1])."""

_LPIPS_BACKBONES = {"alex": "AlexNet_Weights", "vgg": "VGG16_Weights", "squeeze": "SqueezeNet1_1_Weights"}
_LPIPS_CACHE: dict[tuple[str, str], torch.nn.Module] = {}

__all__ = ["l1_distance", "lpips", "lpips_backbone_file", "paired_metrics", "psnr", "ssim"]


def _check_pair(prediction: Tensor, target: Tensor) -> None:
    if prediction.ndim != 4 or prediction.shape != target.shape:
        raise ValueError(
            f"prediction and target must be (N, C, H, W) of the same shape, "
            f"got {tuple(prediction.shape)} and {tuple(target.shape)}"
        )


def l1_distance(prediction: Tensor, target: Tensor) -> Tensor:
    """Mean absolute error over every pixel of the batch, in ``[-1, 1]`` units (0 best, 2 worst); a 0-d tensor."""
    _check_pair(prediction, target)
    return (prediction - target).abs().mean()


def psnr(prediction: Tensor, target: Tensor, *, per_image: bool = False) -> Tensor:
    """Peak signal-to-noise ratio in dB, data range 2.0: ``10 log10(2^2 / MSE)``.

    ``per_image=False``: of the MSE pooled over all pixels of the batch (a 0-d tensor);
    ``per_image=True``: one value per image, shape (N,) (average them for a per-image mean).
    """
    _check_pair(prediction, target)
    if per_image:
        return peak_signal_noise_ratio(prediction, target, data_range=DATA_RANGE, reduction="none", dim=(1, 2, 3))
    return peak_signal_noise_ratio(prediction, target, data_range=DATA_RANGE)


def ssim(prediction: Tensor, target: Tensor, *, per_image: bool = False) -> Tensor:
    """Structural similarity (torchmetrics, Gaussian 11x11 window, data range 2.0), computed in float32.

    The mean over the batch (a 0-d tensor), or one value per image, shape (N,), with ``per_image``.
    """
    _check_pair(prediction, target)
    reduction = "none" if per_image else "elementwise_mean"
    return structural_similarity_index_measure(
        prediction.float(), target.float(), data_range=DATA_RANGE, reduction=reduction
    )


@torch.inference_mode()
def paired_metrics(prediction: Tensor, target: Tensor) -> dict[str, float]:
    """Pixel-level agreement of ``prediction`` with ``target``.

    Returns:
        ``l1``: mean absolute error in ``[-1, 1]`` units (0 best, 2 worst).
        ``psnr``: peak signal-to-noise ratio in dB with data range 2.0,
            ``10 log10(2^2 / MSE)`` of the MSE pooled over all pixels of the
            batch (higher is better; ``inf`` when the images are identical;
            about 6 dB for images in ``[-1, 1]`` with a mean squared error of 1).
        ``ssim``: mean structural similarity (torchmetrics, Gaussian 11x11
            window, data range 2.0); 1 best (identical), 0 no structural
            agreement, can go down to -1.
    """
    _check_pair(prediction, target)
    prediction, target = prediction.float(), target.float()
    return {
        "l1": l1_distance(prediction, target).item(),
        "psnr": psnr(prediction, target).item(),
        "ssim": ssim(prediction, target).item(),
    }


def lpips_backbone_file(net: str = "alex") -> Path:
    """Where torchvision keeps the ImageNet weights LPIPS needs for ``net``: ``<torch hub dir>/checkpoints/<file>``."""
    import torchvision.models

    if net not in _LPIPS_BACKBONES:
        raise ValueError(f"net must be one of {', '.join(_LPIPS_BACKBONES)}, got {net!r}")
    url = getattr(torchvision.models, _LPIPS_BACKBONES[net]).DEFAULT.url
    return Path(torch.hub.get_dir()) / "checkpoints" / url.rsplit("/", 1)[-1]


def _missing_weights_error(net: str, cause: BaseException | None = None) -> RuntimeError:
    import torchvision.models

    path = lpips_backbone_file(net)
    url = getattr(torchvision.models, _LPIPS_BACKBONES[net]).DEFAULT.url
    message = (
        f"LPIPS (net={net!r}) needs the torchvision ImageNet backbone weights, downloaded once: "
        f"{path} is missing (torch hub cache directory {path.parent}; set TORCH_HOME to move it). "
        f"Download {url} into that directory on a machine with internet access "
        f"(e.g. `python -c \"import torchvision; torchvision.models.{_LPIPS_BACKBONES[net]}.DEFAULT.get_state_dict()\"`). "
        "The LPIPS linear layers themselves ship with torchmetrics."
    )
    if cause is not None:
        message += f" Loading failed with {type(cause).__name__}: {cause}"
    return RuntimeError(message)


def lpips(prediction: Tensor, target: Tensor, net: str = "alex") -> float:
    """LPIPS perceptual distance (Zhang et al. 2018) via torchmetrics, mean over the batch.

    0 is best (perceptually identical); larger is more different (typically
    below 1).  Images in ``[-1, 1]`` (clamped to it), 1-channel images are
    repeated to 3 channels.  The metric module is built once per net and device.

    LPIPS needs the torchvision ImageNet weights of its backbone (``alex``:
    AlexNet, 233 MB; ``vgg``: VGG-16; ``squeeze``: SqueezeNet 1.1) in the torch
    hub cache (:func:`lpips_backbone_file`).  torchvision would download them on
    first use; offline, that fails (``URLError``), so this function checks for
    the file first and raises a ``RuntimeError`` naming the file, the cache
    directory and the URL, without trying to download.
    """
    _check_pair(prediction, target)
    if net not in _LPIPS_BACKBONES:
        raise ValueError(f"net must be one of {', '.join(_LPIPS_BACKBONES)}, got {net!r}")
    if prediction.shape[1] == 1:
        prediction, target = prediction.repeat(1, 3, 1, 1), target.repeat(1, 3, 1, 1)
    elif prediction.shape[1] != 3:
        raise ValueError(f"LPIPS needs 1 or 3 channels, got {prediction.shape[1]}")
    key = (net, str(prediction.device))
    metric = _LPIPS_CACHE.get(key)
    if metric is None:
        if not lpips_backbone_file(net).is_file():
            raise _missing_weights_error(net)
        from torchmetrics.image.lpip import LearnedPerceptualImagePatchSimilarity

        try:
            metric = LearnedPerceptualImagePatchSimilarity(net_type=net, reduction="mean", normalize=False)
        except OSError as err:  # URLError is an OSError: a download was attempted and failed
            raise _missing_weights_error(net, err) from err
        metric = metric.to(prediction.device).eval()
        _LPIPS_CACHE[key] = metric
    with torch.inference_mode():
        value = metric(prediction.float().clamp(-1, 1), target.float().clamp(-1, 1))
    metric.reset()
    return value.item()
