"""genbench writes only what it owns: a planted symbolic link or a foreign file in a results
folder is refused with exit 2 and left byte for byte as it was."""

from __future__ import annotations

import errno
import hashlib
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from genbench.api.errors import GenbenchError
from genbench.cli import cli
from genbench.results.files import check_out_dir, write_new, write_page
from genbench.results.store import Store
from genbench.run.checkpoints import Checkpoints
from genbench.run.lock import StoreLock


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def victim(tmp_path) -> Path:
    """A file of the user's that a planted link points to."""
    path = tmp_path / "precious.txt"
    path.write_text("the user's own data\n")
    return path


def invoke(*args: str) -> str:
    """The message of the GenbenchError (exit 2 through genbench.cli.main) the command raises."""
    result = CliRunner().invoke(cli, list(args))
    assert isinstance(result.exception, GenbenchError), result.output
    return str(result.exception)


def test_a_planted_lock_link_is_refused_and_its_target_untouched(tmp_path, victim, write_suite):
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.lock").symlink_to(victim)
    before = digest(victim)
    assert "symbolic link" in invoke("run", str(write_suite()), "--out", str(out))
    assert digest(victim) == before and not (out / "results.sqlite").exists()


def test_a_foreign_lock_file_is_refused_and_kept(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    lock = out / "results.lock"
    lock.write_text("my notes, not a lock\n")
    before = digest(lock)
    with pytest.raises(GenbenchError, match="not a genbench lock file"):
        StoreLock(out).hold()
    assert digest(lock) == before


def test_a_lock_file_genbench_wrote_is_taken_again(tmp_path):
    with StoreLock(tmp_path).hold():
        pass
    with StoreLock(tmp_path).hold():  # an earlier run's record is genbench's own
        pass


@pytest.mark.parametrize("name", ["results.sqlite", "results.sqlite-wal", "results.sqlite-shm"])
def test_planted_store_links_are_refused(tmp_path, victim, name):
    (tmp_path / name).symlink_to(victim)
    before = digest(victim)
    with pytest.raises(GenbenchError, match="symbolic link"):
        Store(tmp_path)
    assert digest(victim) == before


def test_an_artifacts_folder_link_is_refused(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / "artifacts").symlink_to(elsewhere)
    with pytest.raises(GenbenchError, match="symbolic link"):
        write_new(out / "artifacts" / "cell" / "samples.png", b"png", root=out)
    assert not any(elsewhere.iterdir())


def test_a_checkpoint_link_is_refused_never_written_through(tmp_path, victim):
    checkpoints = Checkpoints.of_results(tmp_path, "all")
    target = checkpoints.path("abc", 10)
    target.parent.mkdir(parents=True)
    target.symlink_to(victim)
    before = digest(victim)
    with pytest.raises(GenbenchError, match="symbolic link"):
        checkpoints.write("abc", 10, b"weights")
    assert digest(victim) == before


def test_out_as_a_link_or_a_foreign_folder_is_refused(tmp_path, victim):
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "missing")  # dangling: once a misleading "File exists"
    with pytest.raises(GenbenchError, match="symbolic link"):
        check_out_dir(link)
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "thesis.tex").write_text("chapter 1")
    with pytest.raises(GenbenchError, match="--out-exists-ok"):
        check_out_dir(folder)
    assert check_out_dir(folder, allow_foreign=True) == folder
    empty = tmp_path / "empty"
    empty.mkdir()
    assert check_out_dir(empty) == empty


def test_run_refuses_a_foreign_out_folder_unless_told(tmp_path, write_suite):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("chapter 1")
    assert "--out-exists-ok" in invoke("run", str(write_suite()), "--out", str(out), "--dry-run")
    assert sorted(os.listdir(out)) == ["thesis.tex"]


def test_report_output_never_overwrites_a_foreign_file_or_follows_a_link(tmp_path, victim):
    before = digest(victim)
    with pytest.raises(GenbenchError, match="not a report genbench wrote"):
        write_page(victim, "<html></html>")
    link = tmp_path / "report.html"
    link.symlink_to(victim)
    with pytest.raises(GenbenchError, match="symbolic link"):
        write_page(link, "<html></html>")
    assert digest(victim) == before
    page = tmp_path / "page.html"
    write_page(page, '<meta name="generator" content="genbench"> one')
    write_page(page, '<meta name="generator" content="genbench"> two')  # its own page: replaced
    assert page.read_text().endswith("two")


def test_export_output_never_overwrites_a_file_or_follows_a_link(tmp_path, victim, write_suite, invoke_genbench):
    out = tmp_path / "out"
    ran = invoke_genbench("run", str(write_suite()), "--out", str(out), "--set", "train.steps=2",
                          "--set", "eval.every=2", "--set", "suite.seeds=[0]", "--executor", "local")
    assert ran.returncode == 0, ran.stderr
    before = digest(victim)
    refused = invoke_genbench("export", str(out), "-o", str(victim))
    assert refused.returncode == 2 and "--overwrite" in refused.stderr
    link = tmp_path / "results.csv"
    link.symlink_to(victim)
    for flags in ((), ("--overwrite",)):  # not even when told to replace
        refused = invoke_genbench("export", str(out), "-o", str(link), *flags)
        assert refused.returncode == 2 and "symbolic link" in refused.stderr
    assert digest(victim) == before and link.is_symlink()
    mine = tmp_path / "mine.csv"
    assert invoke_genbench("export", str(out), "-o", str(mine)).returncode == 0
    assert invoke_genbench("export", str(out), "-o", str(mine), "--format", "json", "--overwrite").returncode == 0
    assert mine.read_text().startswith("[")


def full_disk(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_a_full_disk_at_start_is_a_clear_exit_2(tmp_path, write_suite, invoke_genbench, monkeypatch):
    out = tmp_path / "out"
    monkeypatch.setattr(os, "write", full_disk)  # the lock's record is the first byte a run writes
    ran = invoke_genbench("run", str(write_suite()), "--out", str(out), "--executor", "local")
    assert ran.returncode == 2, ran.stderr
    assert "the disk is full" in ran.stderr and "Fix: free space" in ran.stderr and "Traceback" not in ran.stderr
    assert not (out / "results.sqlite").exists()
    monkeypatch.undo()
    with StoreLock(out).hold():  # the half-written lock file left behind is still genbench's
        pass
