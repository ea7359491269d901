"""Candidate retrieval for the catalog sweep: which originals each track is scored against exactly.

Pure numpy (no Spark): per track :func:`track_shingles` (hashed transposition- and tempo-invariant
melodic, rhythmic and chord n-grams, :mod:`.shingles`); over the originals an inverted index
(:func:`build_index`) and per track its best candidates (:func:`query`), scored by
:func:`pair_score` (:mod:`.index`, whose docstring gives the Spark formulation). Settings:
:class:`RetrievalSettings` (``retrieval:`` section of the configuration). Measured in
bench/retrieval.py (bench/results/retrieval.md).

Modules
-------
shingles   per-track shingles (hashes with their kind)
index      inverted index, shingle weights, length normalisation, pair score, top-k query
settings   RetrievalSettings
"""

from .index import (ShingleIndex, build_index, df_limit, doc_norms, local_score, pair_score, query, query_scores,
                    shingle_weights, top_candidates)
from .settings import RetrievalSettings
from .shingles import chord_shingles, line_shingles, melody_lines, shingle_kind, track_shingles

__all__ = ["RetrievalSettings", "ShingleIndex", "build_index", "query", "query_scores", "pair_score",
           "local_score", "shingle_weights", "doc_norms", "df_limit", "track_shingles", "line_shingles", "chord_shingles",
           "melody_lines", "shingle_kind", "top_candidates"]
