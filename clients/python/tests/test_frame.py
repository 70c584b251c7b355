"""The framing and address parsing alone, without sockets."""

from __future__ import annotations

from typing import List, Union

import pytest

from msgrouter import (InvalidAddress, InvalidDestination, InvalidMessage,
                       MessageTooLarge, NulInPayload, ReceivedTooLarge)
from msgrouter._address import Address, parse_address
from msgrouter._frame import Deframer, decode_id, encode

TOO_LARGE = "too large"


def drain(d: Deframer) -> List[Union[bytes, str]]:
    """Everything next() gives until None; TOO_LARGE for each raise."""
    out: List[Union[bytes, str]] = []
    while True:
        try:
            m = d.next()
        except ReceivedTooLarge:
            out.append(TOO_LARGE)
            continue
        if m is None:
            return out
        out.append(m)


def test_encode_exact_bytes() -> None:
    assert encode(7, b"hi", 1024) == b"\x00\x00\x00\x07hi\x00"
    assert encode(0, b"", 1) == b"\x00\x00\x00\x00\x00"
    assert encode(0xFFFFFFFF, b"x", 2) == b"\xff\xff\xff\xffx\x00"
    assert encode(0x01020304, bytearray(b"ab"), 3) == \
        b"\x01\x02\x03\x04ab\x00"
    assert encode(5, memoryview(b"\xff\x01"), 3) == \
        b"\x00\x00\x00\x05\xff\x01\x00"


def test_encode_limit_counts_the_nul() -> None:
    assert encode(1, b"a" * 9, 10) == b"\x00\x00\x00\x01" + b"a" * 9 + b"\x00"
    with pytest.raises(MessageTooLarge) as e:
        encode(1, b"a" * 10, 10)
    assert (e.value.size, e.value.limit) == (11, 10)
    assert isinstance(e.value, InvalidMessage)
    assert isinstance(e.value, ValueError)
    assert str(e.value) == ("a message of 10 bytes is over max_message_size "
                            "10 with its 0x00")


def test_encode_refuses_nul() -> None:
    with pytest.raises(NulInPayload) as e:
        encode(1, b"ab\x00cd\x00", 100)
    assert e.value.offset == 2
    assert str(e.value) == ("a payload cannot hold a 0x00 byte (found at "
                            "offset 2)")
    with pytest.raises(NulInPayload):
        encode(1, b"\x00", 100)


@pytest.mark.parametrize("dest", [-1, 2 ** 32, True, 1.0, "7", None])
def test_encode_refuses_destination(dest: object) -> None:
    with pytest.raises(InvalidDestination):
        encode(dest, b"x", 100)  # type: ignore[arg-type]


def test_encode_refuses_str() -> None:
    with pytest.raises(TypeError, match="not str: encode it first"):
        encode(1, "text", 100)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        encode(1, 12, 100)  # type: ignore[arg-type]


def test_decode_id() -> None:
    assert decode_id(b"\x00\x00\x00\x2a") == 42
    assert decode_id(b"\xff\xff\xff\xff") == 0xFFFFFFFF
    with pytest.raises(ValueError):
        decode_id(b"\x00\x01")


def test_byte_at_a_time() -> None:
    d = Deframer(100)
    stream = b"hello\x00\x00world\x00"
    got: List[Union[bytes, str]] = []
    for i in range(len(stream)):
        d.feed(stream[i:i + 1])
        got += drain(d)
        # A message comes out exactly when its 0x00 has been fed.
        assert len(got) == stream[:i + 1].count(0)
    assert got == [b"hello", b"", b"world"]
    assert d.buffered == 0 and not d.in_message


def test_many_in_one_feed() -> None:
    d = Deframer(1000)
    msgs = [b"m%d" % i * (i % 7) for i in range(5000)]
    d.feed(b"".join(m + b"\x00" for m in msgs) + b"partial")
    assert drain(d) == msgs
    assert d.in_message and d.buffered == len(b"partial")
    d.feed(b" end\x00")
    assert drain(d) == [b"partial end"]


def test_limit_exactly() -> None:
    d = Deframer(10)
    d.feed(b"a" * 9 + b"\x00" + b"b" * 10 + b"\x00" + b"c\x00")
    assert drain(d) == [b"a" * 9, TOO_LARGE, b"c"]


def test_too_large_across_feeds_is_skipped_once() -> None:
    d = Deframer(10)
    d.feed(b"ok\x00" + b"x" * 6)
    assert drain(d) == [b"ok"]
    d.feed(b"x" * 3)                   # 9 bytes: still fits with its 0x00
    assert drain(d) == []
    d.feed(b"x")                       # 10: over the bound, reported now
    assert drain(d) == [TOO_LARGE]
    for _ in range(1000):              # the rest is discarded as it comes
        d.feed(b"y" * 1000)
        assert d.buffered == 0
    assert drain(d) == []
    d.feed(b"yyy\x00after\x00")
    assert drain(d) == [b"after"]


def test_tail_joined_with_next_chunk_checked() -> None:
    d = Deframer(10)
    d.feed(b"12345")
    d.feed(b"67890\x00next\x00")       # 10 bytes: too large once joined
    assert drain(d) == [TOO_LARGE, b"next"]


def test_bounded_without_nul() -> None:
    d = Deframer(4096)
    for _ in range(100):
        d.feed(b"z" * 1000)
        assert d.buffered < 4096
    assert drain(d) == [TOO_LARGE]


@pytest.mark.parametrize("text, want", [
    ("127.0.0.1:8080", Address("127.0.0.1", 8080, None)),
    ("localhost:1", Address("localhost", 1, None)),
    ("[::1]:65535", Address("::1", 65535, None)),
    ("unix:/run/m.sock", Address(None, 0, "/run/m.sock")),
    ("unix:rel/path", Address(None, 0, "rel/path")),
])
def test_parse_address(text: str, want: Address) -> None:
    assert parse_address(text) == want
    assert str(parse_address(text)) == text


@pytest.mark.parametrize("text", [
    "", "localhost", "127.0.0.1", "127.0.0.1:", "127.0.0.1:0",
    "127.0.0.1:65536", "127.0.0.1:80x", ":8080", "::1:8080", "[::1]8080",
    "[::1]:", "[127.0.0.1]:80", "unix:", "127.0.0.1:+80", "127.0.0.1:٣",
])
def test_parse_address_refuses(text: str) -> None:
    with pytest.raises(InvalidAddress):
        parse_address(text)
