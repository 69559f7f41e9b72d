"""A node's wallet: its coins as that node sees them, and payments it signs.

Follows the shape of Bitcoin Core's wallet (realname: CWallet, GetBalance,
CreateTransaction), much simplified:

- One key per wallet (Bitcoin wallets derive many; reusing one address is
  a privacy simplification).
- The balance is read from the owning node's UTXO set and mempool, so two
  nodes on different branches can disagree about it, which is the point.
  confirmed: mature coins in blocks; immature: coinbase coins younger than
  the maturity; pending_in / pending_out: what mempool transactions will
  add and take away; spendable: what a payment may use now.
- Coin selection is deterministic: oldest coins first (by height, txid,
  output), then the wallet's own unconfirmed change. Bitcoin Core uses
  branch-and-bound with randomness; a lab must give every laptop the same
  transaction.
- Change below the dust limit is added to the fee, as Bitcoin Core does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from lab.chain.amount import format_amount
from lab.chain.crypto import PrivateKey
from lab.chain.mempool import min_relay_fee
from lab.chain.script import SIGHASH_ALL, p2pkh_script_sig
from lab.chain.tx import OutPoint, SighashCache, Tx, TxIn, TxOut
from lab.errors import WalletError
from lab.params import DEFAULT_FEE, DUST_THRESHOLD

if TYPE_CHECKING:
    from lab.chain.chainstate import ChainState
    from lab.chain.mempool import Mempool



def sign_inputs(key: PrivateKey, unsigned: Tx, spent: list[TxOut]) -> tuple[TxIn, ...]:
    """Every input of `unsigned` with a P2PKH scriptSig: <DER signature + SIGHASH_ALL> <pubkey>.

    Input n signs the legacy signature hash with spent[n]'s scriptPubKey as its scriptCode.
    """
    sighashes = SighashCache(unsigned)
    return tuple(
        TxIn(txin.prevout, script_sig_for(key, sighashes.digest(n, out.script_pubkey)), txin.sequence)
        for n, (txin, out) in enumerate(zip(unsigned.inputs, spent, strict=True))
    )


def script_sig_for(key: PrivateKey, digest: bytes) -> bytes:
    """The P2PKH scriptSig carrying `key`'s SIGHASH_ALL signature of `digest`."""
    return p2pkh_script_sig(key.sign(digest) + bytes((SIGHASH_ALL,)), key.pubkey)

@dataclass(frozen=True, slots=True)
class Balance:
    """A wallet's coins in base units, as its node sees them."""

    confirmed: int  # mature coins in the active chain (some may be spent by pending txs)
    immature: int  # coinbase coins still maturing
    pending_in: int  # coming to us in mempool txs (change included), not yet spent again
    pending_out: int  # confirmed coins that mempool txs spend
    spendable: int  # what pay() may use now: unspent mature coins + our own unconfirmed change

    @property
    def total(self) -> int:
        """What we will hold once every pending tx confirms and every coinbase matures."""
        return self.confirmed + self.immature - self.pending_out + self.pending_in


@dataclass(frozen=True, slots=True)
class WalletCoin:
    """One output the wallet owns, for listings."""

    outpoint: OutPoint
    out: TxOut
    height: int | None  # None while unconfirmed
    state: str  # "spendable" | "immature" | "pending-in" | "pending-out"


class Wallet:
    """Coins and payments of one key, seen through one node's chain and mempool."""

    def __init__(self, name: str, key: PrivateKey, chain: ChainState, mempool: Mempool) -> None:
        self.name = name
        self.key = key
        self.chain = chain
        self.mempool = mempool

    @property
    def pkh(self) -> bytes:
        return self.key.pkh

    @property
    def address(self) -> str:
        return self.key.address

    # --- seeing coins --------------------------------------------------------------
    def _immature(self, height: int, coinbase: bool) -> bool:
        return coinbase and self.chain.height + 1 - height < self.chain.consensus.coinbase_maturity

    def _own_tx(self, tx: Tx) -> bool:
        """Every input signed by our key: its change can be trusted before it confirms."""
        return all(i.pubkey == self.key.pubkey for i in tx.inputs)

    def coins(self) -> list[WalletCoin]:
        """Every output of ours the node knows of: confirmed first (oldest first), then mempool."""
        out: list[WalletCoin] = []
        spent = self.mempool.spent_by
        for op, coin in self.chain.utxo.coins_for(self.pkh):
            if op in spent:
                state = "pending-out"
            elif self._immature(coin.height, coin.coinbase):
                state = "immature"
            else:
                state = "spendable"
            out.append(WalletCoin(op, coin.out, coin.height, state))
        for entry in self.mempool.entries.values():
            tx = entry.tx
            for n, o in enumerate(tx.outputs):
                op = OutPoint(tx.txid, n)
                if o.pubkey_hash == self.pkh and op not in spent:
                    out.append(WalletCoin(op, o, None, "spendable" if self._own_tx(tx) else "pending-in"))
        return out

    def balance(self) -> Balance:
        confirmed = immature = pending_in = pending_out = spendable = 0
        for c in self.coins():
            v = c.out.value
            if c.height is None:
                pending_in += v
                if c.state == "spendable":
                    spendable += v
            elif c.state == "immature":
                immature += v
            else:
                confirmed += v
                if c.state == "pending-out":
                    pending_out += v
                else:
                    spendable += v
        return Balance(confirmed, immature, pending_in, pending_out, spendable)

    # --- paying ---------------------------------------------------------------------
    def pay(self, to_pkh: bytes, amount: int, fee: int = DEFAULT_FEE, avoid: frozenset[OutPoint] = frozenset()) -> Tx:
        """A signed transaction paying `amount` to `to_pkh`; NOT submitted (realname: CreateTransaction).

        `avoid`: coins not to use (spent by transactions the mempool does not know, e.g. kept private)."""
        self._check_request(to_pkh, amount, fee)
        need = amount + fee
        picked: list[WalletCoin] = []
        total = 0
        for c in self.coins():
            if c.state != "spendable" or c.outpoint in avoid:
                continue
            picked.append(c)
            total += c.out.value
            if total >= need:
                break
        if total < need:
            raise self._not_enough(amount, fee)
        return self._build(picked, to_pkh, amount, fee)

    def respend(self, spends: list[tuple[OutPoint, TxOut]], to_pkh: bytes, amount: int, fee: int = DEFAULT_FEE) -> Tx:
        """Pay `amount` from exactly these coins, spent or not: a deliberate double spend, NOT submitted."""
        self._check_request(to_pkh, amount, fee)
        if not spends:
            raise WalletError("there are no coins to spend again", "name a payment this wallet made")
        for op, out in spends:
            if out.pubkey_hash != self.pkh:
                raise WalletError(f"coin {op} does not belong to {self.name}", f"only {self.name}'s own coins can be spent again")
        total = sum(out.value for _, out in spends)
        if total < amount + fee:
            raise WalletError(
                f"those coins hold {format_amount(total)}; {format_amount(amount)} asked (+{format_amount(fee)} fee)",
                f"send at most {format_amount(max(total - fee, 0))}",
            )
        coins = [WalletCoin(op, out, None, "spendable") for op, out in spends]
        return self._build(coins, to_pkh, amount, fee)

    def _check_request(self, to_pkh: bytes, amount: int, fee: int) -> None:
        if len(to_pkh) != 20:
            raise WalletError("that is not a 20-byte key hash", "pay to a node name or an address")
        if amount <= 0:
            raise WalletError(f"cannot send {format_amount(amount)} coins", "send an amount above 0, like 1.5")
        if amount < DUST_THRESHOLD:
            raise WalletError(
                f"{format_amount(amount)} coins is below the dust limit of {format_amount(DUST_THRESHOLD)}",
                f"send at least {format_amount(DUST_THRESHOLD)}",
            )
        if fee < 0:
            raise WalletError("a fee cannot be negative", "leave the fee out to pay the default")

    def _build(self, coins: list[WalletCoin], to_pkh: bytes, amount: int, fee: int) -> Tx:
        """Outputs (payment, then change unless it is dust), signatures, and the relay-fee check."""
        total = sum(c.out.value for c in coins)
        outputs = [TxOut.to_pkh(amount, to_pkh)]
        change = total - amount - fee
        if change >= DUST_THRESHOLD:
            outputs.append(TxOut.to_pkh(change, self.pkh))  # change back to ourselves
        else:
            fee += change  # dust change would cost more to spend than it is worth
        tx = self._sign(coins, tuple(outputs))
        floor = min_relay_fee(tx.size)
        if fee < floor:
            raise WalletError(
                f"a fee of {format_amount(fee)} is too low for this {tx.size}-byte transaction; "
                f"nodes relay only from {format_amount(floor)}",
                f"add `fee {format_amount(floor)}`",
            )
        return tx

    def _sign(self, coins: list[WalletCoin], outputs: tuple[TxOut, ...]) -> Tx:
        """realname: SignTransaction: each input signs the legacy SIGHASH_ALL digest of its coin's script."""
        unsigned = Tx(tuple(TxIn(c.outpoint) for c in coins), outputs)
        return unsigned.with_inputs(sign_inputs(self.key, unsigned, [c.out for c in coins]))

    def _not_enough(self, amount: int, fee: int) -> WalletError:
        """The learner-readable refusal, with how to get there."""
        b = self.balance()
        extra = []
        if b.immature:
            extra.append(f"{format_amount(b.immature)} still maturing")
        incoming = sum(c.out.value for c in self.coins() if c.state == "pending-in")
        if incoming:
            extra.append(f"{format_amount(incoming)} unconfirmed from others")
        note = f" ({', '.join(extra)})" if extra else ""
        fee_note = f" (+{format_amount(fee)} fee)" if fee else ""
        message = f"{self.name} has {format_amount(b.spendable)} coins spendable{note}; {format_amount(amount)} asked{fee_note}"
        blocks = self._blocks_until(amount + fee)
        if blocks is not None:
            hint = f"mined coins mature after {self.chain.consensus.coinbase_maturity} blocks: `mine {self.name} {blocks}` first"
        else:
            hint = f"send less, or earn coins first: `mine {self.name}`"
        return WalletError(message, hint)

    def _blocks_until(self, need: int) -> int | None:
        """How many more blocks until maturing coins make `need` spendable, or None if never."""
        have = self.balance().spendable
        maturity = self.chain.consensus.coinbase_maturity
        for c in self.coins():  # oldest first
            if c.state == "immature" and c.height is not None:
                have += c.out.value
                if have >= need:
                    return max(1, c.height + maturity - (self.chain.height + 1))
        return None
