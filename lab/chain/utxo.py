"""The UTXO set: every unspent output, and the undo data to take a block back.

Bitcoin does not keep balances. It keeps the set of unspent transaction
outputs (realname: CCoinsView / pcoinsTip): a transaction spends some and
creates others. To disconnect a block during a reorganisation, a node must
put back exactly the coins that block spent, so connecting a block records
them (realname: CBlockUndo, one CTxUndo per non-coinbase transaction).

This module only applies and reverts; whether a spend is *allowed* is
validation.py's job.
"""

from __future__ import annotations

from collections.abc import ItemsView, Iterator
from dataclasses import dataclass

from lab.chain.script import is_unspendable
from lab.chain.tx import OutPoint, Tx, TxOut
from lab.errors import LabError

MEMPOOL_HEIGHT = 0x7FFF_FFFF  # realname: MEMPOOL_HEIGHT, the "height" of an unconfirmed coin


@dataclass(frozen=True, slots=True)
class Coin:
    """An unspent output and where it was made (realname: Coin)."""

    out: TxOut  # value and the script that locks it
    height: int  # height of the block that created it (MEMPOOL_HEIGHT if unconfirmed)
    coinbase: bool  # coinbase outputs must mature before they are spent


TxUndo = tuple[Coin, ...]  # coins one transaction spent, in input order
BlockUndo = tuple[TxUndo, ...]  # one TxUndo per non-coinbase transaction, in block order


class UtxoError(LabError):
    """The UTXO set and a block disagree: a bug, never a learner's fault."""


class UtxoSet:
    """Mapping OutPoint -> Coin, plus an index by owner key hash for wallets."""

    __slots__ = ("_coins", "_by_pkh")

    def __init__(self) -> None:
        self._coins: dict[OutPoint, Coin] = {}
        self._by_pkh: dict[bytes, dict[OutPoint, Coin]] = {}

    # --- mapping --------------------------------------------------------------
    def __getitem__(self, op: OutPoint) -> Coin:
        return self._coins[op]

    def get(self, op: OutPoint) -> Coin | None:
        return self._coins.get(op)

    def __contains__(self, op: object) -> bool:
        return op in self._coins

    def __len__(self) -> int:
        return len(self._coins)

    def __iter__(self) -> Iterator[OutPoint]:
        return iter(self._coins)

    def items(self) -> ItemsView[OutPoint, Coin]:
        return self._coins.items()

    def snapshot(self) -> dict[OutPoint, Coin]:
        """A plain dict copy, for comparisons in tests and invariant checks."""
        return dict(self._coins)

    def total_value(self) -> int:
        return sum(c.out.value for c in self._coins.values())

    def coins_for(self, pkh: bytes) -> list[tuple[OutPoint, Coin]]:
        """Unspent outputs locked to `pkh`, sorted by (height, txid, index): stable everywhere."""
        mine = self._by_pkh.get(pkh, {})
        return sorted(mine.items(), key=lambda kv: (kv[1].height, kv[0].txid, kv[0].index))

    # --- single coins -----------------------------------------------------------
    def add(self, op: OutPoint, coin: Coin) -> None:
        if op in self._coins:
            raise UtxoError(f"output {op} already exists")
        self._coins[op] = coin
        pkh = coin.out.pubkey_hash
        if pkh is not None:  # only P2PKH coins belong to a wallet
            self._by_pkh.setdefault(pkh, {})[op] = coin

    def spend(self, op: OutPoint) -> Coin:
        coin = self._coins.pop(op, None)
        if coin is None:
            raise UtxoError(f"output {op} is not unspent")
        pkh = coin.out.pubkey_hash
        if pkh is not None:
            mine = self._by_pkh[pkh]
            del mine[op]
            if not mine:
                del self._by_pkh[pkh]
        return coin

    # --- whole transactions and blocks ----------------------------------------------
    def apply_tx(self, tx: Tx, height: int) -> TxUndo:
        """Spend tx's inputs (none for a coinbase) and add its outputs; return the spent coins.

        An OP_RETURN output can never be spent, so it never enters the set (realname: AddCoins).
        """
        spent = () if tx.is_coinbase() else tuple(self.spend(i.prevout) for i in tx.inputs)
        cb = tx.is_coinbase()
        for n, out in enumerate(tx.outputs):
            if not is_unspendable(out.script_pubkey):
                self.add(OutPoint(tx.txid, n), Coin(out, height, cb))
        return spent

    def undo_tx(self, tx: Tx, undo: TxUndo) -> None:
        """Exactly reverse apply_tx: remove tx's outputs, restore the coins it spent."""
        if not tx.is_coinbase() and len(undo) != len(tx.inputs):
            raise UtxoError(f"undo data for {tx!r} has {len(undo)} coins for {len(tx.inputs)} inputs")
        for n in range(len(tx.outputs) - 1, -1, -1):
            if not is_unspendable(tx.outputs[n].script_pubkey):
                self.spend(OutPoint(tx.txid, n))
        if not tx.is_coinbase():
            for txin, coin in zip(reversed(tx.inputs), reversed(undo), strict=True):
                self.add(txin.prevout, coin)

    def disconnect_block(self, txs: tuple[Tx, ...], undo: BlockUndo) -> None:
        """realname: DisconnectBlock. Transactions are reverted last-first."""
        if len(undo) != len(txs) - 1:
            raise UtxoError("undo data does not match the block")
        for i in range(len(txs) - 1, 0, -1):
            self.undo_tx(txs[i], undo[i - 1])
        self.undo_tx(txs[0], ())
