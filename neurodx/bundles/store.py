"""Writing and reading a trained route as a bundle folder.

Layout::

    MODEL_DIR/
      manifest.json          route, study, config, classes, expected input, versions,
                             training record, SHA-256 of every other file, and the
                             SHA-256 of the manifest itself (``manifest_sha256``)
      estimator.skops        the scikit-learn part (skops; absent for a bare CNN route)
      torch/<step>/          each CNN step: manifest.json + model.safetensors
      signature              optional: HMAC-SHA256 of manifest.json under a user key
                             (:mod:`neurodx.bundles.signing`)

Nothing is pickled. A CNN step inside a Pipeline is stored as ``"passthrough"`` in
the skops file and put back on load. Loading checks, before building anything,
the signature when a key is given, that the manifest hashes to its recorded value
and (when asked) has the expected model id, that every file hashes to the
manifest's value and no file was added, and that every type in the skops file is
trusted (:mod:`neurodx.bundles.trust`); any failure is a
:class:`~neurodx.errors.BundleError`. The hashes detect damage and careless edits
only: whoever edits a bundle can recompute them. A signature (or a pinned model
id) is what shows that a bundle is the one that was trained. The bundle is written
in a temporary folder beside ``MODEL_DIR`` and renamed into place, so a reader never
sees half of one.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
import skops.io as sio
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from .._hashing import sha256_file
from .._json import dumps
from .. import __version__
from .._atomic import atomic_write_bytes, atomic_write_text
from ..config import Config
from ..errors import BundleError, ConfigError
from ..study import Route, get_modality, git_commit, make_context, versions
from .expected import expected_input as _expected_input
from .signing import SIGNATURE, signature_bytes, verify_signature
from .trust import check_loaded, check_skops

__all__ = ["Bundle", "save_bundle", "load_bundle", "FORMAT", "FORMAT_VERSION", "MANIFEST",
           "ESTIMATOR_FILE"]

FORMAT = "neurodx-bundle"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
ESTIMATOR_FILE = "estimator.skops"
_TORCH_DIR = "torch"
_BARE = "estimator"          # torch part name of a route that is one CNN estimator


def _fitted_part(route: Route):
    """The part of a route fitted on the training subjects (after its stateless prefix)."""
    est = route.estimator
    return est[route.stateless_steps:] if route.stateless_steps else est


def _is_cnn(obj) -> bool:
    """A CNN voting estimator (checked without importing torch when no CNN was loaded)."""
    module = sys.modules.get("neurodx.models.estimators")
    return module is not None and isinstance(
        obj, (module.SliceVotingClassifier, module.WindowVotingClassifier))



def _bundle_versions() -> dict:
    out = {}
    for pkg in ("skops", "safetensors"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = None
    return out


def _canonical_sha256(body: dict) -> str:
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class Bundle:
    """A loaded bundle: the fitted route and its manifest.

    Attributes
    ----------
    path : Path
        The bundle folder.
    manifest : dict
        ``manifest.json`` as verified.
    route : Route
        The route: the steps after its stateless prefix are fitted; the prefix (if
        any) is applied to each input on its own, as in cross-validation.
    """

    path: Path
    manifest: dict
    route: Route

    @property
    def model_id(self) -> str:
        """First 16 hex digits of the manifest's SHA-256 (which covers every file)."""
        return self.manifest["manifest_sha256"][:16]

    @property
    def classes(self) -> list[str]:
        return list(self.manifest["classes"])

    @property
    def modality(self) -> str:
        return self.manifest["input"]["modality"]

    def context(self):
        """The :class:`~neurodx.study.StudyContext` the route was trained in."""
        inp = self.manifest["input"]
        config = Config(self.manifest["config"], None, self.manifest["config_sha256"])
        return make_context(config, self.classes, inp["modality"], inp.get("channel_names"),
                            inp.get("sfreq"), inp.get("n_regions"),
                            flat_dropped=inp.get("flat_dropped") or [],
                            region_columns=inp.get("region_columns"))

    def predict(self, data) -> dict:
        """Classify one loaded recording.

        Returns
        -------
        dict
            ``predicted`` (class label), ``proba`` (``{class: probability}`` in
            :attr:`classes` order, or None when the classifier has none) and
            ``vote_margin`` (CNN routes: the winning class's vote share, or mean
            probability under soft voting, minus the runner-up's; None otherwise).
        """
        est = _fitted_part(self.route)
        x = [self.route.extract(data)]
        final = est.steps[-1][1] if isinstance(est, Pipeline) else est
        if _is_cnn(final):
            if isinstance(est, Pipeline) and len(est.steps) > 1:
                x = est[:-1].transform(x)
            row = final.vote_details(x).iloc[0]
            fitted = [str(c) for c in final.classes_]
            proba = {c: float(row[f"proba_{c}"]) for c in fitted}
            return {"predicted": str(row["predicted"]),
                    "proba": {c: proba[c] for c in self.classes},
                    "vote_margin": float(row["margin"])}
        predicted = str(np.asarray(est.predict(x))[0])
        proba = None
        if hasattr(est, "predict_proba"):
            p = np.asarray(est.predict_proba(x))[0]
            fitted = [str(c) for c in est.classes_]
            proba = {c: float(p[fitted.index(c)]) for c in self.classes}
        return {"predicted": predicted, "proba": proba, "vote_margin": None}


# ----------------------------------------------------------------------------- saving
def _split_torch(estimator):
    """(sklearn part or None, {part name: CNN estimator}) of a route's estimator."""
    if _is_cnn(estimator):
        return None, {_BARE: estimator}
    if isinstance(estimator, Pipeline):
        steps, torch_parts = [], {}
        for name, step in estimator.steps:
            if _is_cnn(step):
                torch_parts[name] = step
                step = "passthrough"
            steps.append((name, step))
        if torch_parts:
            return Pipeline(steps, memory=estimator.memory), torch_parts
    return estimator, {}


def _check_fitted(route: Route) -> None:
    try:
        check_is_fitted(_fitted_part(route))
    except NotFittedError:
        raise BundleError(f"route {route.name!r} is not fitted: fit the steps after its "
                          "stateless prefix before saving it (see train_route)") from None


def _finish_tree(root: Path) -> None:
    """fsync every file, and give the tree the umask's permissions (temp files are 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    for path in [root, *sorted(root.rglob("*"))]:
        if path.is_file():
            with open(path, "rb") as fh:
                os.fsync(fh.fileno())
        os.chmod(path, (0o777 if path.is_dir() else 0o666) & ~umask)


def _is_bundle(path: Path) -> bool:
    try:
        return json.loads((path / MANIFEST).read_text()).get("format") == FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def _replace_dir(tmp: Path, out: Path) -> None:
    """Rename ``tmp`` to ``out``; an existing bundle (or empty folder) there is replaced."""
    if not out.exists():
        os.replace(tmp, out)
        return
    if not out.is_dir() or (any(out.iterdir()) and not _is_bundle(out)):
        raise BundleError(f"{out}: exists and is not a neurodx bundle; choose another "
                          "output folder")
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    os.replace(out, old)
    os.replace(tmp, out)
    shutil.rmtree(old, ignore_errors=True)


def save_bundle(route: Route, context, config: Config, out_dir: str | Path, *,
                expected_input: dict | None = None, training: dict | None = None,
                extra: dict | None = None, sign_key: bytes | None = None) -> Path:
    """Write a fitted route to ``out_dir`` (see the module docstring for the layout).

    Parameters
    ----------
    route : Route
        The route; the steps after its stateless prefix must be fitted (as
        :func:`~neurodx.bundles.train_route` does).
    context : StudyContext
        Classes, modality, channel names / region count and sampling rate of the
        training data.
    config : Config
        The study's configuration, stored whole in the manifest.
    out_dir : path
        The bundle folder (created; an existing bundle there is replaced).
    expected_input : dict, optional
        What inputs must look like (:func:`neurodx.bundles.expected_input`); by
        default built from ``context`` and ``config``.
    training : dict, optional
        Training record (subject counts, cohort file hashes...).
    extra : dict, optional
        More manifest keys (e.g. ``best_params`` of a tuned route).
    sign_key : bytes, optional
        Sign the bundle with this key (:func:`neurodx.bundles.signing.read_key`):
        writes ``signature``, the HMAC-SHA256 of ``manifest.json``.

    Returns
    -------
    Path
        ``out_dir``.
    """
    _check_fitted(route)
    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    sk_part, torch_parts = _split_torch(route.estimator)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        parts = {"skops": None, "torch": {}}
        if sk_part is not None:
            data = sio.dumps(sk_part)
            # A type the loader would refuse must stop training, not the first scoring.
            check_skops(data, f"route {route.name!r}")
            atomic_write_bytes(tmp / ESTIMATOR_FILE, data)
            parts["skops"] = ESTIMATOR_FILE
        for name, est in torch_parts.items():
            rel = f"{_TORCH_DIR}/{name}"
            est.save(tmp / rel)
            parts["torch"][name] = rel
        files = {p.relative_to(tmp).as_posix(): sha256_file(p)
                 for p in sorted(tmp.rglob("*")) if p.is_file()}
        manifest = {
            "format": FORMAT, "format_version": FORMAT_VERSION,
            "route": {"name": route.name, "description": route.description,
                      "stateless_steps": route.stateless_steps,
                      "estimator": type(route.estimator).__name__,
                      "steps": [n for n, _ in route.estimator.steps]
                      if isinstance(route.estimator, Pipeline) else None},
            "study": context.study, "classes": list(context.classes),
            "input": expected_input or _expected_input(context, config),
            "preprocessing": get_modality(context.modality).preprocessing(config),
            "seed": int(context.seed), "training": training or {},
            "config": config.data, "config_file": str(config.path) if config.path else None,
            "config_sha256": config.sha256,
            "neurodx_version": __version__, "versions": {**versions(), **_bundle_versions()},
            "git_commit": git_commit(),
            "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            **(extra or {}),
            "parts": parts, "files": files,
        }
        # Strict: NaN/Infinity become null; anything else (e.g. an estimator in a config)
        # is recorded by its text.
        body = json.loads(dumps(manifest, default=str))
        body["manifest_sha256"] = _canonical_sha256(body)
        text = json.dumps(body, indent=2) + "\n"
        atomic_write_text(tmp / MANIFEST, text)
        if sign_key is not None:
            atomic_write_bytes(tmp / SIGNATURE, signature_bytes(text.encode(), sign_key))
        _finish_tree(tmp)
        _replace_dir(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


# ----------------------------------------------------------------------------- loading
def _read_manifest(root: Path, key: bytes | None) -> dict:
    path = root / MANIFEST
    if not root.is_dir():
        raise BundleError(f"{root}: bundle folder not found")
    if not path.is_file():
        raise BundleError(f"{root}: no {MANIFEST} (not a neurodx bundle; make one with "
                          "`neurodx train`)")
    # One read: the bytes whose signature is checked are the bytes parsed.
    data = path.read_bytes()
    if key is not None:
        verify_signature(root, data, key)
    try:
        manifest = json.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as err:
        raise BundleError(f"{path}: not valid JSON ({err}); the bundle is damaged") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BundleError(f"{path}: not a neurodx bundle manifest")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BundleError(f"{path}: bundle format version {manifest.get('format_version')!r}, "
                          f"this neurodx reads version {FORMAT_VERSION}")
    recorded = manifest.pop("manifest_sha256", None)
    if recorded != _canonical_sha256(manifest):
        raise BundleError(f"{path}: the manifest was modified after the bundle was written "
                          "(its SHA-256 does not match); refusing a tampered bundle")
    manifest["manifest_sha256"] = recorded
    return manifest


def _check_model_id(root: Path, manifest: dict, expected: str) -> None:
    """Refuse a bundle whose model id (or full manifest SHA-256) is not ``expected``."""
    want = str(expected).strip().lower()
    if len(want) not in (16, 64) or any(c not in "0123456789abcdef" for c in want):
        raise ConfigError(f"--expect-model-id {expected!r}: expected the 16-digit model id "
                          "that `neurodx train` printed (or the 64-digit manifest_sha256)")
    if manifest["manifest_sha256"][:len(want)] != want:
        raise BundleError(f"{root}: model id {manifest['manifest_sha256'][:16]}, expected "
                          f"{want[:16]} (--expect-model-id); refusing another bundle")


def _verify_files(root: Path, files: dict) -> dict[str, bytes]:
    """Check every listed file's hash and that nothing was added; return the skops bytes."""
    present = {p.relative_to(root).as_posix() for p in root.rglob("*")
               if p.is_file() and not p.name.startswith(".")} - {MANIFEST, SIGNATURE}
    added = sorted(present - set(files))
    if added:
        raise BundleError(f"{root}: file(s) not listed in the manifest: {', '.join(added[:5])}; "
                          "refusing a tampered bundle")
    contents = {}
    for rel, expected in sorted(files.items()):
        path = root / rel
        if not path.is_file():
            raise BundleError(f"{root}: {rel} is missing; the bundle is incomplete")
        # The skops bytes are hashed and loaded from the same read (no swap in between).
        if rel == ESTIMATOR_FILE:
            data = path.read_bytes()
            actual = hashlib.sha256(data).hexdigest()
            contents[rel] = data
        else:
            actual = sha256_file(path)
        if actual != expected:
            raise BundleError(f"{root}: {rel} was modified (SHA-256 {actual[:12]}..., the "
                              f"manifest says {expected[:12]}...); refusing a tampered bundle")
    return contents


def load_bundle(path: str | Path, *, key: bytes | None = None,
                expect_model_id: str | None = None) -> Bundle:
    """Verify and load a bundle written by :func:`save_bundle`.

    Parameters
    ----------
    path : path
        The bundle folder.
    key : bytes, optional
        Require a valid signature under this key, checked before any other file
        is read (:func:`neurodx.bundles.signing.read_key` reads one).
    expect_model_id : str, optional
        Require this model id (16 hex digits, as ``neurodx train`` prints it) or
        this full ``manifest_sha256`` (64 hex digits).

    Raises
    ------
    BundleError
        A missing or bad signature (with ``key``), another model id, a missing
        or damaged manifest, a file whose SHA-256 differs from the manifest's, an
        added file, a type outside the trusted list, or a stored setting that
        would touch the file system (:func:`neurodx.bundles.trust.check_loaded`).
    """
    root = Path(path)
    manifest = _read_manifest(root, key)
    if expect_model_id is not None:
        _check_model_id(root, manifest, expect_model_id)
    contents = _verify_files(root, manifest.get("files", {}))
    parts = manifest.get("parts", {})
    estimator = None
    if parts.get("skops"):
        data = contents[parts["skops"]]
        trusted = check_skops(data, root / parts["skops"])
        try:
            estimator = sio.loads(data, trusted=trusted)
        except Exception as err:  # noqa: BLE001 - trusted types, but the state may be crafted
            raise BundleError(f"{root / parts['skops']}: the estimator cannot be rebuilt "
                              f"({type(err).__name__}); the bundle is damaged") from None
        check_loaded(estimator, root / parts["skops"])
    torch_parts = {}
    if parts.get("torch"):
        from ..models.estimators import load_estimator   # torch: imported only when needed

        torch_parts = {name: load_estimator(root / rel) for name, rel in parts["torch"].items()}
    if estimator is None:
        if set(torch_parts) != {_BARE}:
            raise BundleError(f"{root}: the manifest lists no estimator")
        estimator = torch_parts[_BARE]
    elif torch_parts:
        steps = dict(estimator.steps)
        missing = sorted(set(torch_parts) - set(steps))
        if missing:
            raise BundleError(f"{root}: CNN part(s) {missing} have no step in the pipeline")
        estimator.steps = [(n, torch_parts.get(n, s)) for n, s in estimator.steps]
    info = manifest["route"]
    route = Route(info["name"], estimator, int(info["stateless_steps"]),
                  description=info.get("description", ""))
    return Bundle(root, manifest, route)
