"""result.json has a versioned schema: the shipped JSON Schema is the one the model generates, a
real run's result.json validates against it with an independent validator (jsonschema), and a
result that drifts from it is refused with one line naming the key."""

from __future__ import annotations

import copy
import json

import jsonschema
import pytest

from zsbench.errors import DataError
from zsbench.result_schema import RESULT_SCHEMA_VERSION, SCHEMA_FILE, check_result, schema_text


def test_the_shipped_schema_is_what_the_model_generates():
    # regenerate with: python -m zsbench.result_schema
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_text()


def test_a_run_result_validates_against_the_shipped_schema(tiny_trained_run):
    result = json.loads((tiny_trained_run / "result.json").read_text())
    assert result["schema_version"] == RESULT_SCHEMA_VERSION
    schema = json.loads(SCHEMA_FILE.read_text())
    jsonschema.validate(result, schema)
    check_result(result)


@pytest.mark.parametrize(("path", "value", "where"), [
    (("metrics", "auroc_seen"), "high", "metrics.auroc_seen"),
    (("config", "epoch"), 3, "config"),
    (("seeds", "seed"), None, "seeds.seed"),
    (("schema_version",), 99, "schema_version"),
    (("extra_key",), 1, "extra_key"),
])
def test_a_drifted_result_is_refused_by_both_validators(tiny_trained_run, path, value, where):
    result = json.loads((tiny_trained_run / "result.json").read_text())
    broken = copy.deepcopy(result)
    node = broken
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(DataError, match=f"^result.json does not match its schema at {where}"):
        check_result(broken)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, json.loads(SCHEMA_FILE.read_text()))
