"""csv: a table with a binary target and a binary sensitive column (the Adult or German credit
file of the fair-representation papers), for the vfae family and the fairness metric.

One row per example, a header row naming the columns. `target` and `sensitive` name two columns
with exactly two distinct values each (after stripping spaces and a trailing "."): 0 is the
first in sorted order, 1 the second (Adult's income: "<=50K" -> 0, ">50K" -> 1). Every other
column is a feature: those listed in `categorical` are one-hot encoded (categories of the
training rows; one unseen in the test rows encodes as all zeros), the rest must be numbers and
are standardised with the training rows' mean and standard deviation (scikit-learn). s is not a
feature: it travels in Data.extras (see sensitive.py). The test rows come from `test_path`, or
else a fixed split of `test_fraction` of the rows, stratified by the target (seed 0).
Examples are float32 vectors (F,) of the "tabular" domain; labels are the target, n_classes 2.
"""

from __future__ import annotations

import csv
import functools
from pathlib import Path

import numpy as np
import torch

from genbench import Data, DataError, DataInfo, DatasetSpec, Param, hookimpl

from .images import required_path
from .sensitive import SENSITIVE, TEST_SENSITIVE, with_sensitive

MAX_FILE_BYTES = 1 << 30  # a table larger than this is refused before it is read
SPLIT_SEED = 0
SOURCE = "a .csv file with a header row, e.g. adult.data with its column names added"


def table_error(problem: str, fix: str) -> DataError:
    return DataError(f"csv: {problem}; fix: {fix}.")


def read_rows(path: str, what: str) -> tuple[Path, list[str], list[list[str]]]:
    """(the file, its header, its rows of stripped strings), with every row as long as the header."""
    file = required_path("csv", path, SOURCE) if what == "path" else Path(path).expanduser()
    if not file.is_file():
        raise table_error(f"file {file} does not exist", f"set {what} to {SOURCE}")
    if file.stat().st_size > MAX_FILE_BYTES:
        raise table_error(f"{file} is larger than {MAX_FILE_BYTES:,} bytes", "use a smaller table")
    try:
        with file.open(newline="", encoding="utf-8") as stream:
            rows = [[cell.strip() for cell in row] for row in csv.reader(stream) if any(c.strip() for c in row)]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise table_error(f"{file} is not a readable csv file ({exc})", f"set {what} to {SOURCE}") from None
    if len(rows) < 2:
        raise table_error(f"{file} has no data rows below its header", "give a table with a header and rows")
    header, body = rows[0], rows[1:]
    for number, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise table_error(f"{file} line {number} has {len(row)} cells, the header {len(header)}",
                              "give every row one cell per column")
    return file, header, body


def column(header: list[str], name: str, what: str, file: Path) -> int:
    if name not in header:
        raise table_error(f"{what} column {name!r} is not in {file} (its columns: {', '.join(header)})",
                          f"set {what} to one of its columns")
    return header.index(name)


def binary_values(values: list[str], name: str, file: Path) -> tuple[np.ndarray, list[str]]:
    """(codes (N,) int64 in {0, 1}, [value of 0, value of 1]) of a column with two distinct values."""
    values = [v.removesuffix(".") for v in values]  # adult.test writes ">50K."
    distinct = sorted(set(values))
    if len(distinct) != 2:
        shown = ", ".join(map(repr, distinct[:5])) + (", ..." if len(distinct) > 5 else "")
        raise table_error(f"column {name!r} of {file} has {len(distinct)} distinct values ({shown}), not 2",
                          "choose a binary column, or binarise it in the file first")
    return np.array([distinct.index(v) for v in values], dtype=np.int64), distinct


def numbers(values: np.ndarray, name: str, file: Path) -> np.ndarray:
    try:
        return values.astype(np.float64)
    except ValueError:
        bad = next(v for v in values if not is_number(v))
        raise table_error(f"column {name!r} of {file} holds {bad!r}, not a number",
                          f"list {name!r} in categorical, or clean the file") from None


def is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


@functools.lru_cache(maxsize=4)
def load_table(path: str, target: str, sensitive: str, categorical: tuple, test_path: str, test_fraction: float,
               stamp: tuple) -> dict:
    """The encoded table: x, y, s for train and test, and the value names of y and s. `stamp`
    (the files' sizes and times) makes a changed file read again."""
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    file, header, rows = read_rows(path, "path")
    if target == sensitive:
        raise table_error(f"target and sensitive are both {target!r}", "name two different columns")
    t, s = column(header, target, "target", file), column(header, sensitive, "sensitive", file)
    for name in categorical:
        column(header, name, "categorical", file)
    table = np.array(rows, dtype=object)  # (N, columns)
    if test_path:
        test_file, test_header, test_rows = read_rows(test_path, "test_path")
        if test_header != header:
            raise table_error(f"{test_file} has other columns than {file}", "give both files the same header")
        test_table = np.array(test_rows, dtype=object)
        n_train = len(table)
        table = np.concatenate([table, test_table])
    y, y_names = binary_values(list(table[:, t]), target, file)
    s_codes, s_names = binary_values(list(table[:, s]), sensitive, file)
    if test_path:
        train, test = np.arange(n_train), np.arange(n_train, len(table))
    else:
        if not 0 < test_fraction < 1:
            raise table_error(f"test_fraction = {test_fraction} leaves no rows to train or test on",
                              "use 0 < test_fraction < 1, or give test_path")
        try:
            train, test = train_test_split(np.arange(len(table)), test_size=test_fraction, stratify=y,
                                           random_state=SPLIT_SEED)
        except ValueError as exc:
            raise table_error(f"{file} cannot be split into train and test rows ({exc})",
                              "give more rows or test_path") from None
    features = [i for i in range(len(header)) if i not in (t, s)]
    if not features:
        raise table_error(f"{file} has no feature columns besides target and sensitive", "add feature columns")
    cats = [i for i in features if header[i] in categorical]
    nums = [i for i in features if header[i] not in categorical]
    parts_train, parts_test = [], []
    if nums:
        values = np.stack([numbers(table[:, i], header[i], file) for i in nums], 1)  # (N, n_numeric)
        scaler = StandardScaler().fit(values[train])
        parts_train.append(scaler.transform(values[train]))
        parts_test.append(scaler.transform(values[test]))
    if cats:
        encoder = OneHotEncoder(handle_unknown="ignore", sparse_output=False).fit(table[train][:, cats])
        parts_train.append(encoder.transform(table[train][:, cats]))
        parts_test.append(encoder.transform(table[test][:, cats]))
    return {"x_train": np.concatenate(parts_train, 1).astype(np.float32),
            "x_test": np.concatenate(parts_test, 1).astype(np.float32),
            "y_train": y[train], "y_test": y[test], "s_train": s_codes[train], "s_test": s_codes[test],
            "target_values": y_names, "sensitive_values": s_names}


def stamp(*paths: str) -> tuple:
    """(path, size, mtime) of each file that exists: a changed file is a new cache key."""
    found = [Path(p).expanduser() for p in paths if p]
    return tuple((str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in found if f.is_file())


def table(path: str, target: str, sensitive: str, categorical: tuple, test_path: str, test_fraction: float) -> dict:
    if not target or not sensitive:
        raise table_error("target and sensitive must name columns", 'set target = "income", sensitive = "sex" '
                          "(the columns of your file)")
    if not all(isinstance(name, str) and name for name in categorical):
        raise table_error(f"categorical = {list(categorical)!r} must list column names",
                          'set categorical = ["workclass", "education"] (the columns of your file)')
    return load_table(path, target, sensitive, tuple(categorical), test_path, test_fraction,
                      stamp(path, test_path))


def csv_info(path: str, target: str, sensitive: str, categorical: tuple, test_path: str,
             test_fraction: float) -> DataInfo:
    encoded = table(path, target, sensitive, categorical, test_path, test_fraction)
    x_train, x_test = encoded["x_train"], encoded["x_test"]
    return with_sensitive(DataInfo("tabular", (x_train.shape[1],), 2, n_train=len(x_train), n_test=len(x_test)))


def csv_dataset(path: str, target: str, sensitive: str, categorical: tuple, test_path: str,
                test_fraction: float) -> Data:
    encoded = table(path, target, sensitive, categorical, test_path, test_fraction)
    info = csv_info(path, target, sensitive, categorical, test_path, test_fraction)
    tensor = torch.from_numpy
    return Data(info, tensor(encoded["x_train"]), tensor(encoded["x_test"]),
                tensor(encoded["y_train"]), tensor(encoded["y_test"]),
                {SENSITIVE: tensor(encoded["s_train"]), TEST_SENSITIVE: tensor(encoded["s_test"]),
                 "target_values": encoded["target_values"], "sensitive_values": encoded["sensitive_values"]})


PARAMS = {
    "path": Param("", f"required: {SOURCE}"),
    "target": Param("", "required: the binary column to predict, y"),
    "sensitive": Param("", "required: the binary sensitive column, s (not a feature)"),
    "categorical": Param((), "columns to one-hot encode (the rest must be numbers)"),
    "test_path": Param("", "a second file with the same header for the test rows (empty: split path)"),
    "test_fraction": Param(0.2, "fraction of the rows held out for testing when test_path is empty",
                           min=0.0, max=1.0),
}


@hookimpl
def register_datasets(register):
    register(DatasetSpec("csv", "a table with a binary target and a binary sensitive column (Adult, German credit)",
                         csv_dataset, PARAMS, info=csv_info))
