"""Mining: build a block template, then search nonces in slices the caller drives.

Follows Bitcoin Core's node/miner.cpp (realname: BlockAssembler::
CreateNewBlock) and the classic getblocktemplate miner loop:

- The template builds on a parent (normally the tip), carries the bits the
  rules require there, a time after the parent's median time past, the
  mempool's best transactions, and a coinbase paying subsidy + fees to the
  miner. The coinbase starts with the height (BIP 34) followed by an extra
  nonce.
- `Miner.search(max_nonces)` tries at most that many nonces and returns, so
  a node can mine a little, let the event loop run, and mine again.
- When all 2^32 nonces are used up, the extra nonce is bumped: a new
  coinbase, hence a new merkle root, hence a fresh nonce space (realname:
  IncrementExtraNonce).

Speed: the header's first 64 bytes (version, parent, 28 bytes of the merkle
root) fill exactly one SHA-256 block, so its compression is done once (the
"midstate"); each nonce only copies that state and hashes the last 16 bytes,
then hashes the 32-byte digest again.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lab.chain.block import Block, BlockHeader
from lab.chain.chainstate import BlockIndex, ChainState
from lab.chain.merkle import merkle_root
from lab.chain.pow import bits_to_target, check_proof_of_work
from lab.chain.tx import Tx, make_coinbase
from lab.params import BLOCK_VERSION, MAX_BLOCK_SIZE

COINBASE_RESERVE = 1_000  # bytes kept free for the header and the coinbase (Core reserves 4,000 weight)
MAX_NONCE = 0xFFFF_FFFF
if TYPE_CHECKING:
    from lab.chain.mempool import Mempool

_U32 = struct.Struct("<I")


@dataclass(frozen=True, slots=True)
class BlockTemplate:
    """Everything a block needs except the nonce (realname: CBlockTemplate)."""

    version: int  # header version
    prev_hash: bytes  # the parent block's hash
    time: int  # header time, unix seconds on the lab clock
    bits: int  # compact target the rules require at `height`
    height: int  # height of the block being built
    txs: tuple[Tx, ...]  # non-coinbase transactions, parents before children
    fees: int  # base units the transactions leave for the miner
    subsidy: int  # new coins the block may create
    pkh: bytes  # 20-byte key hash the coinbase pays

    @property
    def coinbase_value(self) -> int:
        return self.subsidy + self.fees


def make_template(
    chain: ChainState,
    parent: BlockIndex,
    pkh: bytes,
    txs: tuple[Tx, ...] = (),
    fees: int = 0,
    time: int | None = None,
) -> BlockTemplate:
    """A template on any known block. `fees` must be what `txs` pay (0 is always safe)."""
    if time is None:
        time = max(chain.clock(), parent.median_time_past() + 1)
    height = parent.height + 1
    return BlockTemplate(
        version=BLOCK_VERSION,
        prev_hash=parent.hash,
        time=time,
        bits=chain.consensus.expected_bits(parent),
        height=height,
        txs=tuple(txs),
        fees=fees,
        subsidy=chain.consensus.subsidy(height),
        pkh=pkh,
    )


class Miner:
    """Searches nonces for one template; rolls the extra nonce when they run out."""

    def __init__(self, template: BlockTemplate, extra_nonce: int = 0, tag: bytes = b"") -> None:
        self.template = template
        self.tag = tag  # optional bytes after the extra nonce in the coinbase (a miner's signature)
        self.extra_nonce = extra_nonce  # u32 inside the coinbase data
        self.time = template.time  # header time; bumped if even the extra nonces run out
        self.nonce = 0  # next nonce to try
        self.hashes_done = 0  # double-SHA-256 computed so far
        self.target = bits_to_target(template.bits)
        self._top = self.target >> 248  # quick filter: the hash's last byte must not exceed this
        self._build()

    def _build(self) -> None:
        """New coinbase for the current extra nonce, then merkle root and midstate."""
        t = self.template
        extra = _U32.pack(self.extra_nonce) + self.tag
        self.coinbase = make_coinbase(t.height, t.coinbase_value, t.pkh, extra)
        self.txs = (self.coinbase, *t.txs)
        self.merkle_root, _ = merkle_root([tx.txid for tx in self.txs])
        self.prepare_header()

    def prepare_header(self) -> None:
        """Compute the midstate of the header with the current merkle root and time."""
        t = self.template
        head = BlockHeader(t.version, t.prev_hash, self.merkle_root, self.time, t.bits, 0).serialize()[:76]
        self._mid = hashlib.sha256(head[:64])  # the midstate: first 64 bytes compressed once
        self._mid.update(head[64:])  # the 12 bytes before the nonce wait in its buffer

    def _roll(self) -> None:
        """realname: IncrementExtraNonce."""
        self.extra_nonce += 1
        if self.extra_nonce > MAX_NONCE:
            self.extra_nonce = 0
            self.time += 1
        self.nonce = 0
        self._build()

    def block_with_nonce(self, nonce: int) -> Block:
        t = self.template
        return Block(BlockHeader(t.version, t.prev_hash, self.merkle_root, self.time, t.bits, nonce), self.txs)

    def header_prefix(self) -> bytes:
        """The 76 header bytes before the nonce, as the search hashes them."""
        t = self.template
        return BlockHeader(t.version, t.prev_hash, self.merkle_root, self.time, t.bits, 0).serialize()[:76]

    def try_nonce(self, nonce: int) -> Block | None:
        """The block with this nonce if it meets the target (one hash), else None."""
        if not 0 <= nonce <= MAX_NONCE or self._scan(nonce, nonce + 1) is None:
            return None
        return self.block_with_nonce(nonce)

    def search(self, max_nonces: int) -> Block | None:
        """Try up to `max_nonces` nonces; the block if one meets the target, else None."""
        left = max_nonces
        while left > 0:
            if self.nonce > MAX_NONCE:
                self._roll()
            start = self.nonce
            end = min(start + left, MAX_NONCE + 1)
            found = self._scan(start, end)
            stop = end if found is None else found + 1
            self.hashes_done += stop - start
            left -= stop - start
            self.nonce = stop
            if found is not None:
                return self.block_with_nonce(found)
        return None

    def _scan(self, start: int, end: int) -> int | None:
        """The hot loop: every name local, one copy + update + two digests per nonce."""
        copy = self._mid.copy
        sha256 = hashlib.sha256
        pack = _U32.pack
        top, target = self._top, self.target
        for nonce in range(start, end):
            h = copy()
            h.update(pack(nonce))
            d = sha256(h.digest()).digest()
            if d[31] <= top and int.from_bytes(d, "little") <= target:
                return nonce
        return None


def template_from_mempool(chain: ChainState, mempool: Mempool, pkh: bytes, time: int | None = None) -> BlockTemplate:
    """realname: CreateNewBlock: the tip, the mempool's best transactions, subsidy + fees."""
    txs = mempool.select(MAX_BLOCK_SIZE - COINBASE_RESERVE)
    fees = sum(mempool.entries[tx.txid].fee for tx in txs)
    return make_template(chain, chain.tip, pkh, tuple(txs), fees, time)


def mine(template: BlockTemplate, slice_size: int = 100_000) -> Block:
    """Search until a block is found (synchronous; for tests and `mine_block`)."""
    miner = Miner(template)
    while True:
        block = miner.search(slice_size)
        if block is not None:
            return block


def failing_pow(block: Block) -> Block:
    """The same block with the first nonce (from 0) whose hash misses its target.

    What `forge NODE bad-pow` sends, and what tests use to trigger `high-hash`.
    """
    h = block.header
    for nonce in range(1 << 32):
        header = BlockHeader(h.version, h.prev_hash, h.merkle_root, h.time, h.bits, nonce)
        if not check_proof_of_work(header.hash, header.bits):
            return Block(header, block.txs)
    raise ValueError("every nonce meets this target")
