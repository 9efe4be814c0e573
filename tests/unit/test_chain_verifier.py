"""The chain's verifier over encoded rows, without a database: what it accepts, where it breaks."""

from __future__ import annotations

from uuid import UUID

from domain.chain import GENESIS, LinkVersion, RawRow, encode_row, link, verify, version_at

STREAM = UUID("12345678-1234-5678-1234-567812345678")


def _log(positions: list[int], versions: tuple[LinkVersion, ...]) -> list[RawRow]:
    """Rows as the database read yields them, sealed as the trigger seals them."""
    rows: list[RawRow] = []
    previous = GENESIS
    for version, position in enumerate(positions, start=1):
        state = f'{{"n": {version}, "name": "Prüfung"}}'.encode()
        topic = "domain.events:PhaseAdded"
        sealed_with = version_at(versions, position)
        previous = link(previous, position, STREAM, version, topic, state, link_version=sealed_with)
        rows.append((encode_row(position, STREAM, version, topic, state), previous))
    return rows


BOTH = (LinkVersion(1, 1), LinkVersion(4, 2))


def test_a_log_sealed_under_both_links_verifies_with_gaps_in_its_positions() -> None:
    rows = _log([1, 2, 3, 5, 8], BOTH)

    result = verify(rows, versions=BOTH)

    assert result.ok
    assert (result.events_checked, result.head_position, result.head) == (5, 8, rows[-1][1])


def test_the_position_reported_is_the_one_hashed() -> None:
    rows = _log([1, 2, 3, 5, 8], BOTH)
    encoded, sealed = rows[3]
    # Position 5's row moved to position 6: only its position bytes differ.
    rows[3] = ((6).to_bytes(8, "big") + encoded[8:], sealed)

    result = verify(rows, versions=BOTH)

    assert not result.ok
    assert result.first_broken_position == 6
    assert "between 3 and it" in (result.problem or "")


def test_a_changed_last_row_is_found_at_the_last_position() -> None:
    rows = _log([1, 2, 3, 5, 8], BOTH)
    encoded, sealed = rows[-1]
    rows[-1] = (encoded[:-1] + b"!", sealed)

    result = verify(rows, versions=BOTH)

    assert not result.ok
    assert (result.first_broken_position, result.events_checked) == (8, 4)
    assert result.head == rows[-2][1]
