"""Shared helpers for the consensus tests: a manual clock, nodes at trivial difficulty.

Difficulty 1 zero bit means every other hash is a valid block, so mining is
instant and tests exercise the real proof-of-work code path anyway.
"""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from lab.chain import pow
from lab.chain.block import Block, BlockHeader
from lab.chain.chainstate import BlockIndex
from lab.chain.consensus import Consensus
from lab.chain.crypto import PrivateKey
from lab.chain.merkle import merkle_root
from lab.chain.miner import make_template, mine
from lab.chain.node_state import NodeState
from lab.chain.tx import OutPoint, Tx, TxIn, TxOut
from lab.chain.wallet import sign_inputs
from lab.params import GENESIS_TIME, TARGET_BLOCK_INTERVAL

START = GENESIS_TIME + 1_000_000  # the lab clock starts well after genesis


class Clock:
    """A virtual clock the test moves by hand."""

    def __init__(self, now: int = START) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now

    def advance(self, seconds: int = TARGET_BLOCK_INTERVAL) -> int:
        self.now += seconds
        return self.now


class World:
    """Nodes sharing one clock and one set of rules, plus helpers to build blocks and txs."""

    def __init__(self, zero_bits: int = 1, **consensus_kwargs: int) -> None:
        self.clock = Clock()
        self.consensus = Consensus.with_difficulty(zero_bits, **consensus_kwargs)
        self.nodes: dict[str, NodeState] = {}

    def node(self, name: str, **kwargs: int) -> NodeState:
        n = NodeState(name, self.key(name), self.consensus, self.clock, **kwargs)
        self.nodes[name] = n
        return n

    # --- blocks --------------------------------------------------------------
    def block_on(
        self,
        node: NodeState,
        parent: bytes | BlockIndex | None = None,
        txs: Iterable[Tx] = (),
        *,
        to: bytes | None = None,
        time: int | None = None,
        fees: int = 0,
    ) -> Block:
        """A valid-PoW block on any known parent (default: the tip), not processed."""
        if parent is None:
            pidx = node.chain.tip
        elif isinstance(parent, BlockIndex):
            pidx = parent
        else:
            pidx = node.chain.index[parent]
        self.clock.advance()
        t = make_template(node.chain, pidx, to or node.key.pkh, tuple(txs), fees, time)
        return mine(t)

    def mine(self, node: NodeState, n: int = 1, *, also: Iterable[NodeState] = ()) -> list[Block]:
        """`node` mines n blocks on its tip (with its mempool); each is processed by it and `also`."""
        out = []
        also = list(also)
        for _ in range(n):
            self.clock.advance()
            block = node.mine_block()
            node.process_block(block)
            for other in also:
                other.process_block(block)
            out.append(block)
        return out

    def branch(self, node: NodeState, parent: bytes, n: int, *, to: bytes | None = None) -> list[Block]:
        """n blocks in a row on `parent`, built on `node`'s view but NOT processed."""
        out: list[Block] = []
        # Build on a scratch node so the branch's headers are known when we chain them.
        scratch = NodeState("scratch", self.key("scratch"), self.consensus, self.clock)
        for idx in self._path(node.chain.index[parent]):
            if idx.height:
                scratch.process_block(node.chain.blocks[idx.hash])
        for _ in range(n):
            b = self.block_on(scratch, parent, to=to or node.key.pkh)
            scratch.process_block(b)
            out.append(b)
            parent = b.hash
        return out

    # --- static helpers -------------------------------------------------------
    @staticmethod
    def _path(idx: BlockIndex) -> list[BlockIndex]:
        out = []
        node: BlockIndex | None = idx
        while node is not None:
            out.append(node)
            node = node.parent
        return out[::-1]

    @staticmethod
    def key(name: str) -> PrivateKey:
        return PrivateKey.derive(1, name)

    @staticmethod
    def signed_tx(
        owner: PrivateKey, spends: list[tuple[OutPoint, TxOut]], outputs: list[TxOut], *, locktime: int = 0, sequence: int = 0xFFFF_FFFF
    ) -> Tx:
        """A tx spending `spends` (outpoint, spent output) signed by `owner`."""
        unsigned = Tx(tuple(TxIn(op, sequence=sequence) for op, _ in spends), tuple(outputs), locktime=locktime)
        return unsigned.with_inputs(sign_inputs(owner, unsigned, [out for _, out in spends]))

    @staticmethod
    def coinbase_coin(block: Block) -> tuple[OutPoint, TxOut]:
        cb = block.txs[0]
        return OutPoint(cb.txid, 0), cb.outputs[0]

    @staticmethod
    def with_txs(block: Block, txs: tuple[Tx, ...], *, fix_merkle: bool = True) -> Block:
        """The same header with other transactions, re-mined so the PoW is valid."""
        root = merkle_root([t.txid for t in txs])[0] if fix_merkle else block.header.merkle_root
        return World.remine(block, merkle_root=root, txs=txs)

    @staticmethod
    def remine(block: Block, *, txs: tuple[Tx, ...] | None = None, **header_fields: int | bytes) -> Block:
        """Change header fields (and/or txs) and search a nonce again."""
        h = block.header
        fields = {
            "version": h.version,
            "prev_hash": h.prev_hash,
            "merkle_root": h.merkle_root,
            "time": h.time,
            "bits": h.bits,
        }
        fields.update(header_fields)
        for nonce in range(1 << 20):
            header = BlockHeader(nonce=nonce, **fields)  # type: ignore[arg-type]
            if pow.check_proof_of_work(header.hash, header.bits):
                return Block(header, txs if txs is not None else block.txs)
        raise RuntimeError("no nonce found")


@pytest.fixture
def make_world() -> type[World]:
    """The World class, for tests that need other rules (difficulty, retargeting)."""
    return World


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def funded(world: World) -> tuple[World, NodeState]:
    """Node A with 4 blocks of its own: the first coinbase is mature (maturity 3)."""
    a = world.node("A")
    world.mine(a, 4)
    return world, a

