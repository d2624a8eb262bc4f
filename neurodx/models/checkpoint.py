"""Saving and loading networks and training state as safetensors + JSON.

Nothing here pickles: weights, optimizer moments and step counters are tensors in
a ``.safetensors`` file; everything else (epoch, history, configuration, class
names, subjects used) is JSON. Two layouts:

**Model directory** (:func:`save_network` / :func:`load_network`)::

    model_dir/
      manifest.json        {"format": "neurodx-model", "format_version": 1,
                            "network": "SliceCNN", "network_config": {...},
                            "weights": "model.safetensors", "weights_sha256": "...",
                            ... extra keys of the caller (estimator params, classes, ...)}
      model.safetensors    the network's state_dict (parameters and buffers)

**Training checkpoint** (:func:`save_checkpoint` / :func:`read_checkpoint`): one
``.safetensors`` file whose tensors are prefixed ``model.`` (current weights),
``best.`` (best weights so far) and ``optim.`` (optimizer state), with the JSON
metadata (epoch, history, early-stopping state, subjects, configuration
fingerprint) in the safetensors header under the key ``"neurodx"``. It is written
to a temporary file and renamed, so an interruption never leaves a torn checkpoint.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save
from torch import nn

from .._atomic import atomic_write_bytes, atomic_write_text
from .._hashing import sha256_file
from .._json import dumps, jsonable
from ..errors import ConfigError, NeurodxError
from .eeg_window_cnn import EEGWindowCNN
from .peers import BraindecodeNetwork, PlainCNN, ResNet18
from .shared_slice_cnn import SharedSliceCNN
from .slice_cnn import SliceCNN
from .slice_ensemble import PerPositionSliceEnsemble

__all__ = ["NETWORKS", "MANIFEST", "WEIGHTS", "FORMAT", "FORMAT_VERSION", "build_network",
           "save_network", "load_network", "read_manifest", "save_checkpoint",
           "read_checkpoint", "optimizer_to_tensors", "optimizer_from_tensors",
           "state_to_tensors", "load_pretrained"]

#: Networks that can be rebuilt from a manifest, by class name.
NETWORKS: dict[str, type[nn.Module]] = {
    cls.__name__: cls
    for cls in (SliceCNN, PerPositionSliceEnsemble, SharedSliceCNN, EEGWindowCNN, ResNet18,
                PlainCNN, BraindecodeNetwork)
}
MANIFEST = "manifest.json"
WEIGHTS = "model.safetensors"
FORMAT = "neurodx-model"
FORMAT_VERSION = 1
_META_KEY = "neurodx"


def build_network(name: str, config: Mapping) -> nn.Module:
    """Instantiate network class ``name`` with its :meth:`get_config` keywords."""
    if name not in NETWORKS:
        raise ConfigError(f"unknown network {name!r} (known: {', '.join(NETWORKS)})")
    try:
        return NETWORKS[name](**config)
    except TypeError as err:
        raise ConfigError(f"bad configuration for {name}: {err}") from None


def state_to_tensors(state: Mapping[str, torch.Tensor], prefix: str = "") -> dict:
    """Contiguous CPU copies of a ``state_dict``, keys prefixed, ready for safetensors."""
    return {prefix + k: v.detach().to("cpu", copy=True).contiguous() for k, v in state.items()}



def _atomic_save(tensors: dict, path: Path, metadata: dict | None = None) -> None:
    # Through _atomic (fsync, then rename): a crash mid-write leaves the previous checkpoint.
    atomic_write_bytes(path, save(tensors, metadata=metadata))


def save_network(directory: str | Path, network: nn.Module, **extra) -> Path:
    """Write ``network`` to ``directory`` (``manifest.json`` + ``model.safetensors``).

    ``extra`` keys (JSON-able) are stored in the manifest, e.g. the estimator's
    parameters, class names and input conventions.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    if not hasattr(network, "get_config"):
        raise ConfigError(f"{type(network).__name__} is not a neurodx network (no get_config)")
    weights = directory / WEIGHTS
    _atomic_save(state_to_tensors(network.state_dict()), weights)
    manifest = {"format": FORMAT, "format_version": FORMAT_VERSION,
                "network": type(network).__name__, "network_config": network.get_config(),
                "weights": WEIGHTS, "weights_sha256": sha256_file(weights),
                "torch_version": torch.__version__, **extra}
    atomic_write_text(directory / MANIFEST, dumps(manifest, indent=2, sort_keys=False))
    return directory




def read_manifest(directory: str | Path) -> dict:
    """The manifest of a model directory, checked for format and version."""
    directory = Path(directory)
    path = directory / MANIFEST
    if not path.is_file():
        raise NeurodxError(f"{directory}: not a neurodx model directory (no {MANIFEST})")
    try:
        manifest = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise NeurodxError(f"{path}: invalid JSON ({err})") from None
    if manifest.get("format") != FORMAT:
        raise NeurodxError(f"{path}: format is {manifest.get('format')!r}, expected {FORMAT!r}")
    if manifest.get("format_version", 0) > FORMAT_VERSION:
        raise NeurodxError(f"{path}: format version {manifest['format_version']} is newer than "
                           f"this neurodx reads ({FORMAT_VERSION}); upgrade neurodx")
    return manifest


def load_network(directory: str | Path, verify: bool = True) -> tuple[nn.Module, dict]:
    """Rebuild the network of a model directory and load its weights (eval mode).

    Returns the network and the manifest. ``verify`` checks the weights' SHA-256.
    """
    directory = Path(directory)
    manifest = read_manifest(directory)
    weights = directory / manifest.get("weights", WEIGHTS)
    if not weights.is_file():
        raise NeurodxError(f"{directory}: weights file {weights.name} is missing")
    if verify and manifest.get("weights_sha256") not in (None, sha256_file(weights)):
        raise NeurodxError(f"{weights}: checksum differs from the manifest (file changed "
                           "or corrupted)")
    network = build_network(manifest["network"], manifest["network_config"])
    network.load_state_dict(load_file(str(weights)), strict=True)
    network.eval()
    return network, manifest


def optimizer_to_tensors(optimizer: torch.optim.Optimizer, prefix: str = "optim."
                         ) -> tuple[dict, dict]:
    """Split an optimizer ``state_dict`` into tensors and JSON-able metadata."""
    state = optimizer.state_dict()
    tensors, scalars = {}, {}
    for idx, param_state in state["state"].items():
        for key, value in param_state.items():
            if torch.is_tensor(value):
                tensors[f"{prefix}{idx}.{key}"] = value.detach().to("cpu", copy=True).contiguous()
            else:
                scalars.setdefault(str(idx), {})[key] = value
    groups = jsonable(state["param_groups"])
    return tensors, {"param_groups": groups, "scalars": scalars}


def optimizer_from_tensors(optimizer: torch.optim.Optimizer, tensors: Mapping, meta: Mapping,
                           prefix: str = "optim.") -> None:
    """Restore what :func:`optimizer_to_tensors` saved into ``optimizer``."""
    state: dict[int, dict] = {}
    for name, value in tensors.items():
        if name.startswith(prefix):
            idx, key = name[len(prefix):].split(".", 1)
            state.setdefault(int(idx), {})[key] = value
    for idx, values in meta.get("scalars", {}).items():
        state.setdefault(int(idx), {}).update(values)
    template = optimizer.state_dict()["param_groups"]
    groups = []
    for saved, current in zip(meta["param_groups"], template):
        group = dict(saved)
        for key, value in current.items():       # JSON turned tuples (betas) into lists
            if isinstance(value, tuple) and isinstance(group.get(key), list):
                group[key] = tuple(group[key])
        groups.append(group)
    if len(groups) != len(template):
        raise NeurodxError("checkpoint optimizer has a different number of parameter groups")
    optimizer.load_state_dict({"state": state, "param_groups": groups})


def save_checkpoint(path: str | Path, tensors: dict, metadata: Mapping) -> Path:
    """Atomically write a training checkpoint (tensors + JSON metadata in the header)."""
    path = Path(path)
    _atomic_save(tensors, path, {_META_KEY: dumps(metadata)})
    return path


def read_checkpoint(path: str | Path) -> tuple[dict, dict]:
    """Tensors and JSON metadata of a training checkpoint written by :func:`save_checkpoint`."""
    path = Path(path)
    if not path.is_file():
        raise NeurodxError(f"{path}: checkpoint not found")
    try:
        with safe_open(str(path), framework="pt") as fh:
            header = fh.metadata() or {}
        tensors = load_file(str(path))
    except Exception as err:  # noqa: BLE001 - any read failure means an unusable file
        raise NeurodxError(f"{path}: unreadable checkpoint ({type(err).__name__}: {err})"
                           ) from None
    if _META_KEY not in header:
        raise NeurodxError(f"{path}: not a neurodx training checkpoint (no metadata)")
    return tensors, json.loads(header[_META_KEY])


def _pretrained_state(source: str | Path) -> tuple[dict, str]:
    source = Path(source)
    if source.is_dir():
        manifest = read_manifest(source)
        weights = source / manifest.get("weights", WEIGHTS)
        return load_file(str(weights)), f"model directory {source}"
    if source.is_file() and source.name.endswith(".safetensors"):
        tensors = load_file(str(source))
        for prefix in ("best.", "model."):       # a training checkpoint: prefer best weights
            picked = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
            if picked:
                return picked, f"checkpoint {source} ({prefix.rstrip('.')} weights)"
        return tensors, f"weights file {source}"
    raise ConfigError(f"init_from: {source} is neither a neurodx model directory nor a "
                      ".safetensors file")


def load_pretrained(network: nn.Module, source: str | Path) -> dict:
    """Copy the weights of ``source`` into ``network`` for fine-tuning.

    ``source`` is a model directory, a training checkpoint or a ``.safetensors``
    state dict. Every tensor of the feature extractor must match by name and shape;
    classifier tensors whose shape differs (another number of classes) keep their
    fresh initialisation.

    Returns
    -------
    report : dict
        ``{"loaded": [...], "reinitialised": [...], "source": str}``
    """
    state, label = _pretrained_state(source)
    own = network.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    if missing or unexpected:
        raise ConfigError(f"init_from {label}: the saved network does not match this one "
                          f"(missing {missing[:5]}, unexpected {unexpected[:5]}); use the same "
                          "network type and architecture parameters")
    feature_keys = _feature_keys(network)
    loaded, reinitialised, wrong = [], [], []
    new_state = {}
    for key, value in own.items():
        saved = state[key]
        if tuple(saved.shape) == tuple(value.shape):
            new_state[key] = saved.to(value.dtype)
            loaded.append(key)
        elif key in feature_keys:
            wrong.append(f"{key} {tuple(saved.shape)} vs {tuple(value.shape)}")
        else:
            new_state[key] = value
            reinitialised.append(key)
    if wrong:
        raise ConfigError(f"init_from {label}: convolutional layers differ in shape: "
                          f"{'; '.join(wrong[:5])}")
    network.load_state_dict(new_state, strict=True)
    return {"loaded": loaded, "reinitialised": reinitialised, "source": label}


def _feature_keys(network: nn.Module) -> set[str]:
    """State-dict keys that belong to the network's feature extractors."""
    ids = {id(t) for module in network.feature_extractors()
           for t in list(module.parameters()) + list(module.buffers())}
    keys = set()
    for name, tensor in list(network.named_parameters()) + list(network.named_buffers()):
        if id(tensor) in ids:
            keys.add(name)
    return keys
