"""Fixtures for bundle tests: a writable bundle, and a forger who rewrites its hashes."""
import hashlib
import io
import json
import shutil
import zipfile

import pytest
import skops.io as sio

from neurodx.bundles.store import _canonical_sha256


@pytest.fixture
def bundle_copy(eeg_bundle, tmp_path):
    """A writable copy of the session's ``rmt_les`` bundle."""
    dst = tmp_path / "model"
    shutil.copytree(eeg_bundle, dst)
    return dst


def _reseal(root, manifest=None):
    """Recompute every hash, as a forger who rewrote the manifest too would.

    The ``signature`` file (if any) is left as it was: a forger has no key.
    """
    if manifest is None:
        manifest = json.loads((root / "manifest.json").read_text())
    files = [p for p in sorted(root.rglob("*"))
             if p.is_file() and p.name not in ("manifest.json", "signature")]
    manifest["files"] = {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                         for p in files}
    manifest.pop("manifest_sha256", None)
    manifest["manifest_sha256"] = _canonical_sha256(manifest)
    (root / "manifest.json").write_text(json.dumps(manifest))
    return manifest["manifest_sha256"][:16]


@pytest.fixture
def forge():
    """``forge(root, skops_bytes)``: swap a bundle's estimator and reseal; returns the model id."""
    def _forge(root, data: bytes):
        (root / "estimator.skops").write_bytes(data)
        return _reseal(root)
    return _forge


@pytest.fixture
def reseal():
    """``reseal(root)``: recompute a bundle's hashes after an edit; returns the model id."""
    return _reseal


def _craft(module: str, cls: str, args: tuple) -> bytes:
    """A skops file whose root is ``module.cls(*args)``: skops' node for an object whose
    ``__reduce__`` is a plain constructor call, which it rebuilds by calling the class."""
    def schema_of(data):
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            return json.loads(z.read("schema.json"))

    content = schema_of(sio.dumps(tuple(args)))
    protocol = content.pop("protocol")
    content.pop("_skops_version", None)
    schema = {"__class__": cls, "__module__": module, "__loader__": "ConstructorFromReduceNode",
              "content": content, "__id__": 1, "protocol": protocol}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("schema.json", json.dumps(schema))
    return buf.getvalue()


@pytest.fixture
def craft():
    """``craft(module, cls, args)``: the bytes of a crafted skops file (see :func:`_craft`)."""
    return _craft
