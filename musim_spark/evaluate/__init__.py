"""``musim evaluate``: the warehouse's ``matches`` scored against a generated set's truth.

Pure modules: :mod:`.metrics` (mir_eval-like metrics, each ``validate_*`` then the metric),
:mod:`.truth` (``_truth/truth.csv``), :mod:`.score` (the figures, bench/similarity.py's definitions
where they overlap); :mod:`.command` is the CLI face.
"""
