"""Tables written by the loaders read back as tables (for the app's source cards)."""

from ingest.loaders.tables import table_text
from kb.tables import parse_row, rows_as_table

ROWS = [["Source status", "Percutaneous injury", "Mucous membrane"],
        ["HIV positive, viral load detectable", "Recommended", "Recommended"],
        ["HIV negative", "Not recommended", "Not recommended"]]


def test_rows_carry_their_headers():
    text = table_text(ROWS)
    assert "HIV positive, viral load detectable: Percutaneous injury: Recommended; Mucous membrane: Recommended" in text


def test_round_trip_to_a_table():
    header, rows = rows_as_table(table_text(ROWS))
    assert header == ROWS[0] and rows == ROWS[1:]


def test_a_single_quoted_row_is_a_table_and_prose_is_not():
    header, rows = rows_as_table("HIV negative: Percutaneous injury: Not recommended; Mucous membrane: Not recommended")
    assert header == ["", "Percutaneous injury", "Mucous membrane"] and rows[0][0] == "HIV negative"
    assert parse_row("PEP should start within 72 hours.") is None
    assert rows_as_table("Note: this is text. More text here.") is None
