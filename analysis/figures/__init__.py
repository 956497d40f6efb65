"""A project's figures: computed here (``agreement_compute``), typed (``types.Figures``), cached by
``analysis.snapshots``.

``fields`` (agreement per field, set fields), ``annotators``, ``divergence`` (item statuses) and
``model_runs`` (models versus humans) each compute one part from the reliability matrices that
``analysis.selectors`` reads; ``compute`` puts them together.
"""

from .compute import agreement_compute
from .types import Figures

__all__ = ["Figures", "agreement_compute"]
