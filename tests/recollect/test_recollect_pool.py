"""Pool format: reading a CSV, derived columns, and clear errors for bad rows."""

from __future__ import annotations

import pytest
from recollect_helpers import WNIDS

from robustness.recollect.pool import PoolFormatError, load_pool

HEADER = "path,wnid,shown,selected\n"


def _write(tmp_path, text, name="pool.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_reads_counts_frequencies_and_class_index(tmp_path):
    path = _write(tmp_path, HEADER + f"a.jpg,{WNIDS[0]},10,7\nb.jpg,{WNIDS[3]},4,1\n")
    pool = load_pool(path)
    assert pool.table["frequency"].tolist() == [0.7, 0.25]
    assert pool.table["class_index"].tolist() == [0, 3]  # position of the wnid in the sorted 1000
    assert pool.table["previous"].tolist() == [False, False]
    assert pool.image_path("a.jpg") == tmp_path / "a.jpg"


def test_optional_columns(tmp_path):
    path = _write(tmp_path, "path,wnid,shown,selected,source,previous,dup_group\n"
                  f"a.jpg,{WNIDS[0]},10,7,flickr,1,g1\nb.jpg,{WNIDS[0]},10,2,,0,\n")  # fmt: skip
    table = load_pool(path).table
    assert table["previous"].tolist() == [True, False]
    assert table["source"].tolist() == ["flickr", ""]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("a.jpg,n99999999,10,3\n", "unknown class 'n99999999' in rows 2"),
        (f"a.jpg,{WNIDS[0]},10,3\nb.jpg,{WNIDS[0]},10,11\n", r"outside \[0, 1\] in rows 3"),
        (f"a.jpg,{WNIDS[0]},10,-1\n", r"outside \[0, 1\]"),
        (f"a.jpg,{WNIDS[0]},0,0\n", "fewer than 1 annotation"),
        (f"a.jpg,{WNIDS[0]},10,3\na.jpg,{WNIDS[0]},10,3\n", "appears more than once"),
        (f"a.jpg,{WNIDS[0]},ten,3\n", "whole numbers"),
    ],
)
def test_bad_rows_are_named(tmp_path, body, message):
    path = _write(tmp_path, HEADER + body)
    with pytest.raises(PoolFormatError, match=message) as info:
        load_pool(path)
    assert str(path) in str(info.value)


def test_missing_column_and_missing_file(tmp_path):
    path = _write(tmp_path, "path,wnid,shown\na.jpg,n01440764,10\n")
    with pytest.raises(PoolFormatError, match="missing column.*selected"):
        load_pool(path)
    with pytest.raises(PoolFormatError, match="not found"):
        load_pool(tmp_path / "absent.csv")


def test_required_number_of_annotations(tmp_path):
    path = _write(tmp_path, HEADER + f"a.jpg,{WNIDS[0]},10,3\nb.jpg,{WNIDS[0]},5,3\n")
    with pytest.raises(PoolFormatError, match="fewer than 10 annotation.*rows 3"):
        load_pool(path, min_annotations=10)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b"\x89PNG\r\n\x1a\n" + bytes(64), "not a CSV text file .it is a PNG image"),
        (b"path,wnid,shown,selected\n", "header but no rows"),
        # every row longer than the header: pandas would take the first fields as an index
        (f"path,wnid,shown,selected\na.jpg,{WNIDS[0]},10,3,extra\n".encode(), "more fields than the header"),
    ],
    ids=["empty", "png", "header-only", "rows-longer-than-header"],
)
def test_unreadable_pool_files_are_one_line_errors(tmp_path, content, message):
    path = tmp_path / "pool.csv"
    path.write_bytes(content)
    with pytest.raises(PoolFormatError, match=message) as info:
        load_pool(path)
    text = str(info.value)
    assert text.startswith(f"{path}: ") and "\n" not in text
    assert "path,wnid,shown,selected" in text  # the expected layout, in the same line
