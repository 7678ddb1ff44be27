import sys
import textwrap

import pytest

from zsbench.errors import RegistryConflictError, UnknownNameError, UsageError
from zsbench.registry import BACKBONES, Registry, ensure_builtins


def test_register_get_and_parametric_create():
    reg = Registry("widget", "zsbench.test_widgets_none")

    @reg.register("plain")
    def plain(**kw):
        """A plain widget."""
        return ("plain", kw)

    @reg.register("param", parametric=True)
    def param(arg, **kw):
        return ("param", arg, kw)

    assert reg.create("plain", x=1) == ("plain", {"x": 1})
    assert reg.create("param:abc", x=2) == ("param", "abc", {"x": 2})
    assert reg.entry("plain").description == "A plain widget."
    with pytest.raises(UsageError, match="needs an argument"):
        reg.create("param")
    with pytest.raises(UsageError, match="takes no ':' argument"):
        reg.create("plain:x")


def test_duplicate_name_is_an_error():
    reg = Registry("widget", "zsbench.test_widgets_none")
    reg.register("a")(lambda: None)
    with pytest.raises(RegistryConflictError, match="registered twice"):
        reg.register("a")(lambda: None)


def test_unknown_name_suggests_close_match():
    ensure_builtins()
    with pytest.raises(UnknownNameError, match="did you mean 'tiny-cnn'"):
        BACKBONES.get("tiny-cn")


def test_entry_points_load_lazily_with_distribution_origin(tmp_path, monkeypatch):
    # a minimal installed distribution: a dist-info folder with entry_points.txt on sys.path
    pkg = tmp_path / "fake_widget_pkg.py"
    pkg.write_text("LOADED = True\ndef make(**kw):\n    return 'made'\n")
    info = tmp_path / "fake_widgets-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fake-widgets\nVersion: 1.2.3\n")
    (info / "entry_points.txt").write_text(
        textwrap.dedent("""
        [zsbench.test_widgets]
        fancy = fake_widget_pkg:make
        """)
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    reg = Registry("widget", "zsbench.test_widgets")
    entries = {e.name: e for e in reg.entries()}
    assert entries["fancy"].origin == "fake-widgets 1.2.3"
    assert "fake_widget_pkg" not in sys.modules  # listed without importing
    assert reg.create("fancy") == "made"
    # a plugin cannot silently shadow another registration
    reg2 = Registry("widget", "zsbench.test_widgets")
    reg2.register("fancy")(lambda: None)
    with pytest.raises(RegistryConflictError):
        reg2.entries()
