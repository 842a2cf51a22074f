"""The JSON Schema of recipes, from the same pydantic models that validate them."""

from __future__ import annotations

from typing import Any

from easytrain.config.recipe import recipe_model
from easytrain.registry import default_registry


def recipe_schema() -> dict[str, Any]:
    schema = recipe_model(default_registry()).model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "easytrain recipe"
    return schema
