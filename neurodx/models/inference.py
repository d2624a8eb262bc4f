"""A copy of a trained network prepared for fast CPU inference.

``predict_proba`` of the estimators runs through :class:`InferenceNetwork`, built
once per call from the trained network (which is left as it is: training,
checkpoints and fine-tuning keep the plain modules):

* **batch norm folded into the convolution before it** (evaluation mode only:
  ``y = gamma * (conv(x) - mean) / sqrt(var + eps) + beta`` is again a
  convolution, :func:`torch.nn.utils.fusion.fuse_conv_bn_eval`), which removes
  one pass over every activation map;
* **channels_last** (NHWC) memory format for the 2-D slice networks, the layout
  oneDNN's CPU convolutions and poolings are fastest in;
* ``torch.inference_mode`` (no autograd records) and frozen parameters;
* optionally **bfloat16** autocast (``dtype="bfloat16"``): about 1.5x faster on
  CPUs with AVX512-BF16, but probabilities change by ~1e-4 (measured in
  ``benchmarks/``), so it is off unless asked and must be validated on the
  trained model it is used with.

Folding and the memory format change the floating-point summation order only:
probabilities stay within 1e-5 of the plain evaluation-mode forward (tested).

The batch size is chosen for the CPU's caches (:func:`inference_batch_size`):
measured on the 2-core benchmark machine, 64 slices of 64x64 (about 3,500
slices/s) beat 256 slices (about 2,300) because one batch's first-layer
activations then stay in the L2 cache; 256x256 CT slices are fastest in batches
of 8 to 4 (``benchmarks/README.md``, benchmark 3). On a heavily shared machine
(load ~18 on the same 2 cores) the order reversed: batches of 256 ran 2.5x faster
than 64, every batch's thread synchronisation waiting for descheduled threads; the
rule follows the machine running alone.
"""
from __future__ import annotations

import copy
import math

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from ..errors import ConfigError

__all__ = ["InferenceNetwork", "fold_batch_norm", "inference_batch_size", "INFERENCE_DTYPES"]

INFERENCE_DTYPES = ("float32", "bfloat16")

#: Input values per inference batch (slices x height x width) that keep a batch's
#: first-layer activations cache-sized: 64 slices of 64x64, 4 of 256x256 (see module docstring).
_BATCH_VALUES = 64 * 64 * 64


def fold_batch_norm(module: nn.Module) -> nn.Module:
    """Fold every ``BatchNorm2d`` that directly follows a ``Conv2d`` in a
    :class:`torch.nn.Sequential` into that convolution, in place (evaluation mode).

    The batch norm is replaced by :class:`torch.nn.Identity`. Returns ``module``.
    """
    for child in module.children():
        fold_batch_norm(child)
    if isinstance(module, nn.Sequential):
        names = list(module._modules)
        for first, second in zip(names, names[1:]):
            conv, bn = module._modules[first], module._modules[second]
            if (isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d)
                    and bn.track_running_stats and bn.running_mean is not None):
                module._modules[first] = fuse_conv_bn_eval(conv.eval(), bn.eval())
                module._modules[second] = nn.Identity()
    return module


def inference_batch_size(input_shape, limit: int) -> int:
    """Items per inference batch for inputs of ``input_shape`` (without the batch axis).

    ``_BATCH_VALUES`` input values per channel plane, at most ``limit`` (the
    estimator's ``eval_batch_size``), at least 1.
    """
    plane = math.prod(int(s) for s in tuple(input_shape)[-2:]) if input_shape else 1
    return int(max(1, min(int(limit), _BATCH_VALUES // max(plane, 1))))


class InferenceNetwork(nn.Module):
    """A frozen, evaluation-mode copy of ``network`` for prediction (module docstring).

    Parameters
    ----------
    network : Network
        A trained neurodx network; it is copied, never modified.
    dtype : {"float32", "bfloat16"}
        Compute precision; ``"bfloat16"`` autocasts convolutions and linear layers
        on the CPU (outputs are returned as float32).
    channels_last : bool, optional
        NHWC memory format; default: for networks whose inputs are image slices
        ``(channels, height, width)``.
    """

    def __init__(self, network: nn.Module, dtype: str = "float32",
                 channels_last: bool | None = None):
        super().__init__()
        if dtype not in INFERENCE_DTYPES:
            raise ConfigError(f"inference_dtype must be one of {', '.join(INFERENCE_DTYPES)}, "
                              f"got {dtype!r}")
        net = fold_batch_norm(copy.deepcopy(network).eval())
        net.requires_grad_(False)
        if channels_last is None:
            channels_last = len(getattr(network, "input_shape", ())) == 3
        if channels_last:
            net = net.to(memory_format=torch.channels_last)
        self.network = net
        self.dtype = dtype
        self.channels_last = bool(channels_last)
        self.uses_position = getattr(network, "uses_position", False)

    def get_config(self) -> dict:
        return self.network.get_config()

    @property
    def input_shape(self):
        return getattr(self.network, "input_shape", None)

    def forward(self, x: torch.Tensor, positions: torch.Tensor | None = None) -> torch.Tensor:
        if self.channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast(x.device.type, dtype=torch.bfloat16,
                            enabled=self.dtype == "bfloat16"):
            return self.network(x, positions).float()
