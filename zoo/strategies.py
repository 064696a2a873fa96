"""``GANDDPStrategy``: data-parallel training of GANs without unused parameters.

Why a strategy of its own
-------------------------
Lightning's ``DDPStrategy`` wraps the whole LightningModule in one
``DistributedDataParallel``. A GAN updates its networks one at a time: the
discriminator's backward produces no gradient for the generator and vice
versa. DDP's reducer expects a gradient for *every* parameter of the wrapped
module after each backward, so the second iteration fails with "Expected to
have finished reduction in the prior iteration" unless
``find_unused_parameters=True`` is set. That flag makes every backward walk the
autograd graph to find the unused parameters, and all-reduces the idle
network's (zero) gradient buckets as well: for a GAN that roughly doubles the
gradient traffic of each update.

This strategy instead gives each network of a :class:`~zoo.models.base.GANModule`
(its ``networks`` attribute: ``generator``, ``discriminator``, ...) a DDP wrapper
of its own. Inside ``with module.updating(opt):`` only the networks that
``opt`` updates synchronise their gradients; the others run their forward pass
in ``no_sync`` mode with ``requires_grad`` off. Each backward therefore
all-reduces exactly the gradients that the following ``step()`` uses, once,
and ``find_unused_parameters`` stays off. This is the layout of the reference
multi-GPU GAN code bases (one DDP module per network).

Ranks start from identical weights (DDP broadcasts rank 0's parameters and
buffers when wrapping) and stay identical because every update is an
all-reduced gradient step; batch-norm buffers follow rank 0 at each
synchronised forward (``broadcast_buffers=True``, DDP's default).

Use it as ``Trainer(strategy="gan_ddp")``; ``python -m zoo.fit --trainer.strategy
ddp`` selects it for GAN modules automatically.
"""

from __future__ import annotations

from typing import Callable, Protocol, runtime_checkable

from lightning.pytorch.strategies import DDPStrategy, StrategyRegistry
from torch import nn


@runtime_checkable
class WrapsNetworks(Protocol):
    """A module whose networks take one DDP wrapper each (``GANModule`` is one)."""

    def wrap_networks(self, wrap: Callable[[nn.Module], nn.Module]) -> None: ...

    def unwrap_networks(self) -> None: ...


class GANDDPStrategy(DDPStrategy):
    """DDP with one ``DistributedDataParallel`` wrapper per network of a ``GANModule``."""

    strategy_name = "gan_ddp"

    def configure_ddp(self) -> None:
        module = self.lightning_module
        if not isinstance(module, WrapsNetworks):
            super().configure_ddp()
            return
        if getattr(module, "ddp_find_unused_parameters", False):
            # A network that runs only part of itself per step (ProGAN: the blocks of the current
            # resolution) leaves parameters without gradient; DDP must look for them.
            self._ddp_kwargs["find_unused_parameters"] = True
        module.wrap_networks(self._setup_model)

    def teardown(self) -> None:
        module = self.lightning_module
        if isinstance(module, WrapsNetworks):
            module.unwrap_networks()
        super().teardown()


if "gan_ddp" not in StrategyRegistry:
    StrategyRegistry.register(
        "gan_ddp",
        GANDDPStrategy,
        description="DDP with one DistributedDataParallel wrapper per GAN network",
    )
