"""The `sighash` figure: how long one many-input transaction takes to check (CVE-2013-2292's shape).

Below the command language, as `hashrate` is: a P2PKH transaction spending N
coins of one key, signed once (not timed), then checked as the mempool checks
it (`check_tx_signatures` with the policy flags and a fresh signature cache, so
every signature is verified). The legacy signature hash serialises the whole
transaction once per input; done naively that is quadratic in the inputs. The
`per input` ratio compares the cost of one input of the big transaction with
one input of the small one: about 1 when the work is linear, about 10 if it
were quadratic.
"""

from __future__ import annotations

from lab.bench.drive import now
from lab.bench.table import Sample
from lab.chain.crypto import PrivateKey, sha256d
from lab.chain.sigcache import SigCache
from lab.chain.tx import OutPoint, Tx, TxIn, TxOut
from lab.chain.utxo import Coin
from lab.chain.validation import check_tx_signatures
from lab.chain.wallet import sign_inputs

SMALL, BIG = 100, 1_000  # inputs (quick: a tenth)


def spend_of(key: PrivateKey, n_inputs: int) -> tuple[Tx, list[Coin]]:
    """A signed tx spending `n_inputs` P2PKH coins of `key` to one output, and the coins it spends."""
    coins = [Coin(TxOut.to_pkh(100_000, key.pkh), 1, False) for _ in range(n_inputs)]
    ins = tuple(TxIn(OutPoint(sha256d(i.to_bytes(4, "little")), 0)) for i in range(n_inputs))
    unsigned = Tx(ins, (TxOut.to_pkh(n_inputs * 90_000, key.pkh),))
    return unsigned.with_inputs(sign_inputs(key, unsigned, [c.out for c in coins])), coins


def _check_ms(tx: Tx, coins: list[Coin]) -> float:
    t0 = now()
    check_tx_signatures(tx, coins, SigCache(), policy=True)
    return (now() - t0) * 1e3


def sighash(quick: bool, runs: int) -> list[Sample]:
    """`value`: ms to check the BIG-input tx; `small`: the SMALL-input tx; `per_input`: their per-input ratio."""
    key = PrivateKey.derive(1, "A")
    small_n, big_n = (SMALL // 10, BIG // 10) if quick else (SMALL, BIG)
    small, big = spend_of(key, small_n), spend_of(key, big_n)
    _check_ms(*small)  # warm up: the first verification loads the curve tables
    out: list[Sample] = []
    for _ in range(runs):
        s, b = _check_ms(*small), _check_ms(*big)
        out.append({"value": b, "small": s, "per_input": (b / big_n) / (s / small_n)})
    return out
