"""Engines: the per-file work (decode, refuse, compute features, cache) and the ways it is
run over many files.

- ``jobs``: one file's work, the same for every engine (``FileJob``, ``compute_entry``,
  ``process_file``) and the one failure policy (``failure_reason``, ``record_failure``);
- ``pool``: worker processes pinned to one core (``single_core``), a bounded task window;
- ``local``: ``preprocess`` (a catalog into the cache on this machine);
- ``device``: the same with features computed in batches on a GPU;
- ``stream``: decoding (and features) for prediction, in input order;
- ``ray``: the same jobs on a Ray cluster, and prediction to Parquet.
"""
