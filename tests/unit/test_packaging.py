"""The wheel holds every package of the source tree: pyproject.toml's explicit `packages` list
names each folder of Python modules, templates or suites (a folder left out installs everywhere
but from a wheel, where its command or page is then missing)."""

import tomllib
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_every_source_folder_is_a_listed_package():
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    folders = {}
    for package, folder in setuptools["package-dir"].items():
        for path in (ROOT / folder).rglob("*"):
            if path.suffix in (".py", ".j2", ".toml") and "__pycache__" not in path.parts:
                relative = path.parent.relative_to(ROOT / folder).parts
                folders[".".join((package, *relative))] = path.parent
    assert set(folders) <= set(setuptools["packages"]), sorted(set(folders) - set(setuptools["packages"]))
    for package, patterns in setuptools["package-data"].items():
        assert package in setuptools["packages"]
        assert all(any(folders[package].glob(pattern)) for pattern in patterns), package
