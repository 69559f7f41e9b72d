"""The ledger: the labels the learner gave, and every block and transaction any node saw.

`as NAME` labels a block or transaction; LAST_TX / LAST_BLOCK always name
the latest. `resolve` turns a label, a height or a hash prefix back into a
hash. Blocks and transactions are kept whole so a view can show one after
every node has dropped it (a stale block, an evicted transaction).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lab.chain.block import Block
from lab.chain.crypto import hash_hex
from lab.chain.tx import Tx
from lab.errors import CommandError


@dataclass
class Label:
    kind: str  # "block" | "tx"
    hash: bytes


class Ledger:
    def __init__(self) -> None:
        self.labels: dict[str, Label] = {}
        self.blocks: dict[bytes, Block] = {}  # every block any node stored (or the lab forged)
        self.txs: dict[bytes, Tx] = {}  # every transaction any node saw

    def on_chain_event(self, state: Any, ev: Any) -> None:
        """A node's chain state reports (lab/chain/events.py): keep what it stored."""
        kind = ev.kind
        if kind == "block-connected" or kind == "side-branch":
            h = ev.hash
            if h not in self.blocks:
                block = state.get_block(h)
                if block is not None:
                    self.blocks[h] = block
                    for tx in block.txs:
                        self.txs.setdefault(tx.txid, tx)
        elif kind == "tx-accepted":
            if ev.txid not in self.txs:
                tx = state.get_tx(ev.txid)
                if tx is not None:
                    self.txs[ev.txid] = tx

    def label(self, name: str | None, kind: str, h: bytes) -> None:
        self.labels["LAST_TX" if kind == "tx" else "LAST_BLOCK"] = Label(kind, h)
        if name:
            self.labels[name] = Label(kind, h)

    def resolve(self, ref: str, kind: str | None = None) -> Label:
        """A label, LAST_TX / LAST_BLOCK, or a hash prefix."""
        key = ref.upper() if ref.upper() in ("LAST_TX", "LAST_BLOCK") else ref
        lab = self.labels.get(key) or self.labels.get(ref.lower())
        if lab is not None and (kind is None or lab.kind == kind):
            return lab
        if lab is not None:
            raise CommandError(f"'{ref}' names a {lab.kind}, not a {kind}")
        prefix = ref.lower()
        if len(prefix) >= 4 and all(c in "0123456789abcdef" for c in prefix):
            hits: list[Label] = []
            if kind in (None, "block"):
                hits += [Label("block", h) for h in self.blocks if _matches(h, prefix)]
            if kind in (None, "tx"):
                hits += [Label("tx", t) for t in self.txs if _matches(t, prefix)]
            if len(hits) == 1:
                return hits[0]
            if len(hits) > 1:
                raise CommandError(f"'{ref}' matches {len(hits)} hashes", "type more hex digits")
        what = kind or "block or transaction"
        names = ", ".join(sorted(k for k, v in self.labels.items() if kind is None or v.kind == kind)) or "none yet"
        raise CommandError(f"no {what} called '{ref}'", f"labels: {names}; or a hash prefix of 4+ hex digits")


def _matches(h: bytes, prefix: str) -> bool:
    full = hash_hex(h)
    return full.startswith(prefix) or full.lstrip("0").startswith(prefix)
