"""One run of a recipe: the stage pipeline, its context, run folders, the dry-run plan and re-evaluation."""
