"""braindecode's EEG networks behind neurodx's :class:`~neurodx.models._base.Network` contract.

The architecture is braindecode's own class (``braindecode.models``), built with the
window's channels and samples; neurodx only adapts the calling convention
(``forward(x, positions)``, ``get_config()``), so neurodx's training engine, inner
validation, voting, vote calibration and checkpoints apply unchanged. Logits come
out (``add_log_softmax=False`` where braindecode has that switch; the loss applies
the softmax).

* ``ShallowFBCSPNet``, ``Deep4Net``: Schirrmeister et al. (2017), Human Brain Mapping
  38(11):5391-5420, https://doi.org/10.1002/hbm.23730;
* ``EEGNet``: Lawhern et al. (2018), J. Neural Eng. 15(5):056013,
  https://doi.org/10.1088/1741-2552/aace8c (braindecode < 1.0 names it ``EEGNetv4``).

braindecode is an optional extra. Its releases from 1.0 import ``torchaudio`` at
import time, and the only ``torchaudio`` wheels on PyPI for recent torch versions are
CUDA builds that fail to load next to a CPU-only torch; braindecode 0.8 has the three
networks without that dependency, hence the extra's pin.
"""
from __future__ import annotations

import inspect

import torch
from torch import nn

from ...errors import ConfigError
from .._base import Network

__all__ = ["BraindecodeNetwork", "BRAINDECODE_MODELS", "braindecode_available",
           "MISSING_BRAINDECODE"]

#: Networks offered as peers (config ``model:``) -> class names tried in braindecode.
BRAINDECODE_MODELS = {"ShallowFBCSPNet": ("ShallowFBCSPNet",), "Deep4Net": ("Deep4Net",),
                      "EEGNet": ("EEGNet", "EEGNetv4")}
MISSING_BRAINDECODE = ("the braindecode extra is not installed or does not import "
                       "(pip install 'neurodx[braindecode]')")


def _import_models():
    try:
        import braindecode.models as models
    except Exception as err:   # ImportError, or a broken torchaudio raising OSError
        raise ConfigError(f"{MISSING_BRAINDECODE}: {type(err).__name__}: {err}") from None
    return models


def braindecode_available() -> bool:
    """Whether ``braindecode.models`` imports in this environment."""
    try:
        _import_models()
    except ConfigError:
        return False
    return True


def _model_class(model: str):
    if model not in BRAINDECODE_MODELS:
        raise ConfigError(f"model: expected one of {', '.join(BRAINDECODE_MODELS)}, "
                          f"got {model!r}")
    models = _import_models()
    for name in BRAINDECODE_MODELS[model]:
        if hasattr(models, name):
            return getattr(models, name)
    raise ConfigError(f"model: this braindecode has none of "
                      f"{', '.join(BRAINDECODE_MODELS[model])}")


class BraindecodeNetwork(Network):
    """One braindecode network on ``(n_channels, n_samples)`` windows (module docstring).

    Parameters
    ----------
    n_classes, n_channels, n_samples : int
    model : {"ShallowFBCSPNet", "Deep4Net", "EEGNet"}
    model_params : dict, optional
        Keyword arguments of the braindecode class (e.g. ``drop_prob``); its
        defaults otherwise.
    """

    def __init__(self, n_classes: int, n_channels: int, n_samples: int,
                 model: str = "ShallowFBCSPNet", model_params: dict | None = None):
        super().__init__()
        cls = _model_class(model)
        accepted = inspect.signature(cls).parameters
        kwargs = dict(n_chans=int(n_channels), n_outputs=int(n_classes), n_times=int(n_samples))
        if "final_conv_length" in accepted:
            kwargs["final_conv_length"] = "auto"   # the dense layer spans what is left
        if "add_log_softmax" in accepted:
            kwargs["add_log_softmax"] = False
        unknown = sorted(set(model_params or {}) - set(accepted))
        if unknown:
            raise ConfigError(f"model_params: {', '.join(unknown)} not accepted by braindecode's "
                              f"{cls.__name__}")
        kwargs.update(model_params or {})
        try:
            self.model = cls(**kwargs)
            with torch.no_grad():         # fail here, not in the first batch
                self.model.eval()(torch.zeros(2, n_channels, n_samples))
        except (ValueError, RuntimeError, AssertionError) as err:
            raise ConfigError(f"braindecode's {cls.__name__} does not accept windows of "
                              f"{n_samples} samples x {n_channels} channels ({err}); use "
                              "longer windows (routes.<name>.window)") from None
        self.model.train()
        self._config = dict(n_classes=int(n_classes), n_channels=int(n_channels),
                            n_samples=int(n_samples), model=model,
                            model_params=dict(model_params or {}))
        self.input_shape = (int(n_channels), int(n_samples))

    def feature_extractors(self) -> list[nn.Module]:
        # Every layer but the classifier (braindecode names it final_layer).
        return [m for name, m in self.model.named_children() if name != "final_layer"]

    def forward(self, x: torch.Tensor, positions: torch.Tensor | None = None) -> torch.Tensor:
        self._check_input(x, self.input_shape)
        out = self.model(x)
        return out.reshape(out.shape[0], -1)
