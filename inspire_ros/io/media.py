"""Media inputs and atomic outputs for the CLI.

Outputs are written to a hidden temporary sibling and renamed into place only when
complete: an interrupted or failed run never leaves a file that looks finished. A writer
holds an flock on its temporary while it works, so a later run to the same output can tell
the temporaries of dead runs (kill -9, power loss) from those of a run still going, and
removes the former.

Decoding is checked, not trusted: OpenCV returns what libjpeg or FFmpeg could conceal of a
damaged file and reports the damage only on the process's stderr. Those reports are caught
here and make the frame a failed one.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import secrets
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..errors import MediaError
from .encodings import EncodingError, compressed_size, jpeg_check

IMAGE_EXTS = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}
VIDEO_FOURCC = {".mp4": "mp4v", ".m4v": "mp4v", ".avi": "MJPG", ".mov": "mp4v", ".mkv": "mp4v"}
TMP_MARK = ".inspire-tmp-"


class CorruptImage(MediaError):
    """A damaged image (truncated, a decoder's warning); `size` (height, width) when known."""

    def __init__(self, message: str, size: tuple[int, int] | None = None):
        super().__init__(message)
        self.size = size

    def blank(self) -> np.ndarray | None:
        return np.zeros((*self.size, 3), np.uint8) if self.size and all(self.size) else None


def kind_of(path: Path, role: str = "input") -> str:
    if path.is_dir():
        return "folder"
    ext = path.suffix.lower()
    if ext in IMAGE_EXTS:
        return "image"
    if ext in VIDEO_FOURCC:
        return "video"
    raise MediaError(
        f"unsupported {role} {path}: expected an image ({', '.join(sorted(IMAGE_EXTS))}), "
        f"a folder of images, or a video ({', '.join(sorted(VIDEO_FOURCC))})"
    )


def shown_path(filename: object) -> str:
    """A path for a message: a hidden temporary of ours is named by its folder (the user's choice)."""
    name = str(filename) if filename else ""
    if ".inspire-tmp" in Path(name).name:
        return f"folder {Path(name).parent}"
    return name


def os_error_message(e: OSError, what: str) -> str:
    """One line for an OSError met while reading or writing `what`: the problem and the fix."""
    name = shown_path(e.filename)
    where = f" ({name})" if name and name not in what else ""
    problem = e.strerror or str(e)
    if e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        fix = "check the permissions of the file and its folder, or choose another location"
    elif e.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        fix = "free space (or raise the quota/file size limit) or write somewhere else"
    elif e.errno in (errno.ENOTDIR, errno.EEXIST):
        fix = "a part of the path is a file where a folder is needed; fix the path"
    elif e.errno == errno.ENOENT:
        fix = "check the path"
    else:
        fix = "check the path and the device"
    return f"{what}: {problem}{where}; {fix}"


# ---------------------------------------------------------------------------------------
# Decoder reports


class _StderrTrap:
    """Collects what native code (libjpeg, libpng, FFmpeg, OpenCV's log) writes to file
    descriptor 2 while in use: OpenCV tells about concealed damage only there."""

    _lock = threading.RLock()  # fd 2 is per process

    def __init__(self):
        try:
            self._file = tempfile.TemporaryFile(buffering=0)
        except OSError:
            self._file = None
        self._saved: int | None = None

    def __enter__(self) -> _StderrTrap:
        self._lock.acquire()
        if self._file is not None:
            try:
                sys.stderr.flush()
                self._saved = os.dup(2)
                os.dup2(self._file.fileno(), 2)
            except (OSError, ValueError, AttributeError):
                if self._saved is not None:
                    os.close(self._saved)
                self._saved = None
        return self

    def __exit__(self, *exc) -> None:
        try:
            if self._saved is not None:
                os.dup2(self._saved, 2)
                os.close(self._saved)
                self._saved = None
        finally:
            self._lock.release()

    def take(self) -> str | None:
        """What was written since the last take, on one line (None: nothing)."""
        if self._file is None:
            return None
        fd = self._file.fileno()
        size = os.fstat(fd).st_size
        if not size:
            return None
        os.lseek(fd, 0, os.SEEK_SET)
        text = os.read(fd, min(size, 8192)).decode(errors="replace")
        os.lseek(fd, 0, os.SEEK_SET)
        os.ftruncate(fd, 0)
        lines = list(dict.fromkeys(re.sub(r" @ 0x[0-9a-f]+", "", ln).strip() for ln in text.splitlines()))
        lines = [ln for ln in lines if ln]
        return "; ".join(lines[:3]) + ("; ..." if len(lines) > 3 else "") if lines else None

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def read_image(path: Path, max_pixels: int | None = None) -> np.ndarray:
    """The image, or MediaError: unreadable or not an image, or (judged from its JPEG/PNG header,
    before decoding) larger than `max_pixels`; CorruptImage: damaged (a truncated JPEG, a
    decoder's warning), with its size when the header gives it."""
    if not path.is_file():
        raise MediaError(f"input {path} does not exist")
    try:
        data = path.read_bytes()
    except OSError as e:
        raise MediaError(os_error_message(e, f"cannot read input {path}")) from e
    jpeg = data[:2] == b"\xff\xd8"
    complete, size = jpeg_check(data) if jpeg else (True, None)
    if max_pixels is not None and (jpeg or data[:8] == b"\x89PNG\r\n\x1a\n"):
        if not jpeg:
            try:
                size = compressed_size("png", data)
            except EncodingError:
                size = None  # no readable header: the decoder below says what is wrong
        h, w = size or (0, 0)
        if h * w > max_pixels:
            raise MediaError(
                f"{path} is {w}x{h} = {w * h} pixels, more than max_frame_pixels ({max_pixels}): refused before "
                "decoding; raise max_frame_pixels in the config if frames this large are expected"
            )
    trap = _StderrTrap()
    try:
        with trap:
            image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) if data else None
        report = trap.take()
    finally:
        trap.close()
    fix = "re-copy or re-export the file"
    if jpeg:
        if not complete:
            why = report or "its data ends before the JPEG end marker"
            raise CorruptImage(f"{path} is a truncated or damaged JPEG ({why}); {fix}", size)
    if image is None:
        why = f" ({report})" if report else ""
        raise MediaError(f"cannot read {path}: not a readable image file (corrupt or wrong extension){why}")
    if report:
        raise CorruptImage(f"{path} is damaged: the decoder reported {report}; {fix}", image.shape[:2])
    return image


def folder_images(path: Path) -> list[Path]:
    try:
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTS)
    except OSError as e:
        raise MediaError(os_error_message(e, f"cannot list input folder {path}")) from e
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
    """Frames of a video with the decoder's complaints about each. One decoding thread, so
    that a complaint belongs to the frame being read (frame threads report ahead)."""

    def __init__(self, path: Path):
        if not path.is_file():
            raise MediaError(f"input {path} does not exist")
        if not os.access(path, os.R_OK):
            raise MediaError(f"cannot read input {path}: permission denied; check its permissions")
        self.path = path
        self._trap = _StderrTrap()
        threads = getattr(cv2, "CAP_PROP_N_THREADS", None)
        with self._trap:
            self.cap = cv2.VideoCapture(str(path), cv2.CAP_ANY, [threads, 1] if threads is not None else [])
            if not self.cap.isOpened():
                self.cap = cv2.VideoCapture(str(path))
        self.open_report = self._trap.take()  # probing reads ahead: not any one frame's
        with self._trap:
            ok, first = self.cap.read() if self.cap.isOpened() else (False, None)
        self._first_report = self._trap.take()
        if not ok or first is None:
            self.close()
            why = f" ({self._first_report or self.open_report})" if self._first_report or self.open_report else ""
            raise MediaError(f"cannot decode video {path}: unsupported codec or corrupt file{why}")
        self._first: np.ndarray | None = first
        self.frames_read = 0
        self.end_report: str | None = None  # what the decoder said when the frames stopped
        fps = self.cap.get(cv2.CAP_PROP_FPS)
        self.info = VideoInfo(
            fps=fps if fps and fps > 0 else 30.0,
            width=first.shape[1],
            height=first.shape[0],
            frames=max(0, int(self.cap.get(cv2.CAP_PROP_FRAME_COUNT))),
        )

    def frames(self) -> Iterator[tuple[np.ndarray, str | None]]:
        """(frame, the decoder's report on it or None). A frame with a report was concealed
        or partly decoded: treat it as failed."""
        if self._first is not None:
            first, self._first = self._first, None
            self.frames_read = 1
            yield first, self._first_report
        while True:
            with self._trap:
                ok, frame = self.cap.read()
            report = self._trap.take()
            if not ok or frame is None:
                self.end_report = report
                return
            self.frames_read += 1
            yield frame, report

    def __iter__(self) -> Iterator[np.ndarray]:
        for frame, _ in self.frames():
            yield frame

    def close(self) -> None:
        self.cap.release()
        self._trap.close()


def video_frame_count(path: Path) -> int:
    """Frames a written video's container says it holds (0: it cannot be opened)."""
    trap = _StderrTrap()
    try:
        with trap:
            cap = cv2.VideoCapture(str(path))
            count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) if cap.isOpened() else 0
            cap.release()
        trap.take()
    finally:
        trap.close()
    return max(0, count)


# ---------------------------------------------------------------------------------------
# Atomic outputs


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, another user's
        return True
    return True


# A writer may be between creating its temporary and locking it; older than this and
# unlocked, a temporary is stale even if its pid now belongs to some other process.
_LOCK_GRACE_S = 30.0


def _writer_gone(path: Path, pid: int) -> bool:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False  # its writer holds it
        age = time.time() - os.fstat(fd).st_mtime
        return not _pid_alive(pid) or age > _LOCK_GRACE_S
    finally:
        os.close(fd)  # releases the probe's lock


def stale_temps(final: Path) -> list[Path]:
    """Temporaries of `final` whose writer is gone (killed, crashed)."""
    prefix = f".{final.name}{TMP_MARK}"
    pattern = re.compile(rf"{re.escape(prefix)}(\d+)-[a-z0-9_]+(?:{re.escape(final.suffix)})?")
    try:
        entries = list(os.scandir(final.parent))
    except OSError:
        return []
    stale = []
    for entry in entries:
        m = pattern.fullmatch(entry.name)
        if m is None or entry.is_symlink():
            continue
        if _writer_gone(Path(entry.path), int(m.group(1))):
            stale.append(Path(entry.path))
    return stale


def remove_stale_temps(final: Path) -> list[Path]:
    removed = []
    for path in stale_temps(final):
        try:
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
            removed.append(path)
        except FileNotFoundError:
            pass  # another run removed it first
        except OSError:
            pass  # not ours to fix here; the new run does not need it gone
    return removed


class AtomicPath:
    """A temporary sibling of `final` that becomes `final` on commit() and vanishes otherwise.

    The temporary is `.NAME.inspire-tmp-PID-XXXXXXXX[.ext]`, locked (flock) while this object
    lives; creating one first removes the unlocked temporaries of `final` that dead runs left
    (listed in `removed`). Every OSError becomes a one-line MediaError. `into`: a list this
    object joins before it creates anything, so that whoever discards that list's entries on
    the way out (Ctrl-C, SIGTERM) also removes a temporary whose constructor was interrupted."""

    def __init__(self, final: Path, directory: bool = False, into: list | None = None):
        self.final = final
        self.removed: list[Path] = []
        self._fd: int | None = None
        self.tmp: Path | None = None
        if into is not None:
            into.append(self)
        try:
            if final.parent.exists() and not final.parent.is_dir():
                raise MediaError(f"cannot write output {final}: {final.parent} is a file, not a folder; fix the path")
            final.parent.mkdir(parents=True, exist_ok=True)
            self.removed = remove_stale_temps(final)
            for _ in range(100):
                # Named before it exists: discard() removes it whenever an interrupt comes.
                self.tmp = final.parent / f".{final.name}{TMP_MARK}{os.getpid()}-{secrets.token_hex(4)}{final.suffix}"
                try:
                    if directory:  # the usual permissions: the umask applies
                        os.mkdir(self.tmp, 0o777)
                        self._fd = os.open(self.tmp, os.O_RDONLY | os.O_DIRECTORY)
                    else:
                        self._fd = os.open(self.tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666)
                    break
                except FileExistsError:
                    continue
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            self.discard()
            raise MediaError(os_error_message(e, f"cannot write output {final}")) from e
        except BaseException:
            self.discard()
            raise

    def commit(self) -> None:
        aside = None
        try:
            if self.tmp.is_dir() and self.final.is_dir() and not self.final.is_symlink():
                # Replace a folder without a moment where neither the old nor the new one exists.
                aside = Path(tempfile.mkdtemp(prefix=f".{self.final.name}.inspire-old-", dir=self.final.parent))
                os.replace(self.final, aside / "old")
            os.replace(self.tmp, self.final)
        except OSError as e:
            if aside is not None and (aside / "old").exists() and not self.final.exists():
                os.replace(aside / "old", self.final)
            raise MediaError(os_error_message(e, f"cannot write output {self.final}")) from e
        finally:
            if aside is not None:
                shutil.rmtree(aside, ignore_errors=True)
        self._unlock()

    def discard(self) -> None:
        try:
            if self.tmp is not None and not self.tmp.is_symlink():
                if self.tmp.is_dir():
                    shutil.rmtree(self.tmp, ignore_errors=True)
                elif self.tmp.exists():
                    self.tmp.unlink()
        except OSError:
            pass
        finally:
            self._unlock()

    def _unlock(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def write_image(path: Path, image: np.ndarray, shown: Path | None = None) -> None:
    """Encode by `path`'s extension and write; `shown` is the name errors give (the final output
    rather than its temporary)."""
    ok, data = cv2.imencode(path.suffix.lower() if path.suffix.lower() in IMAGE_EXTS else ".png", image)
    if not ok:
        raise MediaError(f"cannot encode image for {shown or path}")
    try:
        path.write_bytes(data.tobytes())
    except OSError as e:
        raise MediaError(os_error_message(e, f"cannot write output {shown or path}")) from e


class VideoWriter:
    """cv2.VideoWriter with its failures made visible: OpenCV's writer returns nothing and
    only logs (a full disk, a file size limit), so its log is watched on every write and the
    container is read back on check()."""

    def __init__(self, path: Path, info: VideoInfo, shown: Path | None = None):
        fourcc = VIDEO_FOURCC.get(path.suffix.lower())
        if fourcc is None:
            raise MediaError(f"unsupported output video type {path.suffix}: use {', '.join(sorted(VIDEO_FOURCC))}")
        self.path, self.shown = path, shown or path
        self.written = 0
        self._trap = _StderrTrap()
        with self._trap:  # codec tag fallbacks and the like: nothing to act on
            self.writer = cv2.VideoWriter(
                str(path), cv2.VideoWriter_fourcc(*fourcc), info.fps, (info.width, info.height)
            )
        self.open_report = self._trap.take()
        if not self.writer.isOpened():
            self._trap.close()
            why = f" ({self.open_report})" if self.open_report else ""
            raise MediaError(f"cannot open a video writer for {self.shown} ({fourcc}){why}")

    def write(self, frame: np.ndarray) -> None:
        with self._trap:
            self.writer.write(frame)
        report = self._trap.take()
        if report and "fail" in report.lower():
            raise MediaError(
                f"cannot write output {self.shown}: {report}; the disk may be full or the file too large for "
                "its file system; free space or write somewhere else"
            )
        self.written += 1

    def close(self) -> None:
        with self._trap:
            self.writer.release()
        self._trap.take()
        self._trap.close()

    def check(self) -> None:
        """After close(): the container must hold every frame written."""
        got = video_frame_count(self.path)
        if got != self.written:
            raise MediaError(
                f"cannot write output {self.shown}: the video came out incomplete ({got} of {self.written} frames "
                "readable); the disk may be full or the file too large for its file system; free space or "
                "write somewhere else"
            )
