"""`easytrain explain RUN_DIR`: why a finished run's model decides as it does.

command.py loads the run and its split, importance.py measures what each input column is worth
(permutation importance), attributions.py asks Captum which parts of one input moved the output
(integrated gradients), render.py writes the CSV, PNG and HTML files and the report's section.
"""

from typing import Any

CAPTUM_MISSING = "explanations need captum: pip install 'easytrain[explain]'"


def captum() -> Any:
    """captum.attr, or a RunFailed that names the extra to install."""
    try:
        from captum import attr
    except ImportError:
        from easytrain.errors import RunFailed

        raise RunFailed(CAPTUM_MISSING) from None
    return attr
