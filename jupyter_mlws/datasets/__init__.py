"""Versioned datasets with lineage: file sets registered under a name, each version content-hashed
(sha256 per file, a root hash over the file list), its objects kept once per content in a
datastore, tabular ones with their schema and statistics, and the runs and models that used
each version recorded both ways.

- :mod:`.service`: ``ws.datasets`` (register, find, alias, delete, lineage)
- :mod:`.version`: ``ws.dataset("train:3")``, a version as code reads it
- :mod:`.scan`, :mod:`.hashing`, :mod:`.hashcache`: what a folder holds, content hashes, the
  change-detection cache
- :mod:`.tabular`: schema and statistics of CSV and Parquet versions
- :mod:`.records`: the tables (migration 21)
- :mod:`.refs`: ``NAME``, ``NAME:3``, ``NAME@alias``, and ``dataset:REF`` parameters
"""
