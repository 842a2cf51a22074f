"""Field descriptions come from a table made ahead of time, and say what the docstrings say."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest
from pydantic._internal._docs_extraction import extract_docstrings_from_cls

from easytrain.config import _fielddocs, fielddocs
from easytrain.config.base import Section
from easytrain.config.schema import recipe_schema


def _sections(cls: type) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub, *_sections(sub)}
    return found


def test_the_table_is_current() -> None:
    sources, docs = fielddocs.table(fielddocs.config_modules())
    assert (sources, docs) == (_fielddocs.SOURCES, _fielddocs.DOCS), (
        "run `make docs` to regenerate easytrain/config/_fielddocs.py"
    )


def test_every_field_has_the_description_pydantic_would_give_it() -> None:
    recipe_schema()  # builds every section of the recipe
    checked = 0
    for cls in _sections(Section):
        expected = extract_docstrings_from_cls(cls, use_inspect=True)
        for name, field in cls.model_fields.items():
            if name in expected:
                assert field.description == expected[name], f"{cls.__qualname__}.{name}"
                checked += 1
    assert checked > 200
    assert "Passes over the training split." in str(recipe_schema())


def test_a_module_the_table_does_not_know_is_read_from_its_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "fresh_section.py").write_text(
        "from easytrain.config.base import Section\n\n\n"
        "class Fresh(Section):\n"
        "    depth: int = 2\n"
        '    """How deep, in layers."""\n'
        "    width: int = 8\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("fresh_section")
    try:
        fields = module.Fresh.model_fields
        assert fields["depth"].description == "How deep, in layers."
        assert fields["width"].description is None
        schema = module.Fresh.model_json_schema()
        assert schema["properties"]["depth"]["description"] == "How deep, in layers."
    finally:
        sys.modules.pop("fresh_section", None)


def test_importing_the_recipe_models_parses_no_source(monkeypatch: pytest.MonkeyPatch) -> None:
    """What makes `validate` fast: with a current table, no config module is parsed."""
    parsed: list[str] = []
    real = fielddocs.parse_docs
    monkeypatch.setattr(
        fielddocs, "parse_docs", lambda source: parsed.append(source) or real(source)
    )
    fielddocs._module_docs.cache_clear()
    for module in fielddocs.config_modules():
        fielddocs._module_docs(module)
    assert parsed == []
