"""Recipes: YAML with positions, pydantic models, overrides and the JSON Schema. No torch here."""

from easytrain.config.load import dump_recipe, load_recipe
from easytrain.config.recipe import Recipe

__all__ = ["Recipe", "dump_recipe", "load_recipe"]
