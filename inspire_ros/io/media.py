"""Media inputs and atomic outputs for the CLI.

Outputs are written to a hidden temporary sibling and renamed into place only when
complete: an interrupted or failed run never leaves a file that looks finished.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

IMAGE_EXTS = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}
VIDEO_FOURCC = {".mp4": "mp4v", ".m4v": "mp4v", ".avi": "MJPG", ".mov": "mp4v", ".mkv": "mp4v"}


class MediaError(RuntimeError):
    """An input cannot be read or an output cannot be written."""


def kind_of(path: Path) -> str:
    if path.is_dir():
        return "folder"
    ext = path.suffix.lower()
    if ext in IMAGE_EXTS:
        return "image"
    if ext in VIDEO_FOURCC:
        return "video"
    raise MediaError(
        f"unsupported input {path}: expected an image ({', '.join(sorted(IMAGE_EXTS))}), "
        f"a folder of images, or a video ({', '.join(sorted(VIDEO_FOURCC))})"
    )


def read_image(path: Path) -> np.ndarray:
    if not path.is_file():
        raise MediaError(f"input {path} does not exist")
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise MediaError(f"cannot read {path}: not a readable image file (corrupt or wrong extension)")
    return image


def folder_images(path: Path) -> list[Path]:
    files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTS)
    if not files:
        raise MediaError(f"folder {path} holds no images ({', '.join(sorted(IMAGE_EXTS))})")
    return files


@dataclass
class VideoInfo:
    fps: float
    width: int
    height: int
    frames: int  # container's count; may be approximate


class VideoReader:
    def __init__(self, path: Path):
        if not path.is_file():
            raise MediaError(f"input {path} does not exist")
        self.cap = cv2.VideoCapture(str(path))
        ok, first = self.cap.read() if self.cap.isOpened() else (False, None)
        if not ok or first is None:
            self.cap.release()
            raise MediaError(f"cannot decode video {path}: unsupported codec or corrupt file")
        self._first: np.ndarray | None = first
        fps = self.cap.get(cv2.CAP_PROP_FPS)
        self.info = VideoInfo(
            fps=fps if fps and fps > 0 else 30.0,
            width=first.shape[1],
            height=first.shape[0],
            frames=int(self.cap.get(cv2.CAP_PROP_FRAME_COUNT)),
        )

    def __iter__(self) -> Iterator[np.ndarray]:
        if self._first is not None:
            first, self._first = self._first, None
            yield first
        while True:
            ok, frame = self.cap.read()
            if not ok:
                return
            yield frame

    def close(self) -> None:
        self.cap.release()


class AtomicPath:
    """A temporary sibling of `final` that becomes `final` on commit() and vanishes otherwise."""

    def __init__(self, final: Path, directory: bool = False):
        self.final = final
        final.parent.mkdir(parents=True, exist_ok=True)
        prefix = f".{final.stem}.inspire-tmp-"
        if directory:
            self.tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=final.parent))
        else:
            fd, name = tempfile.mkstemp(prefix=prefix, suffix=final.suffix, dir=final.parent)
            os.close(fd)
            self.tmp = Path(name)
        # mkstemp/mkdtemp create private files; the result should get the usual permissions.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(self.tmp, (0o777 if directory else 0o666) & ~umask)

    def commit(self) -> None:
        if self.final.is_dir() and not self.final.is_symlink():
            shutil.rmtree(self.final)
        os.replace(self.tmp, self.final)

    def discard(self) -> None:
        if self.tmp.is_dir():
            shutil.rmtree(self.tmp, ignore_errors=True)
        elif self.tmp.exists():
            self.tmp.unlink()


def write_image(path: Path, image: np.ndarray) -> None:
    ok, data = cv2.imencode(path.suffix.lower() if path.suffix.lower() in IMAGE_EXTS else ".png", image)
    if not ok:
        raise MediaError(f"cannot encode image for {path}")
    path.write_bytes(data.tobytes())


class VideoWriter:
    def __init__(self, path: Path, info: VideoInfo):
        fourcc = VIDEO_FOURCC.get(path.suffix.lower())
        if fourcc is None:
            raise MediaError(f"unsupported output video type {path.suffix}: use {', '.join(sorted(VIDEO_FOURCC))}")
        self.writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), info.fps, (info.width, info.height))
        if not self.writer.isOpened():
            raise MediaError(f"cannot open video writer for {path} ({fourcc})")

    def write(self, frame: np.ndarray) -> None:
        self.writer.write(frame)

    def close(self) -> None:
        self.writer.release()
