"""Packaging beyond what pyproject.toml can say: the top-level ``splits/`` folder ships inside the
wheel as the package ``zsbench.split_files``, mapped rather than copied, so ``splits/`` stays the
one source of the class splits and an installed zsbench finds them without the source tree.
The JSON Schema of result.json ships as package data (``zsbench/schemas``)."""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["zsbench", "zsbench.*"]), "zsbench.split_files"],
    package_dir={"zsbench.split_files": "splits"},
    package_data={"zsbench.split_files": ["*.yaml"], "zsbench": ["schemas/*.json"]},
)
