import sys
import textwrap

import pytest

from zsbench.errors import RegistryConflictError, UnknownNameError, UsageError
from zsbench.registry import BACKBONES, Registry


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


def _modules_after(code: str) -> set[str]:
    """The modules a fresh interpreter has imported after running ``code``."""
    import subprocess

    script = f"import sys\n{code}\nprint(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    return set(out.split())


def test_builtins_are_listed_without_importing_them():
    loaded = _modules_after(
        "from zsbench.registry import REGISTRIES\n"
        "assert all(e.description for r in REGISTRIES.values() for e in r.entries())"
    )
    assert "torch" not in loaded and "pandas" not in loaded
    assert not {m for m in loaded if m.startswith(("zsbench.backbones", "zsbench.methods", "zsbench.text"))}


def test_a_lookup_imports_only_the_module_it_needs():
    loaded = _modules_after("from zsbench.registry import BACKBONES\nBACKBONES.get('tiny-cnn')")
    assert "zsbench.backbones.tiny_cnn" in loaded
    assert not {"zsbench.backbones.timm_backbone", "zsbench.backbones.open_clip_backbone",
                "zsbench.methods.lesa", "zsbench.text.hf", "zsbench.data.nih"} & loaded


def test_every_builtin_target_and_option_model_resolves():
    from zsbench.builtins import BUILTINS
    from zsbench.contracts import load_target
    from zsbench.registry import REGISTRIES

    for builtin in BUILTINS:
        entry = REGISTRIES[builtin.registry].entry(builtin.name + (":x" if builtin.parametric else ""))
        assert callable(entry.load()), builtin.name
        if builtin.options is not None:
            assert load_target(builtin.options) is entry.options_model(), builtin.name


def test_hf_alias_rows_match_the_aliases():
    from zsbench.registry import TEXT_ENCODERS
    from zsbench.text.hf import HF_ALIASES

    for alias, hub_name in HF_ALIASES.items():
        entry = TEXT_ENCODERS.entry(alias)
        assert entry.description == f"{hub_name} (Hugging Face)" == entry.load().__doc__


def test_a_plugin_may_not_take_a_builtin_name(tmp_path, monkeypatch):
    info = tmp_path / "shadow-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: shadow\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[zsbench.test_shadow]\ntiny-cnn = shadow_pkg:make\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    reg = Registry("backbone", "zsbench.test_shadow")
    reg.add(BACKBONES.entry("tiny-cnn"))
    with pytest.raises(RegistryConflictError, match=r"'tiny-cnn' is registered twice \(built-in and shadow 0.1\)"):
        reg.entries()
