"""A large block from an outsider, taken without holding the event loop (issue 12).

All nodes and the prompt share one event loop, so a handler that runs for
half a second freezes every node. For a block payload of SLICED_BYTES or
more from a peer outside the lab (lab links keep their exact, synchronous
order), the node:

1. checks its 80-byte header before reading the rest: a block whose parent is
   unknown must claim the lab's difficulty and meet it; one the node did not
   ask for whose chain has less work than the tip is not processed (realname:
   AcceptBlock, "Don't process less-work chains") - either way not parsed;
2. parses it in a worker thread (pure, thread-safe work: the GIL's switch
   interval gives the loop a turn every few milliseconds);
3. verifies its scripts in slices into the signature cache
   (chain.validation.preverify_block_scripts), yielding between slices;
4. hands it to the usual synchronous path (Intake.on_block), which finds the
   scripts already checked.

Meanwhile this peer's next frames wait; other peers and the lab go on.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from lab.chain.block import BlockHeader
from lab.chain.validation import check_block_header, orphan_check_bits, preverify_block_scripts
from lab.errors import ProtocolError, ValidationError
from lab.net import messages as m

if TYPE_CHECKING:
    from lab.net.node import Node
    from lab.net.peer import Peer

SLICED_BYTES = 100_000  # block payloads from an outsider of this size or more take the sliced path
SCRIPT_SLICE = 25  # script checks between two turns of the event loop (~5-15 ms)


def worth_slicing(peer: Peer, command: str, payload: bytes) -> bool:
    return command == "block" and len(payload) >= SLICED_BYTES and not peer.lab_link and peer.version is not None


async def take_block(node: Node, peer: Peer, payload: bytes) -> None:
    """Steps 1-4 above. Nothing raised escapes (node.guarded)."""
    if not node.guarded(peer, "block", _header_says_go, node, peer, payload):
        return
    try:
        msg = await asyncio.to_thread(m.decode_message, "block", payload)
    except ProtocolError as e:
        node.guarded(peer, "block", node.misbehaving, peer, e.reason)
        return
    if peer.closed or not isinstance(msg, m.MsgBlock):
        return
    state = node.state
    for _ in preverify_block_scripts(msg.block, state.chain.utxo.get, state.sigcache, slice_size=SCRIPT_SLICE):
        await asyncio.sleep(0)
        if peer.closed:
            return
    node.guarded(peer, "block", node.intake.on_block, peer, msg)


def _header_says_go(node: Node, peer: Peer, payload: bytes) -> bool:
    """Step 1: False when the block was refused or ignored on its header alone (then it is not parsed)."""
    header = BlockHeader.deserialize(payload[:80])
    chain = node.state.chain
    h = header.hash
    if h in chain.index and chain.index[h].have_data or h in chain.orphans:
        return True  # a duplicate: the usual path says so (cheaply)
    requested = h in node.downloads.tracker
    try:
        if header.prev_hash not in chain.index:
            orphan_check_bits(header, node.state.consensus)
            check_block_header(header)
            return True
        if requested:
            return True
        idx = chain.accept_header(header)  # what process_block does first: the header is checked and kept
    except ValidationError as e:
        node.intake.refused(peer, h, e)
        return False
    if not idx.have_data and idx.chain_work < chain.tip.chain_work:
        peer.known.add(h)
        return False  # "ignored": unrequested, less work than the tip (as process_block would say)
    return True

