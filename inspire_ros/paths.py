"""Where bundled files and the shared data live.

The shared folder (real data, third-party models) is never copied into the repo; it is
found through INSPIRE_SHARED, defaulting to ``../shared`` beside the checkout.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
SOURCE_ROOT = PACKAGE_DIR.parent  # the checkout when installed editable / run from source


def running_from_checkout() -> bool:
    return (SOURCE_ROOT / "config" / "default.yaml").is_file()


def install_share_dir() -> Path | None:
    """<prefix>/share/inspire_ros of a colcon/ROS install found through the ament index
    ($AMENT_PREFIX_PATH), or None."""
    try:
        from ament_index_python.packages import get_package_share_directory

        return Path(get_package_share_directory("inspire_ros"))
    except Exception:  # noqa: BLE001 - no ament index or not installed there
        return None


def share_dir() -> Path:
    """Package data root: the checkout, or <prefix>/share/inspire_ros in a ROS install."""
    if running_from_checkout():
        return SOURCE_ROOT
    return install_share_dir() or SOURCE_ROOT


def config_dir() -> Path:
    return share_dir() / "config"


def default_config_path() -> Path:
    return config_dir() / "default.yaml"


def package_models_dir() -> Path:
    """models/ of the checkout or of the install this code runs from (holds manifest.yaml)."""
    return share_dir() / "models"


def install_models_dir() -> Path | None:
    """share/inspire_ros/models of the ament-indexed install (colcon build), or None."""
    share = install_share_dir()
    return share / "models" if share else None


def shared_dir() -> Path:
    env = os.environ.get("INSPIRE_SHARED")
    return Path(env) if env else SOURCE_ROOT.parent / "shared"


def pets09_video(shared: Path | None = None) -> Path:
    """PETS09 S2L1 `vtest.avi` (768x576, 795 frames) in the shared folder: the default video of
    the benchmarks and the tests, and the PETS09 evaluation's video."""
    return (shared or shared_dir()) / "data" / "pets09_s2l1" / "vtest.avi"
