"""Model files: find them, verify their sha256 against models/manifest.yaml, fetch them.

Resolution order (search_dirs): explicit path → $INSPIRE_MODEL_DIR → the package's models/
(the checkout's when run from one, else the install's) → <install>/share/inspire_ros/models of
the ament-indexed install (after `colcon build`, found through $AMENT_PREFIX_PATH) →
<shared>/models ($INSPIRE_SHARED). `inspire models fetch` writes into --dir, else the first
writable folder of that order. A file is always hashed before it is loaded: a truncated download or a
swapped model stops start-up instead of silently changing what gets anonymized.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import yaml

from . import paths
from .errors import ModelError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelEntry:
    name: str
    sha256: str
    licence: str
    url: str | None
    source: str
    # Made from another manifest model (fetched first) rather than downloaded: (model, how).
    derived_from: str | None = None


def manifest_path() -> Path:
    return paths.package_models_dir() / "manifest.yaml"


def load_manifest(path: Path | None = None) -> dict[str, ModelEntry]:
    path = path or manifest_path()
    try:
        data = yaml.safe_load(path.read_text()) or {}
        models = data.get("models") or {}
        return {
            name: ModelEntry(
                name=name,
                sha256=str(e["sha256"]).lower(),
                licence=str(e.get("licence", "unknown")),
                url=e.get("url"),
                source=str(e.get("source", "")),
                derived_from=e.get("derived_from"),
            )
            for name, e in models.items()
        }
    except (OSError, ValueError, yaml.YAMLError, AttributeError, KeyError, TypeError) as e:
        raise ModelError(
            f"model manifest {path} cannot be read ({' '.join(str(e).split())}): reinstall the package "
            "or restore models/manifest.yaml"
        ) from e


def search_dirs() -> list[Path]:
    """The folders a bare model name is looked up in, in order (see the module docstring)."""
    dirs = []
    if os.environ.get("INSPIRE_MODEL_DIR"):
        dirs.append(Path(os.environ["INSPIRE_MODEL_DIR"]))
    dirs += [paths.package_models_dir(), paths.install_models_dir(), paths.shared_dir() / "models"]
    unique: list[Path] = []
    for d in dirs:
        if d is not None and all(os.path.realpath(d) != os.path.realpath(u) for u in unique):
            unique.append(d)
    return unique


def _writable(folder: Path) -> bool:
    """The folder exists and is writable, or could be created (its nearest existing parent is)."""
    probe = folder
    while not probe.exists():
        if probe.parent == probe:
            return False
        probe = probe.parent
    return probe.is_dir() and os.access(probe, os.W_OK | os.X_OK)


def fetch_dir() -> Path:
    """Where `inspire models fetch` writes without --dir: the first writable search folder."""
    dirs = search_dirs()
    found = next((d for d in dirs if _writable(d)), None)
    if found is None:
        raise ModelError(
            "no writable model folder among "
            + ", ".join(str(d) for d in dirs)
            + ". To fix: pass --dir DIR (and set INSPIRE_MODEL_DIR=DIR for the node), or set INSPIRE_MODEL_DIR."
        )
    return found


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def resolve(model: str, sha256: str | None = None) -> Path:
    """Return the verified path of `model` (a manifest name or a file path)."""
    manifest = load_manifest()
    candidate = Path(model).expanduser()
    explicit = candidate.is_absolute() or len(candidate.parts) > 1
    looked = [candidate] if explicit else [d / model for d in search_dirs()]
    found = next((p for p in looked if p.is_file()), None)
    entry = manifest.get(candidate.name)
    if found is None:
        if entry and entry.url:
            how = f"run `inspire models fetch {entry.name}` (downloads {entry.url} and checks its sha256)"
        elif entry and entry.derived_from:
            how = f"run `inspire models fetch {entry.name}` (makes it from {entry.derived_from}, checks its sha256)"
        else:
            how = "put the file in one of those places"
        raise ModelError(
            f"model file '{model}' not found; looked in: "
            + ", ".join(str(p) for p in looked)
            + f". To fix: {how}, or set INSPIRE_MODEL_DIR to a folder that holds it."
        )
    expected = (sha256 or (entry.sha256 if entry else "")).lower()
    if not expected:
        log.warning("model %s is not in %s and no sha256 was configured: not verified", found, manifest_path())
        return found
    try:
        actual = sha256_of(found)
    except OSError as e:
        raise ModelError(
            f"cannot read model file {found}: {e.strerror or e}. To fix: give this process read access to it "
            "(check its permissions and owner) or point the config at a readable copy."
        ) from e
    if actual != expected:
        raise ModelError(
            f"model file {found} has sha256 {actual}, expected {expected} "
            f"(from {'the config' if sha256 else manifest_path()}): the file is corrupt or was modified. "
            f"Delete it and fetch a fresh copy (`inspire models fetch {candidate.name}`)."
        )
    return found


def fetch(name: str, dest_dir: Path | None = None) -> Path:
    """Download a manifest model for online users; verified before it is moved into place."""
    entry = load_manifest().get(name)
    if entry is None or not (entry.url or entry.derived_from):
        raise ModelError(f"model '{name}' has no download URL in {manifest_path()}")
    dest_dir = Path(dest_dir) if dest_dir else fetch_dir()
    dest_dir.mkdir(parents=True, exist_ok=True)
    source = None
    if entry.derived_from:
        try:
            source = resolve(entry.derived_from)
        except ModelError:
            source = fetch(entry.derived_from, dest_dir)
    fd, tmp = tempfile.mkstemp(dir=dest_dir, prefix=f".{name}.", suffix=".part")
    os.close(fd)
    try:
        if source is not None:
            Path(tmp).write_bytes(dynamic_hw(source.read_bytes()))
            where = f"derived from {source}"
        else:
            urllib.request.urlretrieve(entry.url, tmp)  # noqa: S310 - pinned https URL from the manifest
            where = f"download from {entry.url}"
        actual = sha256_of(Path(tmp))
        if actual != entry.sha256:
            raise ModelError(f"{name} {where} has sha256 {actual}, expected {entry.sha256}")
        final = dest_dir / name
        os.replace(tmp, final)
        return final
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def dynamic_hw(model: bytes) -> bytes:
    """A YOLOX ONNX graph with a fixed input made to take any H/W: the input's H and W and the
    output's box count become symbolic (H, W, N) and the stale shape annotations go. The graph
    itself is untouched (YOLOX's decode is per grid cell), so the result is byte-identical to
    the shipped `yolox_nano_dynamic.onnx`, which the sha256 check confirms."""
    try:
        import onnx
    except ImportError as e:
        raise ModelError("making a dynamic-input model needs the onnx package: pip install onnx") from e
    m = onnx.load_from_string(model)
    dims_in = m.graph.input[0].type.tensor_type.shape.dim
    dims_out = m.graph.output[0].type.tensor_type.shape.dim
    for dim, name in ((dims_in[2], "H"), (dims_in[3], "W"), (dims_out[1], "N")):
        dim.ClearField("dim_value")
        dim.dim_param = name
    del m.graph.value_info[:]
    return m.SerializeToString()
