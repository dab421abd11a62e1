import pytest

from metropilot.api.pagination import decode_cursor, encode_cursor
from metropilot.shared.errors import InvalidInput


def test_cursor_round_trip() -> None:
    assert decode_cursor(encode_cursor(123456)) == 123456
    assert encode_cursor(None) is None
    assert decode_cursor(None) is None
    assert decode_cursor("") is None


@pytest.mark.parametrize("cursor", ["!!!", "aWQ6eA", "Zm9vOjE"])
def test_cursor_not_issued_here_is_refused(cursor: str) -> None:
    with pytest.raises(InvalidInput, match="pass back next_cursor unchanged"):
        decode_cursor(cursor)
