"""Bundle signatures: an HMAC-SHA256 of ``manifest.json`` under a key the user holds.

The manifest records the SHA-256 of every other file of a bundle, so a valid
signature over its exact bytes vouches for the whole bundle: it shows the bundle
was written by someone holding the key and not changed since. The SHA-256 values
alone show only that the files agree with the manifest; anyone who edits a
bundle can recompute them.

The key is a file's contents (``--key-file``, ``--sign-key-file``) or the
``NEURODX_BUNDLE_KEY`` environment variable, at least :data:`MIN_KEY_BYTES` bytes
after stripping surrounding whitespace (``openssl rand -hex 32 > bundle.key``
makes one). It is a shared secret: whoever can sign can also verify.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
from pathlib import Path

from ..errors import BundleError, ConfigError

__all__ = ["SIGNATURE", "KEY_ENV", "MIN_KEY_BYTES", "ALGORITHM", "read_key",
           "signature_bytes", "verify_signature"]

#: The signature file in a bundle folder (not listed in the manifest it signs).
SIGNATURE = "signature"
#: Environment variable holding the key when no key file is given.
KEY_ENV = "NEURODX_BUNDLE_KEY"
#: Shortest key accepted: 128 bits.
MIN_KEY_BYTES = 16
ALGORITHM = "hmac-sha256"
_HINT = "make one with: openssl rand -hex 32 > bundle.key"


def read_key(key_file: str | Path | None = None, *, option: str = "--key-file") -> bytes | None:
    """The signing key: ``key_file``'s contents, else ``$NEURODX_BUNDLE_KEY``, else None.

    Parameters
    ----------
    key_file : path, optional
        A file holding the key (surrounding whitespace, e.g. a final newline, is
        not part of it).
    option : str
        The command-line option that gave ``key_file``, named in errors.

    Raises
    ------
    ConfigError
        The file cannot be read, or the key is shorter than :data:`MIN_KEY_BYTES`.
    """
    if key_file is not None:
        source = f"{option} {key_file}"
        try:
            key = Path(key_file).read_bytes().strip()
        except OSError as err:
            raise ConfigError(f"{source}: cannot read the key file "
                              f"({err.strerror or err})") from None
    elif os.environ.get(KEY_ENV):
        source, key = KEY_ENV, os.environ[KEY_ENV].encode().strip()
    else:
        return None
    if len(key) < MIN_KEY_BYTES:
        raise ConfigError(f"{source}: a bundle key must be at least {MIN_KEY_BYTES} bytes "
                          f"({_HINT})")
    return key


def _mac(manifest: bytes, key: bytes) -> str:
    return hmac.new(key, manifest, hashlib.sha256).hexdigest()


def signature_bytes(manifest: bytes, key: bytes) -> bytes:
    """Contents of the :data:`SIGNATURE` file for the exact bytes of ``manifest.json``."""
    body = {"algorithm": ALGORITHM, "signs": "manifest.json", "mac": _mac(manifest, key)}
    return (json.dumps(body, indent=2) + "\n").encode()


def verify_signature(root: Path, manifest: bytes, key: bytes) -> None:
    """Check ``root``'s signature over ``manifest`` (the bytes about to be parsed).

    Raises
    ------
    BundleError
        No signature, an unreadable one, or one that does not match.
    """
    path = Path(root) / SIGNATURE
    if not path.is_file():
        raise BundleError(f"{root}: the bundle is not signed, and a key was given "
                          "(sign it with `neurodx train --sign-key-file`, or score without "
                          "--key-file and without NEURODX_BUNDLE_KEY)")
    try:
        body = json.loads(path.read_bytes())
        algorithm, mac = body["algorithm"], body["mac"]
    except (OSError, ValueError, TypeError, KeyError):
        raise BundleError(f"{path}: not a neurodx signature; refusing the bundle") from None
    if algorithm != ALGORITHM or not isinstance(mac, str):
        raise BundleError(f"{path}: unknown signature algorithm {algorithm!r} "
                          f"(this neurodx checks {ALGORITHM}); refusing the bundle")
    if not hmac.compare_digest(_mac(manifest, key).encode(), mac.encode("utf-8", "replace")):
        raise BundleError(f"{root}: the signature does not match: the bundle was changed "
                          "after signing, or signed with another key; refusing it")
