"""Plugin contracts: a registry refuses a part that breaks its contract with ONE line that names the
part, where it comes from and what is missing or wrong."""

from __future__ import annotations

import pickle
import textwrap

import numpy as np
import pytest
import torch
from torch import nn

from zsbench.backbones.base import Backbone, Preprocess
from zsbench.contracts import abstract_instantiation, abstract_methods, required_attributes
from zsbench.data.base import ClassInfo, DatasetSource, ImageTable
from zsbench.errors import PluginContractError, UsageError
from zsbench.methods.base import Method
from zsbench.registry import BACKBONES, DATASETS, METHODS, TEXT_ENCODERS, Registry
from zsbench.text.encoders import TextEncoder

PRE = Preprocess(input_size=32)


# --- parts that break their contract, one member at a time -------------------------------------

class NoFeatureDim(Backbone):
    def __init__(self) -> None:
        super().__init__()
        self.preprocess = PRE

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3))


class NoPreprocess(Backbone):
    def __init__(self) -> None:
        super().__init__()
        self.feature_dim = 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3))


class NoForwardBackbone(Backbone):
    def __init__(self) -> None:
        super().__init__()
        self.feature_dim, self.preprocess = 1, PRE


class ZeroDim(NoFeatureDim):
    def __init__(self) -> None:
        super().__init__()
        self.feature_dim = 0


class MapWithoutForwardFeatures(NoFeatureDim):
    def __init__(self) -> None:
        super().__init__()
        self.feature_dim, self.feature_map_dim = 1, 1


class NoLoss(Method):
    name = "no-loss"

    def forward(self, features, class_embeddings):
        return features @ class_embeddings.T


class NoForwardMethod(Method):
    name = "no-forward"

    def loss(self, features, class_embeddings, labels):
        return features.sum(), {}


class BadFeatureKind(NoLoss):
    feature_kind = "voxels"

    def loss(self, features, class_embeddings, labels):
        return features.sum(), {}


class NoEncodeClasses(TextEncoder):
    id = "no-encode"


class NoIdEncoder(TextEncoder):
    def encode_classes(self, classes, class_text):
        return np.zeros((len(classes), 2), dtype=np.float32)


class Dataset(DatasetSource):
    """A complete dataset; the broken ones below each drop one abstract method."""

    name = "tiny"

    def classes(self) -> list[ClassInfo]:
        return [ClassInfo("A")]

    def table(self) -> ImageTable:
        one = np.array(["x"])
        return ImageTable(one, one, np.ones((1, 1), dtype=np.float32), np.array(["train"]), ["A"])

    def load_images(self, ids, progress=None):
        return np.zeros((len(ids), 1, 8, 8), dtype=np.uint8)


def _without(name: str) -> type:
    """A subclass of DatasetSource with every abstract method of ``Dataset`` except ``name``."""
    members = {k: v for k, v in vars(Dataset).items() if k in ("name", "classes", "table", "load_images")}
    members.pop(name)
    return type(f"No{name.title().replace('_', '')}", (DatasetSource,), members)


CASES = [  # (registry, factory, what the line must say)
    (BACKBONES, NoFeatureDim, "it has no feature_dim (required by zsbench.backbones.base.Backbone)"),
    (BACKBONES, NoPreprocess, "it has no preprocess (required by zsbench.backbones.base.Backbone)"),
    (BACKBONES, NoForwardBackbone, "NoForwardBackbone does not implement forward"),
    (BACKBONES, lambda: nn.Linear(2, 2), "its factory returned Linear, not a zsbench.backbones.base.Backbone"),
    (BACKBONES, ZeroDim, "feature_dim is 0, not a positive int"),
    (BACKBONES, MapWithoutForwardFeatures, "it sets feature_map_dim but does not override forward_features"),
    (METHODS, NoLoss, "NoLoss does not implement loss"),
    (METHODS, NoForwardMethod, "NoForwardMethod does not implement forward"),
    (METHODS, BadFeatureKind, "feature_kind is 'voxels', not one of pooled, map"),
    (METHODS, dict, "its factory returned dict, not a zsbench.methods.base.Method"),
    (TEXT_ENCODERS, NoEncodeClasses, "NoEncodeClasses does not implement encode_classes"),
    (TEXT_ENCODERS, NoIdEncoder, "it has no id (required by zsbench.text.encoders.TextEncoder)"),
    (DATASETS, _without("table"), "NoTable does not implement table"),
    (DATASETS, _without("classes"), "NoClasses does not implement classes"),
    (DATASETS, _without("load_images"), "NoLoadImages does not implement load_images"),
    (DATASETS, _without("name"), "it has no name (required by zsbench.data.base.DatasetSource)"),
    (DATASETS, lambda: "a string", "its factory returned str, not a zsbench.data.base.DatasetSource"),
]


def _fresh(registry: Registry) -> Registry:
    """A registry of the same kind and contract, with no built-ins and no plugins."""
    return Registry(registry.kind, "zsbench.test-contracts-none", registry.contract)


@pytest.mark.parametrize(("registry", "factory", "needle"), CASES, ids=[c[2][:48] for c in CASES])
def test_a_part_that_breaks_its_contract_is_refused_in_one_line(registry, factory, needle):
    reg = _fresh(registry)
    reg.register("broken")(lambda **_: factory())
    with pytest.raises(PluginContractError) as info:
        reg.create("broken")
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{registry.kind} 'broken' from built-in tests.test_contracts:"), message
    assert message.endswith(needle), message
    assert isinstance(info.value, UsageError)  # exit code 2 at the CLI


def test_complete_parts_pass_the_same_checks():
    reg = _fresh(DATASETS)
    reg.register("fine")(lambda **_: Dataset())
    assert isinstance(reg.create("fine"), Dataset)


def test_the_contract_is_read_off_the_base_classes():
    assert required_attributes(Backbone) == ["feature_dim", "preprocess"]
    assert abstract_methods(Backbone) == ["forward"]
    assert required_attributes(Method) == ["name"]
    assert abstract_methods(Method) == ["forward", "loss"]
    assert required_attributes(TextEncoder) == ["id"]
    assert abstract_methods(TextEncoder) == ["encode_classes"]
    assert required_attributes(DatasetSource) == ["name"]
    assert abstract_methods(DatasetSource) == ["classes", "load_images", "table"]
    # hooks with defaults: every part has them, so the engine never probes
    assert Backbone.feature_map_dim is None and DatasetSource.image_size == 224


def test_a_backbone_without_a_map_says_so_when_asked_for_one():
    class Pooled(NoFeatureDim):
        feature_dim = 1

    with pytest.raises(UsageError, match="gives no spatial feature map"):
        Pooled().forward_features(torch.zeros(1, 1, 4, 4))


@pytest.mark.parametrize("text", [
    "Can't instantiate abstract class NoLoss with abstract method loss",  # 3.11
    "Can't instantiate abstract class NoLoss with abstract methods forward, loss",
    "Can't instantiate abstract class NoLoss without an implementation for abstract method 'loss'",  # 3.12+
    "Can't instantiate abstract class NoLoss without an implementation for abstract methods 'forward', 'loss'",
])
def test_abstract_instantiation_messages_of_every_python(text):
    assert abstract_instantiation(TypeError(text)) in ("NoLoss does not implement loss",
                                                       "NoLoss does not implement forward, loss")
    assert abstract_instantiation(TypeError("create() got an unexpected keyword argument 'x'")) is None


def test_other_type_errors_of_a_factory_are_left_alone():
    reg = _fresh(BACKBONES)
    reg.register("strict")(lambda *, size: None)
    with pytest.raises(TypeError, match="unexpected keyword"):
        reg.create("strict", image_size=3)


def _dist(tmp_path, module: str, source: str, group: str, lines: str) -> None:
    """A minimal installed distribution ``fake-contract 0.1``: a module and a dist-info folder."""
    (tmp_path / f"{module}.py").write_text(textwrap.dedent(source))
    info = tmp_path / "fake_contract-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fake-contract\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[{group}]\n{textwrap.dedent(lines)}")


def test_an_entry_point_plugin_is_named_with_its_entry_point_and_distribution(tmp_path, monkeypatch):
    _dist(tmp_path, "fake_contract_pkg", """
        from torch import nn
        def make(**kwargs):
            return nn.Identity()
    """, "zsbench.test_contract_backbones", """
        mini-resnet = fake_contract_pkg:make
        gone = fake_contract_missing_pkg:make
        typo = fake_contract_pkg:mkae
    """)
    monkeypatch.syspath_prepend(str(tmp_path))
    reg = Registry("backbone", "zsbench.test_contract_backbones", BACKBONES.contract)
    with pytest.raises(PluginContractError) as info:
        reg.create("mini-resnet", image_size=32)
    assert str(info.value) == (
        "backbone 'mini-resnet' from entry point 'mini-resnet = fake_contract_pkg:make' of fake-contract 0.1: "
        "its factory returned Identity, not a zsbench.backbones.base.Backbone"
    )
    with pytest.raises(PluginContractError, match=(
            r"^backbone 'gone' from entry point 'gone = fake_contract_missing_pkg:make' of fake-contract 0.1: "
            r"cannot import its factory \(ModuleNotFoundError: No module named 'fake_contract_missing_pkg'\)$")):
        reg.create("gone")
    with pytest.raises(PluginContractError, match=r"^backbone 'typo' .*cannot import its factory \(AttributeError"):
        reg.check_options("typo", {})  # options of a plugin that cannot load: the plugin is named, not an option
    assert reg.names() == ["gone", "mini-resnet", "typo"]  # listing imports nothing, so it still works


def test_builtins_keep_their_contract_and_name_their_import_path():
    backbone = BACKBONES.create("tiny-cnn", image_size=32)
    assert backbone.feature_map_dim == 64 and backbone.forward_features(torch.zeros(1, 1, 32, 32)).shape[1] == 64
    assert BACKBONES.entry("tiny-cnn").source() == "built-in zsbench.backbones.tiny_cnn:create_tiny_cnn"


def test_plugin_contract_error_survives_pickling():  # sweep workers send errors across processes
    exc = PluginContractError("method", "m", "built-in a:b", "it has no name")
    back = pickle.loads(pickle.dumps(exc))
    assert str(back) == str(exc) and back.problem == "it has no name"
