"""Files genbench owns: it writes only into a results folder it made or recognises, and only
files it created there, never through a symbolic link.

A results folder is shared, copied and received from others, so anything in it may have been
planted: a `results.lock` that is a symlink to a user's file, an `artifacts` folder that links
elsewhere, a `report.html` that is someone's document. The rules, checked before any byte is
written (each refusal is a GenbenchError: exit 2, the file left exactly as it was):

- `--out` itself must not be a symbolic link (dangling or not), nor a file; an existing folder
  that is not empty must hold a genbench store, unless the user says it may (`allow_foreign`);
- every path genbench writes under it has no symbolic link among its components;
- a file is created with O_EXCL | O_NOFOLLOW (a temporary name, then renamed over the target,
  which replaces a name, never writes through one); a file opened to be rewritten in place
  (the lock) with O_NOFOLLOW, and it must be a regular file.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

from genbench.api.errors import GenbenchError

STORE_NAME = "results.sqlite"
# what genbench itself puts in a results folder: a folder holding only these is one of its own
# (a logger's folder, e.g. TensorBoard's, sits beside the store, which marks the folder already)
OWN_NAMES = {STORE_NAME, f"{STORE_NAME}-wal", f"{STORE_NAME}-shm", "results.lock", "artifacts", "checkpoints",
             "report.html"}


def check_out_dir(directory: str | Path, allow_foreign: bool = False, flag: str = "--out-exists-ok") -> Path:
    """`directory` as a results folder genbench may write into: refused (GenbenchError) when it
    is a symbolic link, not a folder, or a non-empty folder without a genbench store (unless
    `allow_foreign`, which the user grants with `flag`)."""
    path = Path(directory)
    if path.is_symlink():
        target = os.readlink(path)
        raise GenbenchError(f"--out {path} is a symbolic link (to {target}); genbench writes only into a "
                            f"real folder, so a link cannot send results elsewhere. Fix: pass the folder "
                            f"itself (--out {os.path.realpath(path)}) or another name.")
    if path.exists() and not path.is_dir():
        raise GenbenchError(f"--out {path} is a file, not a results folder; fix: pass a folder (a new "
                            f"name is created).")
    foreign = sorted(p.name for p in path.iterdir() if p.name not in OWN_NAMES) if path.is_dir() else []
    if foreign and not allow_foreign and not (path / STORE_NAME).exists():
        raise GenbenchError(f"--out {path} is a folder with other files ({', '.join(foreign[:3])}"
                            f"{', ...' if len(foreign) > 3 else ''}) and no genbench store ({STORE_NAME}); "
                            f"genbench would mix its results with them. Fix: pass a new or empty folder, or "
                            f"add {flag} to write there anyway.")
    return path


def check_inside(root: str | Path, target: str | Path) -> Path:
    """`target` (under `root`) with no symbolic link among the components from root down, the
    target itself included; GenbenchError otherwise."""
    root, target = Path(root), Path(target)
    relative = target.relative_to(root)
    current = root
    for part in relative.parts:
        current = current / part
        if current.is_symlink():
            raise GenbenchError(f"{current} is a symbolic link (to {os.readlink(current)}); genbench "
                                f"writes only files it created, never through a link. Fix: remove the "
                                f"link, or pass another --out.")
    return target


def write_new(target: str | Path, data: bytes, root: str | Path | None = None, sync: bool = False) -> Path:
    """Write `data` as `target`, whole or not at all: into a temporary file created exclusively
    beside it (O_EXCL | O_NOFOLLOW), then renamed over it. With `root`, no component of the path
    below root may be a symbolic link; the target must be a regular file if it exists."""
    target = Path(target)
    if root is not None:
        check_inside(root, target.parent)
        target.parent.mkdir(parents=True, exist_ok=True)
        check_inside(root, target)
    if target.exists() and not stat.S_ISREG(target.lstat().st_mode):
        raise GenbenchError(f"{target} exists and is not a regular file; genbench will not replace it. "
                            f"Fix: move it away.")
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)  # left by a write that failed (a full disk)
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            if sync:
                file.flush()
                os.fsync(file.fileno())
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def open_regular(path: str | Path) -> int:
    """A read-write descriptor of `path`, created if missing (mode 0644), never through a
    symbolic link; GenbenchError if it is a link or not a regular file."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    except OSError:
        if path.is_symlink():
            raise GenbenchError(f"{path} is a symbolic link (to {os.readlink(path)}); genbench writes only "
                                f"files it created, never through a link. Fix: remove the link, or pass "
                                f"another --out.") from None
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise GenbenchError(f"{path} is not a regular file; fix: move it away, or pass another --out.")
    return fd


def check_tree(root: str | Path, own_file: Callable[[str], bool], what: str) -> Path:
    """`root` as a folder genbench fills with files of one kind (`what`, e.g. TensorBoard's event
    files, which `own_file(name)` recognises): refused (GenbenchError) when it, or anything under
    it, is a symbolic link, when it is a file, or when it holds a file of another kind."""
    root = Path(root)
    check_inside(root.parent, root)
    if root.exists() and not root.is_dir():
        raise GenbenchError(f"{root} is a file, not a folder of {what}; fix: move it away.")
    for folder, folders, files in os.walk(root):  # never into a linked folder: each is refused first
        for name in folders + files:
            path = Path(folder) / name
            check_inside(folder, path)
            if name in files and not (own_file(name) and stat.S_ISREG(path.lstat().st_mode)):
                raise GenbenchError(f"{root} holds {path.relative_to(root)}, which is not one of the {what} "
                                    f"genbench writes there; genbench will not mix them or replace it. Fix: "
                                    f"move it away, or write elsewhere.")
    return root


def clear_folder(root: str | Path, folder: str | Path, own_file: Callable[[str], bool], what: str) -> Path:
    """Empty `folder` (under `root`, no symbolic link on the way) of the files genbench wrote
    there before, to write them again; GenbenchError, nothing removed, if it holds anything else."""
    folder = check_inside(root, folder)
    check_tree(folder, own_file, what)
    if folder.is_dir():
        for path in folder.iterdir():
            if path.is_file():
                path.unlink()
    return folder


def write_output(target: str | Path, text: str, replace: bool = False, flag: str = "--overwrite") -> Path:
    """Write what the user asked for with -o as `target`: never through a symbolic link, and
    never over an existing file unless `replace` (which the user grants with `flag`)."""
    target = Path(target)
    if target.is_symlink():
        raise GenbenchError(f"{target} is a symbolic link (to {os.readlink(target)}); genbench will not "
                            f"write through it. Fix: pass another -o, or remove the link.")
    if target.exists() and not replace:
        raise GenbenchError(f"{target} exists; genbench will not overwrite a file it cannot tell is its own. "
                            f"Fix: pass another -o, move the file away, or add {flag} to replace it.")
    return write_new(target, text.encode("utf-8"))


GENERATOR = '<meta name="generator" content="genbench">'  # in every page `genbench report` writes


def write_page(target: str | Path, text: str) -> Path:
    """Write a page genbench renders (the HTML report) as `target`: never through a symbolic
    link, and never over a file that is not an earlier genbench page (GenbenchError)."""
    target = Path(target)
    if target.is_symlink():
        raise GenbenchError(f"{target} is a symbolic link (to {os.readlink(target)}); genbench will not "
                            f"write through it. Fix: pass another -o, or remove the link.")
    if target.is_file():
        with open(target, "rb") as file:
            head = file.read(4096).decode("utf-8", errors="replace")
        if GENERATOR not in head:
            raise GenbenchError(f"{target} exists and is not a report genbench wrote; genbench will not "
                                f"overwrite it. Fix: pass another -o, or move the file away.")
    return write_new(target, text.encode("utf-8"))
