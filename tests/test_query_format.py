"""`lakeocr query` output: numbers as people write them, and a row cap that says so."""
import pandas as pd

from jobs.query import format_frame


def test_amounts_are_written_out_not_in_scientific_notation():
    df = pd.DataFrame({"file": ["a.png", "b.png", "c.png"], "largest": [4107425461.0, 6493.44, 0.73581]})
    text = format_frame(df)
    assert "e+" not in text and "4107425461" in text and "6493.44" in text and "0.7358" in text


def test_row_cap_and_empty_results():
    df = pd.DataFrame({"n": range(5)})
    assert format_frame(df, max_rows=2).splitlines()[-1] == "... 5 rows, 2 shown"
    assert format_frame(df.iloc[:0]) == "(no rows)"
