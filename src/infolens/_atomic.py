"""Safe writes of run outputs: atomic file replacement and one writer per run directory.

:func:`atomic_write` is the one implementation behind reports, summaries, checkpoints and sweeps:
a file is written to a temporary file in the target's folder, flushed and fsynced, then renamed
over the target with :func:`os.replace`, and the folder is fsynced: a reader (or a run resumed
after a crash) sees either the previous file or the complete new one, never a partial write. A
failed write (a full disk, a kill) leaves the previous file in place.

:func:`directory_lock` lets one process at a time write a run directory: an advisory
:func:`fcntl.flock` on ``<dir>/.infolens.lock``, which holds the owner's process id. The kernel
releases the lock when its process exits, however it exits, so the lock of a killed run is never
stale: the next run finds the file unlocked and takes it over.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from infolens._validation import fail

__all__ = ["LOCK_NAME", "atomic_write", "atomic_write_bytes", "directory_lock"]

#: The lock file :func:`directory_lock` keeps in a run directory while a process writes it.
LOCK_NAME = ".infolens.lock"
_HELD: dict[Path, int] = {}  # directory -> nesting depth of the locks this process holds


def atomic_write(path: str | os.PathLike[str], write: Callable[[IO[bytes]], object]) -> Path:
    """Call ``write(handle)`` on a temporary binary file, then move it over ``path`` atomically.

    Parameters
    ----------
    path : path-like
        The target; missing parent folders are created.
    write : callable
        Writes the content to the open binary handle (e.g. ``lambda fh: torch.save(obj, fh)``).

    Returns
    -------
    Path
        The target path. On any exception the temporary file is removed and the target is left
        as it was; an ``OSError`` without a file name (e.g. a full disk) gets the target's.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; give the usual permissions
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException as err:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(err, OSError) and err.filename is None:  # name the file (a full disk at fsync)
            raise OSError(err.errno, err.strerror, str(target)) from err
        raise
    _fsync_dir(target.parent)
    return target


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_write`)."""
    return atomic_write(path, lambda handle: handle.write(data))


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_dir(directory: Path) -> None:
    """Persist the rename itself; not possible on some platforms (Windows), where it is skipped."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def directory_lock(directory: str | os.PathLike[str], *, fn: str = "infolens",
                   name: str = "out") -> Iterator[Path]:
    """Hold the write lock of a run directory (created when missing) for the ``with`` block.

    A second process that asks for the lock of the same directory is refused at once with
    :class:`~infolens._validation.InfoLensError` (naming the owner's process id), instead of
    two runs interleaving their writes. Nested calls in one process are allowed. On platforms
    without :mod:`fcntl` (Windows) the lock is not taken.

    Parameters
    ----------
    directory : path-like
    fn, name : str
        The function and parameter named in the error message (e.g. ``"infolens run"``,
        ``"--out"``).
    """
    root = Path(directory).resolve()
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield root
        return
    if root in _HELD:
        _HELD[root] += 1
        try:
            yield root
        finally:
            _HELD[root] -= 1
        return
    root.mkdir(parents=True, exist_ok=True)
    fd = os.open(root / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise fail(name, fn, "a run directory that no other process is writing (wait for process "
                       f"{owner} to finish, or choose another directory)",
                       got=f"{str(root)!r}, locked by process {owner}") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        _HELD[root] = 1
        try:
            yield root
        finally:
            del _HELD[root]
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # closing the descriptor releases the flock
