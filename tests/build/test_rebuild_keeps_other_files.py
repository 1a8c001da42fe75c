"""A rebuild replaces what prefdata wrote into OUT and keeps everything else the user put there.

OUT is often a clone of a Hub dataset repository (its card is the build's README.md), so it holds a
``.git`` folder; a model may have been trained into ``OUT/sft``. Deleting those with the old pairs
would lose work no build can redo.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import prefdata
from prefdata.build import output, previous_out
from prefdata.cli import cli
from tests.conftest import FIXTURES

HH = FIXTURES / "raw" / "transcript" / "hh.jsonl"


def _user_files(out: Path) -> None:
    (out / ".git" / "objects").mkdir(parents=True)
    (out / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (out / ".gitattributes").write_text("*.parquet filter=lfs\n")
    (out / "sft").mkdir()
    (out / "sft" / "model.safetensors").write_bytes(b"weights")
    (out / "notes.txt").write_text("why this dataset")


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_rebuild_keeps_what_the_user_put_in_out_and_replaces_what_prefdata_wrote(tmp_path: Path) -> None:
    out = tmp_path / "out"
    prefdata.build(HH, out)
    _user_files(out)
    prefdata.check(out)
    prefdata.report(out)
    assert {"checks.json", "report.html"} <= {p.name for p in out.iterdir()}
    (out / "data" / "stale-extra.parquet").write_bytes(b"not from this build")
    said: list[str] = []

    prefdata.build(HH, out, test_fraction=0.5, log=said.append)

    names = {p.name for p in out.iterdir()}
    assert {".git", ".gitattributes", "sft", "notes.txt"} <= names
    assert (out / ".git" / "HEAD").read_text() == "ref: refs/heads/main\n"
    assert (out / "sft" / "model.safetensors").read_bytes() == b"weights"
    # check and report described the old pairs: they go with them, as does anything inside data/
    assert not names & {"checks.json", "report.html", "report.md"}
    assert not (out / "data" / "stale-extra.parquet").exists()
    assert json.loads((out / "manifest.json").read_text())["config"]["split"]["test_fraction"] == 0.5
    assert "kept from the previous OUT (not written by builds): .git, .gitattributes, notes.txt, sft" in said
    assert not list(tmp_path.glob(".out.prefdata-tmp-*"))


def test_the_cli_says_what_it_kept(tmp_path: Path) -> None:
    out = tmp_path / "out"
    prefdata.build(HH, out)
    (out / "notes.txt").write_text("mine")
    result = CliRunner().invoke(cli, ["build", str(HH), str(out)])
    assert result.exit_code == 0, result.output
    assert "kept from the previous OUT (not written by builds): notes.txt" in result.output
    assert (out / "notes.txt").read_text() == "mine"


def test_a_rebuild_from_out_itself_keeps_the_user_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = prefdata.build(HH, out)
    _user_files(out)
    again = prefdata.build(out, out)
    assert again.counts["pairs_written"] == first.counts["pairs_written"]
    assert (out / "sft" / "model.safetensors").read_bytes() == b"weights"


def test_a_build_killed_right_after_its_swap_loses_nothing(tmp_path: Path) -> None:
    """The previous OUT sits in the dead build's temp folder; the next build moves the user's files out."""
    out = tmp_path / "out"
    prefdata.build(HH, out)
    previous = tmp_path / f".out{output.TMP_MARK}{_dead_pid()}-0a1b2c3d"
    os.rename(out, previous)
    prefdata.build(HH, out)  # stands in for the killed build's swapped-in dataset
    _user_files(previous)

    prefdata.build(HH, out)

    assert (out / "sft" / "model.safetensors").read_bytes() == b"weights"
    assert (out / ".git" / "HEAD").exists() and (out / "notes.txt").exists()
    assert not previous.exists()


def test_an_unfinished_build_leaves_nothing_behind_in_out(tmp_path: Path) -> None:
    out = tmp_path / "out"
    prefdata.build(HH, out)
    unfinished = tmp_path / f".out{output.TMP_MARK}{_dead_pid()}-0a1b2c3d"
    (unfinished / previous_out.SPILL_DIR / "pairs").mkdir(parents=True)
    (unfinished / "data").mkdir()
    (unfinished / "data" / "train-00000-of-00001.parquet").write_bytes(b"half written")
    before = sorted(p.name for p in out.iterdir())

    prefdata.build(HH, out)

    assert sorted(p.name for p in out.iterdir()) == before
    assert not unfinished.exists()


def test_a_build_killed_between_the_two_renames_of_a_plain_swap_gets_its_out_back(tmp_path: Path) -> None:
    """Without RENAME_EXCHANGE the swap renames OUT away, then the new folder in: OUT is briefly absent."""
    out = tmp_path / "out"
    prefdata.build(HH, out)
    _user_files(out)
    previous = tmp_path / f".out{output.TMP_MARK}{_dead_pid()}{output.OLD_SUFFIX}"
    os.rename(out, previous)

    prefdata.build(HH, out)

    assert (out / "sft" / "model.safetensors").read_bytes() == b"weights"
    assert not previous.exists()


def test_the_two_rename_swap_keeps_the_user_files_too(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    prefdata.build(HH, out)
    _user_files(out)
    monkeypatch.setattr(output, "_exchange", lambda a, b: False)
    prefdata.build(HH, out)
    assert (out / "sft" / "model.safetensors").read_bytes() == b"weights"
    assert not list(tmp_path.glob(".out.prefdata-tmp-*"))


def test_an_entry_that_cannot_be_moved_keeps_the_previous_out_whole_beside_it(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A mount point (EBUSY) or another disk (EXDEV) failed the move, and the cleanup then deleted the
    rest of the previous OUT with the user's files in it."""
    import errno

    out = tmp_path / "out"
    prefdata.build(HH, out)
    _user_files(out)
    real_rename = os.rename

    def busy(src, dst):  # type: ignore[no-untyped-def]
        if Path(src).name == "sft":
            raise OSError(errno.EBUSY, "Device or resource busy")
        return real_rename(src, dst)

    monkeypatch.setattr(os, "rename", busy)
    said: list[str] = []
    result = prefdata.build(HH, out, log=said.append)
    [kept] = list(tmp_path.glob("out.previous-*"))
    assert (kept / "sft" / "model.safetensors").read_bytes() == b"weights"
    assert not (kept / "data").exists() and not (kept / "manifest.json").exists()  # what builds own is not kept
    assert (out / ".git" / "HEAD").exists() and (out / "notes.txt").exists()  # the others were moved
    warning = f"warning: could not move into the new OUT: sft (Device or resource busy); the previous OUT is kept at {kept}"
    assert warning in said and warning in result.warnings
    assert not list(tmp_path.glob(".out.prefdata-tmp-*"))


def test_an_interrupt_after_the_swap_leaves_the_previous_out_for_the_next_build(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Ctrl-C while the user's files were being moved: the build's cleanup deleted what was not moved yet."""
    from prefdata.build import output as output_module

    out = tmp_path / "out"
    prefdata.build(HH, out)
    _user_files(out)

    def interrupted(previous, new):  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt

    monkeypatch.setattr(output_module, "settle_previous", interrupted)
    with pytest.raises(KeyboardInterrupt):
        prefdata.build(HH, out)
    [previous] = list(tmp_path.glob(".out.prefdata-tmp-*"))
    assert (previous / "sft" / "model.safetensors").read_bytes() == b"weights"
    monkeypatch.undo()
    dead = tmp_path / f".out{output.TMP_MARK}{_dead_pid()}-0a1b2c3d"
    os.rename(previous, dead)  # its process is gone
    prefdata.build(HH, out)
    assert (out / "sft" / "model.safetensors").read_bytes() == b"weights" and not dead.exists()


def test_a_name_the_new_out_holds_already_is_kept_not_deleted(tmp_path: Path) -> None:
    """A build killed after its swap, the user trains into OUT/sft again: the next build deleted the first sft."""
    out = tmp_path / "out"
    prefdata.build(HH, out)
    previous = tmp_path / f".out{output.TMP_MARK}{_dead_pid()}-0a1b2c3d"
    os.rename(out, previous)
    _user_files(previous)
    prefdata.build(HH, out)
    (out / "sft").mkdir()
    (out / "sft" / "model.safetensors").write_bytes(b"second run")
    prefdata.build(HH, out)
    assert (out / "sft" / "model.safetensors").read_bytes() == b"second run"
    [kept] = list(tmp_path.glob("out.previous-*"))
    assert (kept / "sft" / "model.safetensors").read_bytes() == b"weights"


def test_an_out_named_like_a_glob_settles_only_its_own_temp_folders(tmp_path: Path) -> None:
    """``.ds[1].prefdata-tmp-*`` as a pattern matched ds1's folders (and deleted its kept files)."""
    prefdata.build(HH, tmp_path / "ds1")
    previous = tmp_path / f".ds1{output.TMP_MARK}{_dead_pid()}-0a1b2c3d"
    os.rename(tmp_path / "ds1", previous)
    (previous / "notes.txt").write_text("ds1's")
    prefdata.build(HH, tmp_path / "ds[1]")
    assert (previous / "notes.txt").read_text() == "ds1's" and not (tmp_path / "ds[1]" / "notes.txt").exists()
    own = tmp_path / f".ds[1]{output.TMP_MARK}{_dead_pid()}-0a1b2c3d"
    own.mkdir()
    (own / "mine.txt").write_text("ds[1]'s")
    prefdata.build(HH, tmp_path / "ds[1]")
    assert (tmp_path / "ds[1]" / "mine.txt").read_text() == "ds[1]'s" and not own.exists()


def test_an_interrupt_as_the_swap_returns_deletes_nothing_and_the_next_build_here_settles_it(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Ctrl-C arriving just as RENAME_EXCHANGE returned: the swap's cleanup took the temp folder for
    the new build and deleted it, the previous OUT with the user's files. A notebook that catches the
    interrupt and builds again in the same process gets them back in OUT."""
    out = tmp_path / "out"
    prefdata.build(HH, out)
    _user_files(out)
    real_exchange = output._exchange

    def interrupted(a, b):  # type: ignore[no-untyped-def]
        assert real_exchange(a, b)
        raise KeyboardInterrupt

    monkeypatch.setattr(output, "_exchange", interrupted)
    with pytest.raises(KeyboardInterrupt):
        prefdata.build(HH, out)
    monkeypatch.undo()
    [previous] = list(tmp_path.glob(".out.prefdata-tmp-*"))
    assert (previous / "sft" / "model.safetensors").read_bytes() == b"weights"
    prefdata.build(HH, out)
    assert (out / "sft" / "model.safetensors").read_bytes() == b"weights" and not previous.exists()


@pytest.mark.parametrize("cwd, out", [(".", "."), ("sub", ".."), (".", "sub/..")])
def test_out_given_as_dot_or_ending_in_dotdot_is_rebuilt(tmp_path: Path, monkeypatch, cwd: str, out: str) -> None:  # type: ignore[no-untyped-def]
    """`cd ds && prefdata build RAW .` ran the whole build and then failed with exit 3: `.` has no name
    and is its own parent, so the temp folder went inside OUT and the swap tried to rename `.`."""
    ds = tmp_path / "ds"
    prefdata.build(HH, ds)
    (ds / "sub").mkdir()
    (ds / "notes.txt").write_text("mine")
    monkeypatch.chdir(ds / cwd)

    result = CliRunner().invoke(cli, ["build", str(HH), out, "--test-fraction", "0.5", "-q"])

    assert result.exit_code == 0, result.output
    assert json.loads((ds / "manifest.json").read_text())["config"]["split"]["test_fraction"] == 0.5
    assert (ds / "notes.txt").read_text() == "mine" and (ds / "sub").is_dir()
    assert not [p.name for p in [*tmp_path.iterdir(), *ds.iterdir()] if output.TMP_MARK in p.name]



def test_an_out_that_is_a_mount_point_is_refused_before_the_build_runs(tmp_path, monkeypatch):
    """A volume mounted at OUT (`docker run -v ds:/out ... prefdata build raw /out`) cannot be renamed:
    every build ran to its end and then failed the swap with EBUSY (exit 3). Now it is refused first,
    naming a folder inside it to use. (A real mount needs root: the hunt's repro mounted a tmpfs.)"""
    from prefdata.errors import OutputError

    raw = tmp_path / "raw.jsonl"
    raw.write_text('{"prompt": "q", "chosen": "a", "rejected": "b"}\n')
    out = tmp_path / "out"
    out.mkdir()
    real = os.path.ismount
    monkeypatch.setattr(os.path, "ismount", lambda p: os.fspath(p) == os.fspath(out) or real(p))
    with pytest.raises(OutputError, match=r"is a mount point .* give a folder inside it \(e\.g\. '.*out/dataset'\)"):
        prefdata.build(raw, out)
    assert list(out.iterdir()) == []
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]  # no temp folder was made


def test_an_out_that_cannot_be_renamed_at_the_swap_is_exit_2_and_kept(tmp_path, monkeypatch):
    """A bind mount of a folder on the same filesystem (Kubernetes hostPath, a Docker bind mount) has
    its parent's device, so ``os.path.ismount`` misses it: the build ran and the swap's rename failed
    with EBUSY, an internal error (exit 3). Now it is exit 2 naming OUT, with the previous OUT kept
    and the new build removed. (A real bind mount needs root: the review's repro ran one.)"""
    import errno

    out = tmp_path / "out"
    prefdata.build(HH, out)
    before = (out / "manifest.json").read_bytes()
    real_rename = os.rename

    def busy(src, dst):  # type: ignore[no-untyped-def]
        if os.fspath(src) == os.fspath(out):
            raise OSError(errno.EBUSY, "Device or resource busy", os.fspath(src))
        return real_rename(src, dst)

    monkeypatch.setattr(output, "_exchange", lambda a, b: False)  # renameat2 fails on a mount point too
    monkeypatch.setattr(os, "rename", busy)
    result = CliRunner().invoke(cli, ["build", str(HH), str(out), "-q", "--test-fraction", "0.5"])
    assert result.exit_code == 2, result.output
    assert f"OUT '{out}' could not be renamed (Device or resource busy): it is a mount point" in result.output
    assert (out / "manifest.json").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


# -- settle_previous on its own (previous_out.py's docstring is the rule) ---------------------------------------------


def test_a_dangling_link_the_new_out_holds_is_a_name_it_holds(tmp_path: Path) -> None:
    """A name the new OUT already holds cannot be moved into it and is never deleted: a symbolic link whose
    target is missing still holds its name, so the previous OUT's entry is left there (and that OUT kept),
    not renamed over the user's link."""
    previous, out = tmp_path / "prev", tmp_path / "out"
    previous.mkdir()
    out.mkdir()
    (previous / "notes").write_text("old notes")
    os.symlink(tmp_path / "nowhere", out / "notes")
    settled = previous_out.settle_previous(previous, out)
    assert settled.moved == [] and settled.left == [("notes", "the new OUT holds that name already")]
    assert os.readlink(out / "notes") == str(tmp_path / "nowhere")
    assert settled.kept_at is not None and (settled.kept_at / "notes").read_text() == "old notes"


def test_a_kept_previous_out_drops_the_checks_and_reports_of_its_pairs(tmp_path: Path) -> None:
    """The previous OUT is kept "less what builds own", which includes what check and report derived from
    its pairs (checks.json, report.html, report.md): kept, they would describe pairs that are gone."""
    previous, out = tmp_path / "prev", tmp_path / "out"
    previous.mkdir()
    out.mkdir()
    for name in ("checks.json", "report.html", "report.md", "manifest.json", "README.md", "notes.txt"):
        (previous / name).write_text("old")
    (previous / "data").mkdir()
    (out / "notes.txt").write_text("new")  # cannot be moved: the previous OUT is kept
    settled = previous_out.settle_previous(previous, out)
    assert settled.kept_at is not None and sorted(os.listdir(settled.kept_at)) == ["notes.txt"]
    assert (out / "notes.txt").read_text() == "new"


def test_when_the_previous_out_cannot_be_renamed_the_warning_names_where_it_stays(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The previous OUT is kept and "the build says where": when renaming it to its visible name fails too,
    it stays where it is, and the warning names that folder (not None)."""
    previous, out = tmp_path / "prev", tmp_path / "out"
    previous.mkdir()
    out.mkdir()
    (previous / "notes.txt").write_text("old")
    (out / "notes.txt").write_text("new")
    real_rename = os.rename

    def refused(src, dst, *args, **kwargs):  # type: ignore[no-untyped-def]
        if ".previous-" in os.fspath(dst):
            raise PermissionError(13, "Permission denied", os.fspath(dst))
        return real_rename(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "rename", refused)
    settled = previous_out.settle_previous(previous, out)
    assert settled.kept_at == previous and (previous / "notes.txt").read_text() == "old"
    assert settled.warning() == (
        f"warning: could not move into the new OUT: notes.txt (the new OUT holds that name already); the previous OUT is kept at {previous}"
    )
    assert not list(tmp_path.glob("out.previous-*"))


def test_a_killed_two_rename_swaps_old_folder_beside_a_new_out_is_settled_into_it(tmp_path: Path) -> None:
    """README: "A build killed after its swap leaves the previous OUT in its hidden temp folder; the next
    build settles it the same way". Without RENAME_EXCHANGE the swap renames OUT to the ``-old`` folder,
    then the new build in: killed after both renames, the ``-old`` folder (the previous OUT, with the
    user's files) lies beside a new OUT. It must be settled into OUT, not renamed back over it (which
    fails on the existing OUT and left the user's files in a hidden folder for good)."""
    out = tmp_path / "out"
    prefdata.build(HH, out)
    _user_files(out)
    previous = tmp_path / f".out{output.TMP_MARK}{_dead_pid()}{output.OLD_SUFFIX}"
    os.rename(out, previous)  # the first rename of the swap
    prefdata.build(HH, tmp_path / "new")  # built elsewhere: a build of OUT here would settle the -old folder itself
    os.rename(tmp_path / "new", out)  # the second rename; then the build was killed

    prefdata.build(HH, out)

    assert (out / "sft" / "model.safetensors").read_bytes() == b"weights"
    assert (out / ".git" / "HEAD").read_text() == "ref: refs/heads/main\n" and (out / "notes.txt").read_text() == "why this dataset"
    assert not previous.exists()
    assert not list(tmp_path.glob(".out.prefdata-tmp-*"))


def test_a_failed_second_rename_of_the_plain_swap_puts_out_back(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """../shared/DESIGN.md: "Writes are atomic: a killed build leaves the previous out/ intact"; README: a
    failure before the swap completes leaves "the previous OUT ... as it was". Without RENAME_EXCHANGE
    the swap is two renames (OUT to ``-old``, the new build to OUT); when the second fails, OUT must be
    renamed back, with the user's files, and the new build removed."""
    out = tmp_path / "out"
    prefdata.build(HH, out)
    _user_files(out)
    before = (out / "manifest.json").read_bytes()
    real_rename = os.rename

    def second_rename_fails(src, dst):  # type: ignore[no-untyped-def]
        if Path(dst) == out and Path(src).name.startswith(f".out{output.TMP_MARK}") and not Path(src).name.endswith(output.OLD_SUFFIX):
            raise OSError(28, "No space left on device", str(src))
        return real_rename(src, dst)

    monkeypatch.setattr(output, "_exchange", lambda a, b: False)
    monkeypatch.setattr(os, "rename", second_rename_fails)
    with pytest.raises(OSError, match="No space left on device"):
        prefdata.build(HH, out, seed=1)
    monkeypatch.undo()

    assert (out / "manifest.json").read_bytes() == before
    assert (out / "sft" / "model.safetensors").read_bytes() == b"weights" and (out / "notes.txt").exists()
    assert not list(tmp_path.glob(".out.prefdata-tmp-*"))


def test_the_stale_temp_sweep_never_follows_a_link_named_like_a_temp_folder(tmp_path: Path) -> None:
    """Only folders a build made are settled or removed; anything else is the user's and never moved or
    deleted (README: what cannot be moved "is never deleted"; previous_out: "anything else is the
    user's"). A symbolic link with a dead build's temp-folder name is not a folder a build made: settling
    it would move the files of the folder it points to into OUT."""
    out = tmp_path / "out"
    prefdata.build(HH, out)  # OUT exists: a settle would move entries into it
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    link = tmp_path / f".out{output.TMP_MARK}{_dead_pid()}-0a1b2c3d"
    os.symlink(mine, link)

    prefdata.build(HH, out)

    assert (mine / "notes.txt").read_text() == "mine"
    assert not (out / "notes.txt").exists()
    assert link.is_symlink() and os.readlink(link) == str(mine)
