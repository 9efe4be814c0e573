"""A view table's description: the DDL it writes, and the rows it names."""

from __future__ import annotations

import pytest

from projections.tables import Column, Index, Table

LINKS = Table(
    "links",
    keys=(Column("project_id", "uuid"), Column("milestone_id", "uuid")),
    values=(Column("ordinal", "integer", default="0"), Column("note", "text", null=True)),
    indexes=(
        Index("links_open", ("project_id", "ordinal"), where="note IS NULL"),
        Index("links_by_note", ("note",), using="gin"),
    ),
)


def test_a_table_writes_its_create_statement_then_its_indexes() -> None:
    create, partial, gin = LINKS.ddl()

    assert create == (
        "CREATE TABLE IF NOT EXISTS links (\n"
        "    project_id uuid NOT NULL,\n"
        "    milestone_id uuid NOT NULL,\n"
        "    ordinal integer NOT NULL DEFAULT 0,\n"
        "    note text,\n"
        "    PRIMARY KEY (project_id, milestone_id)\n"
        ")"
    )
    assert partial == (
        "CREATE INDEX IF NOT EXISTS links_open ON links (project_id, ordinal) WHERE note IS NULL"
    )
    assert gin == "CREATE INDEX IF NOT EXISTS links_by_note ON links USING gin (note)"


def test_a_row_is_read_and_written_by_column_name() -> None:
    row = LINKS.row(project_id="p", milestone_id="m", ordinal=1, note=None)

    row.ordinal += 1

    assert (row.project_id, row.milestone_id, row.ordinal, row.note) == ("p", "m", 2, None)
    assert LINKS.astuple(row) == ("p", "m", 2, None)  # what the writes send, in column order
    assert LINKS.key_of(row) == ("p", "m")


def test_a_row_has_no_column_the_table_does_not_describe() -> None:
    row = LINKS.row("p", "m", 1, None)

    with pytest.raises(AttributeError):
        row.ordnial = 3  # a misspelt column fails instead of adding an attribute
    assert not hasattr(row, "__dict__")


def test_a_description_refuses_a_column_twice_or_an_index_on_no_column() -> None:
    with pytest.raises(ValueError, match="described twice"):
        Table("t", keys=(Column("id", "uuid"),), values=(Column("id", "text"),))
    with pytest.raises(ValueError, match="no column"):
        Table("t", keys=(Column("id", "uuid"),), values=(), indexes=(Index("t_x", ("x",)),))
    with pytest.raises(ValueError, match="plain identifier"):
        Column("Name; DROP TABLE t", "text")
