"""python-bitcoinlib as an independent referee: helpers shared by the tests in this folder.

python-bitcoinlib (import name `bitcoin`) is a Bitcoin library written
without the lab in mind. If it decodes the lab's bytes, computes the same
hashes and runs the lab's scripts to true, the lab speaks Bitcoin.

Two known gaps in python-bitcoinlib 0.12 are worked around here, the way
Bitcoin Core defines the messages:
- its `msg_headers` reads bare 80-byte headers, but Core sends each header
  followed by a transaction count of 0 (a CBlock with no transactions):
  petertodd/python-bitcoinlib#320. We read the entries as CBlock.
- its `msg_reject` stops before BIP 61's 32-byte hash of the refused block
  or transaction. We read the hash after it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from io import BytesIO
from typing import Any

import bitcoin
import bitcoin.messages as bm
from bitcoin.core import CBlock
from bitcoin.core.serialize import VectorSerializer

PROTOCOL = 70016


@contextlib.contextmanager
def regtest() -> Iterator[None]:
    """python-bitcoinlib's chain parameters are global: regtest inside, mainnet restored after."""
    bitcoin.SelectParams("regtest")
    try:
        yield
    finally:
        bitcoin.SelectParams("mainnet")


def decode_payload(command: str, payload: bytes) -> Any:
    """The message python-bitcoinlib reads from `payload`; AssertionError unless every byte is consumed."""
    f = BytesIO(payload)
    if command == "headers":  # see the module docstring: a vector of CBlock with empty vtx
        msg = bm.msg_headers()
        msg.headers = VectorSerializer.stream_deserialize(CBlock, f)
    else:
        cls = bm.messagemap[command.encode()]
        msg = cls.msg_deser(f, protover=PROTOCOL)
        if command == "reject" and msg.message in (b"block", b"tx"):
            msg.hash = f.read(32)  # BIP 61's data field
    left = f.read()
    assert left == b"", f"python-bitcoinlib left {len(left)} bytes of a {command} unread"
    return msg


def decode_frame(frame: bytes) -> Any:
    """A whole frame (magic, command, length, checksum, payload) through python-bitcoinlib."""
    msg = bm.MsgSerializable.from_bytes(frame, protover=PROTOCOL)  # checks magic and checksum
    assert msg is not None, f"python-bitcoinlib does not know the command of {frame[:24].hex()}"
    command = frame[4:16].rstrip(b"\x00").decode()
    return decode_payload(command, frame[24:])
