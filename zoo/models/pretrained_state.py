"""What a pretrained weights file holds, and loading it back strictly (a mixin of ``GANModule``).

A weights file (``zoo/pretrained/<model>.<name>.pt``, :mod:`zoo.weights`) holds the tensors of
the parts a model declares in :attr:`PretrainedState.pretrained_parts`: the generator (saved from
the EMA generator when the model keeps one, loaded into both), and whatever else the model needs
to sample (ProGAN's clock ``images_seen``, SGAN's classifier).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor, nn

from zoo.weights import check_state_dict


class PretrainedState:
    """``pretrained_state_dict`` / ``load_pretrained_state`` over :attr:`pretrained_parts`."""

    #: what a pretrained weights file holds (attribute names: networks or buffers). ``"generator"``
    #: is saved from ``sampling_generator`` (the EMA weights when kept) and loaded into both.
    pretrained_parts: tuple[str, ...] = ("generator",)

    def _pretrained_source(self, part: str) -> nn.Module | Tensor:
        return self.sampling_generator if part == "generator" else getattr(self, part)

    def pretrained_state_dict(self, dtype: torch.dtype | None = torch.float16) -> dict[str, Tensor]:
        """The tensors a pretrained weights file holds: :attr:`pretrained_parts`, on the CPU.

        Keys are ``"<part>.<key>"`` (``"generator.net.0.weight"``; a buffer part is its own key).
        Floating-point tensors are cast to ``dtype`` (float16 halves the packaged files; the
        weights' metrics are measured on what the file holds); ``None`` keeps their dtype.
        """
        state: dict[str, Tensor] = {}
        for part in self.pretrained_parts:
            source = self._pretrained_source(part)
            items = source.state_dict().items() if isinstance(source, nn.Module) else [("", source)]
            for key, value in items:
                value = value.detach().cpu()
                if dtype is not None and value.is_floating_point():
                    value = value.to(dtype)
                state[f"{part}.{key}" if key else part] = value
        return state

    def load_pretrained_state(self, state: Mapping[str, Tensor], what: str = "the weights") -> None:
        """Load :meth:`pretrained_state_dict`'s tensors (any float dtype) strictly.

        Every key of :attr:`pretrained_parts` must be there with its shape, and nothing else
        (:class:`zoo.weights.StateDictMismatchError` lists the offending keys). The generator's
        weights go into ``generator`` and, when the model keeps one, ``generator_ema``.
        """
        expected = self.pretrained_state_dict(dtype=None)
        check_state_dict(state, expected, f"{what} do not fit {type(self).__name__} "
                         "(check the constructor arguments: image shape, widths, classes)")
        for part in self.pretrained_parts:
            targets = [self.generator] if part == "generator" else [self._pretrained_source(part)]
            if part == "generator" and self.hparams.get("ema_decay") is not None:
                targets.append(self.generator_ema)
            for target in targets:
                if isinstance(target, nn.Module):
                    prefix = part + "."
                    own = target.state_dict()
                    target.load_state_dict(
                        {k[len(prefix):]: v.to(own[k[len(prefix):]].dtype) for k, v in state.items()
                         if k.startswith(prefix)}, strict=True)
                else:
                    target.copy_(state[part])
