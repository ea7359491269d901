"""``musim export``: the sweep's results as label JSON per track, ``matches.csv`` and ``sweep.html``.

Pure modules: :mod:`.labels` (a delivered label filled with a track's best match), :mod:`.plots`
(score distributions as inline SVG), :mod:`.page` (``sweep.html``), :mod:`.settings`. :mod:`.stage`
reads the warehouse (pyarrow, no Spark) and writes the export directory all at once; :mod:`.command`
is the CLI face. docs/export.md says what is written and how.
"""
