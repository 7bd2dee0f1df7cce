"""One writer per results folder: an exclusive fcntl.flock on <out>/results.lock for a whole run.

The lock file records its holder (host, pid, start time) as JSON so that a refused run can say
who holds it. The OS drops the lock when the holder's process ends, however it ends (kill -9
included), so a lock file left behind never blocks: the next run simply takes it. The file is
never deleted (deleting a flock'ed file lets two processes lock two different files).
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import socket
import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

from genbench.api.errors import GenbenchError
from genbench.results.files import open_regular

LOCK_NAME = "results.lock"


class StoreLock:
    """`with StoreLock(directory).hold(wait=False):` the exclusive right to write there."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self.path = self.directory / LOCK_NAME
        self._file = None

    def hold(self, wait: bool = False, on_wait: Callable[[str], None] | None = None) -> StoreLock:
        """Take the lock; if another process holds it, raise a GenbenchError naming the holder,
        or with `wait`, call on_wait(holder description) once and block until it is free."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            file = os.fdopen(open_regular(self.path), "r+", encoding="utf-8")  # held for the whole run
        except OSError as exc:
            raise cannot_write(self.path, exc) from None
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = self.holder()
            if not wait:
                file.close()
                raise GenbenchError(
                    f"{self.directory} is being written by another genbench run ({holder}); one run "
                    f"writes to a results folder at a time. Fix: wait for it to finish, add --wait to "
                    f"start when it does, or pass another --out.") from None
            if on_wait is not None:
                on_wait(holder)
            fcntl.flock(file, fcntl.LOCK_EX)
        if not is_holder_record(file.read()):
            file.close()
            raise GenbenchError(f"{self.path} exists but is not a genbench lock file (it holds other "
                                f"data), so genbench will not overwrite it. Fix: move it away, or pass "
                                f"another --out.")
        record = json.dumps({"host": socket.gethostname(), "pid": os.getpid(), "since": time.time()}).encode()
        try:
            file.seek(0)
            file.truncate()
            if os.write(file.fileno(), record) < len(record):  # the disk filled up mid-way
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        except OSError as exc:
            with suppress(OSError):
                file.truncate(0)  # an empty record is still genbench's: the next run takes the lock
            file.close()
            raise cannot_write(self.path, exc) from None
        self._file = file
        return self

    def holder(self) -> str:
        """'pid 123 on host h, since 2025-01-01 12:00:00' from the lock file, as far as it says."""
        for _ in range(20):  # the holder writes its details just after taking the lock
            try:
                info = json.loads(self.path.read_text(encoding="utf-8"))
                since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(info["since"])))
                return f"pid {info['pid']} on host {info['host']}, since {since}"
            except (OSError, ValueError, KeyError, TypeError):
                time.sleep(0.05)
        return f"a process that has not written its details to {self.path}"

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing the descriptor drops the flock
            self._file = None

    def __enter__(self) -> StoreLock:
        return self

    def __exit__(self, *exc) -> bool:
        self.release()
        return False


def is_holder_record(text: str) -> bool:
    """Whether `text` is what a lock file holds: empty (a holder that has not written yet), or
    the JSON record of its holder."""
    if not text:
        return True
    try:
        record = json.loads(text)
    except ValueError:
        return False
    return isinstance(record, dict) and set(record) == {"host", "pid", "since"}


def cannot_write(path: Path, exc: OSError) -> GenbenchError:
    """The error for a lock file that cannot be created or written, with the fix for its cause."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return GenbenchError(f"cannot write the lock file {path}: the disk is full ({exc.strerror}); nothing "
                             f"was run. Fix: free space on that disk, or pass an --out on another one.")
    return GenbenchError(f"cannot create the lock file {path}: {exc.strerror}; fix: pass an --out directory "
                         f"you can write to.")
