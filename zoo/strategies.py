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

from contextlib import nullcontext
from typing import Any, Callable, Protocol, runtime_checkable

import torch
from lightning.pytorch.strategies import DDPStrategy, StrategyRegistry
from torch import nn
from torch.nn.parallel import DistributedDataParallel


@runtime_checkable
class WrapsNetworks(Protocol):
    """A module whose networks take one DDP wrapper each (``GANModule`` is one)."""

    #: each step runs only part of a network, so DDP must look for parameters without gradient
    partial_forward: bool

    def wrap_networks(self, wrap: Callable[[nn.Module], nn.Module]) -> None: ...

    def unwrap_networks(self) -> None: ...


class GANDDPStrategy(DDPStrategy):
    """DDP with one ``DistributedDataParallel`` wrapper per network of a ``GANModule``.

    Takes ``DDPStrategy``'s arguments; the keyword arguments it does not know (``find_unused_parameters``,
    ``gradient_as_bucket_view``, ...) go to every ``DistributedDataParallel`` wrapper.
    """

    strategy_name = "gan_ddp"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        known = {"accelerator", "parallel_devices", "cluster_environment", "checkpoint_io", "precision_plugin",
                 "ddp_comm_state", "ddp_comm_hook", "ddp_comm_wrapper", "model_averaging_period",
                 "process_group_backend", "timeout", "start_method"}
        self.wrapper_options = {k: v for k, v in kwargs.items() if k not in known}
        super().__init__(*args, **kwargs)

    def configure_ddp(self) -> None:
        module = self.lightning_module
        if not isinstance(module, WrapsNetworks):
            super().configure_ddp()
            return
        module.wrap_networks(self.wrap_network)

    def wrap_network(self, network: nn.Module) -> DistributedDataParallel:
        """One network in its own ``DistributedDataParallel``; a network that runs only part of itself
        per step (ProGAN: the blocks of the current resolution) leaves parameters without gradient,
        which DDP must then look for (``find_unused_parameters``)."""
        options = dict(self.wrapper_options)
        if self.lightning_module.partial_forward:
            options["find_unused_parameters"] = True
        device_ids = self.determine_ddp_device_ids()
        stream = torch.cuda.stream(torch.cuda.Stream()) if device_ids is not None else nullcontext()
        with stream:
            return DistributedDataParallel(module=network, device_ids=device_ids, **options)

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
