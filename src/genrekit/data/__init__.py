"""Catalogs of labelled songs, splits and slicing."""

from .manifest import Catalog, Track, load_catalog, read_split_list
from .splits import split_catalog

__all__ = ["Catalog", "Track", "load_catalog", "read_split_list", "split_catalog"]
