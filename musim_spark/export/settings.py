"""Export settings: the ``export:`` section of ``conf/*.yaml`` as a frozen dataclass.

Library code never reads the file; the CLI calls :meth:`ExportSettings.from_config` once. Defaults
here equal the packaged ``resources/defaults.yaml`` values.

Examples
--------
>>> ExportSettings().report_pairs
50
>>> ExportSettings(report_pairs=-1)
Traceback (most recent call last):
    ...
musim_spark.errors.ParameterError: export.report_pairs must be >= 0, got -1
"""

from __future__ import annotations

import dataclasses

from ..config import SectionSettings
from ..errors import ParameterError

__all__ = ["ExportSettings"]


@dataclasses.dataclass(frozen=True)
class ExportSettings(SectionSettings):
    """What ``musim export`` writes besides the labels.

    Attributes
    ----------
    report_pairs : int
        Pair reports written for the most suspicious pairs of ``sweep.html`` (0: none). Each costs
        a comparison and a page of about 1 MB (audio excerpts), hence a cap.
    plot_bins : int
        Bins of the score histograms of ``sweep.html``.
    """

    SECTION = "export"

    report_pairs: int = 50
    plot_bins: int = 20

    def __post_init__(self):
        if int(self.report_pairs) < 0:
            raise ParameterError(f"export.report_pairs must be >= 0, got {self.report_pairs!r}")
        if int(self.plot_bins) < 2:
            raise ParameterError(f"export.plot_bins must be >= 2, got {self.plot_bins!r}")

