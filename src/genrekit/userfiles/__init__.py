"""One reader per kind of file a user hands genrekit: :func:`read_csv` for every CSV
(catalogs, labels, audit and suggest input), :func:`load_yaml` for every YAML (genre maps,
genre trees, configs). Each turns a malformed file into one typed error naming the file
(and the line, where there is one); neither trusts the file's size or shape."""

from .csvfile import CsvRow, CsvTable, read_csv
from .yamlfile import load_yaml, load_yaml_text

__all__ = ["CsvRow", "CsvTable", "load_yaml", "load_yaml_text", "read_csv"]
