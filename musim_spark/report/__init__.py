"""Reports a plagiarism reviewer reads: one self-contained HTML page per pair, an index per query.

One concern per module:

* :mod:`.warp` -- matched note pairs of the melody alignment, and the time map that draws one
  song on the other's timeline;
* :mod:`.roll` -- the aligned piano rolls (inline SVG, note names, connectors);
* :mod:`.chords` -- keys, Roman numerals, the chords of both songs on aligned rows;
* :mod:`.audio` -- listening excerpts (recording or FluidSynth), embedded as ``data:`` URIs;
* :mod:`.explain` -- one sentence per facet;
* :mod:`.source` -- what a report reads beside a compared file (recording, notes, label key);
* :mod:`.page` -- the pair page and its JSON twin;
* :mod:`.index` -- the ranking page of a query against many files.

Nothing here changes a score: the pages only read :class:`~musim_spark.similarity.compare.PairResult`
and the features it was computed from.
"""

from .index import render_index, write_index
from .page import render_report, report_data, write_report

__all__ = ["render_report", "write_report", "report_data", "render_index", "write_index"]
