"""Where bundled files and the shared data live.

The shared folder (real data, third-party models) is never copied into the repo; it is
found through INSPIRE_SHARED, defaulting to ``../shared`` beside the checkout.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
SOURCE_ROOT = PACKAGE_DIR.parent  # the checkout when installed editable / run from source


def share_dir() -> Path:
    """Package data root: the checkout, or <prefix>/share/inspire_ros in a ROS install."""
    if (SOURCE_ROOT / "config" / "default.yaml").is_file():
        return SOURCE_ROOT
    try:
        from ament_index_python.packages import get_package_share_directory

        return Path(get_package_share_directory("inspire_ros"))
    except Exception:  # noqa: BLE001 - no ament index: fall back to the source layout
        return SOURCE_ROOT


def config_dir() -> Path:
    return share_dir() / "config"


def default_config_path() -> Path:
    return config_dir() / "default.yaml"


def package_models_dir() -> Path:
    return share_dir() / "models"


def shared_dir() -> Path:
    env = os.environ.get("INSPIRE_SHARED")
    return Path(env) if env else SOURCE_ROOT.parent / "shared"
