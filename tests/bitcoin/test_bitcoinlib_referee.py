"""python-bitcoinlib referees the lab's bytes: blocks, transactions, scripts, signature hashes, messages.

A story: A mines, pays B and C (one payment needs several coins), B pays on,
all of it confirmed. Then a library that has never heard of the lab reads
every block and transaction and must agree on every hash, merkle root and
script; its own signature hash must equal the lab's; a transaction it builds
and signs with a lab key must be accepted by a lab node; and Bitcoin's real
genesis block must parse in the lab with its real hash.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from bitcoin.core import CBlock as BlibBlock
from bitcoin.core import (
    CMutableTransaction,
    CMutableTxIn,
    CMutableTxOut,
    CoreMainParams,
    COutPoint,
    CTransaction,
    b2lx,
)
from bitcoin.core.key import CPubKey
from bitcoin.core.script import (
    SIGHASH_ALL,
    SIGHASH_ANYONECANPAY,
    SIGHASH_NONE,
    SIGHASH_SINGLE,
    CScript,
    RawSignatureHash,
    SignatureHash,
)
from bitcoin.core.scripteval import SCRIPT_VERIFY_P2SH, VerifyScript
from bitcoin.wallet import CBitcoinAddress, CKey
from bitcoinkit import decode_frame, regtest
from labtest import lab_session, run

from lab.chain.block import GENESIS, Block
from lab.chain.crypto import PrivateKey
from lab.chain.tx import SighashCache, Tx
from lab.chain.validation import check_block
from lab.net import messages as m
from lab.net.wire import encode_frame
from lab.params import COIN, PROTOCOL_VERSION, USER_AGENT


@dataclass
class History:
    blocks: list[Block]  # A's active chain, genesis first
    txs: dict[bytes, Tx]  # every confirmed tx by txid
    keys: dict[str, PrivateKey]
    mempool_tx: Tx  # one payment left unconfirmed


async def _story() -> History:
    async with lab_session(nodes=3, difficulty=4, latency_ms=5) as (lab, _):
        await lab.mine("A", 6)
        await lab.settle()
        await lab.send("A", "B", 120 * COIN)  # three 50-coin coinbases as inputs
        await lab.send("A", "C", 1 * COIN)
        await lab.settle()
        await lab.mine("B", 1)
        await lab.settle()
        await lab.send("B", "C", 30 * COIN)
        await lab.settle()
        await lab.mine("C", 1)
        await lab.settle()
        pending = await lab.send("C", "A", 2 * COIN)
        await lab.settle()
        node = lab.node("A")
        chain = node.state.chain
        blocks = [node.state.get_block(idx.hash) for idx in chain.active]
        assert all(b is not None for b in blocks)
        txs = {tx.txid: tx for b in blocks if b is not None for tx in b.txs}
        keys = {n.name: n.state.key for n in lab.nodes.values()}
        return History([b for b in blocks if b is not None], txs, keys, pending)


@pytest.fixture(scope="module")
def history() -> History:
    return run(_story())


def test_every_block_hash_merkle_root_and_txid_agree_with_python_bitcoinlib(history: History) -> None:
    assert sum(len(b.txs) - 1 for b in history.blocks) >= 3  # payments, not only coinbases
    for block in history.blocks:
        theirs = BlibBlock.deserialize(block.serialize())  # refuses trailing bytes
        assert b2lx(theirs.GetHash()) == block.hash_hex
        assert theirs.calc_merkle_root() == block.header.merkle_root
        assert [b2lx(t.GetTxid()) for t in theirs.vtx] == [t.txid_hex for t in block.txs]
        assert theirs.serialize() == block.serialize()


def test_every_coinbase_starts_with_its_height_as_core_writes_it(history: History) -> None:
    for height, block in enumerate(history.blocks[1:], start=1):
        script_sig = block.txs[0].inputs[0].script_sig
        assert script_sig.startswith(bytes(CScript([height])))  # OP_1 .. OP_16 for 1..16
    assert history.blocks[1].txs[0].inputs[0].script_sig[0] == 0x51  # OP_1


def test_every_lab_input_passes_python_bitcoinlibs_VerifyScript(history: History) -> None:
    checked = 0
    for block in history.blocks[1:]:
        for tx in block.txs[1:]:
            theirs = CTransaction.deserialize(tx.raw)
            for n, txin in enumerate(tx.inputs):
                spent = history.txs[txin.prevout.txid].outputs[txin.prevout.index]
                VerifyScript(CScript(txin.script_sig), CScript(spent.script_pubkey), theirs, n, (SCRIPT_VERIFY_P2SH,))
                checked += 1
    assert checked >= 5
    multi = [tx for tx in history.txs.values() if len(tx.inputs) >= 3]
    assert multi, "the story has a payment with several inputs"


def test_a_wrong_signature_fails_python_bitcoinlibs_VerifyScript_too(history: History) -> None:
    """The referee is not a rubber stamp: the lab's scriptSig on another transaction fails there."""
    tx = next(t for t in history.txs.values() if not t.is_coinbase())
    other = next(t for t in history.txs.values() if not t.is_coinbase() and t.txid != tx.txid)
    spent = history.txs[tx.inputs[0].prevout.txid].outputs[tx.inputs[0].prevout.index]
    with pytest.raises(Exception):  # noqa: B017 - VerifyScript raises its own error classes
        VerifyScript(CScript(tx.inputs[0].script_sig), CScript(spent.script_pubkey),
                     CTransaction.deserialize(other.raw), 0, (SCRIPT_VERIFY_P2SH,))


@pytest.mark.parametrize("hash_type", [SIGHASH_ALL, SIGHASH_NONE, SIGHASH_SINGLE, SIGHASH_ALL | SIGHASH_ANYONECANPAY,
                                       SIGHASH_NONE | SIGHASH_ANYONECANPAY, SIGHASH_SINGLE | SIGHASH_ANYONECANPAY])
def test_the_legacy_signature_hash_equals_python_bitcoinlibs(history: History, hash_type: int) -> None:
    tx = max(history.txs.values(), key=lambda t: len(t.inputs))
    theirs = CTransaction.deserialize(tx.raw)
    cache = SighashCache(tx)
    for n, txin in enumerate(tx.inputs):
        code = history.txs[txin.prevout.txid].outputs[txin.prevout.index].script_pubkey
        expected, _err = RawSignatureHash(CScript(code), theirs, n, hash_type)
        assert cache.digest(n, code, hash_type) == expected
    # SIGHASH_SINGLE without a matching output: Bitcoin's "one" instead of an error
    if len(tx.inputs) > len(tx.outputs):
        n = len(tx.inputs) - 1
        expected, _err = RawSignatureHash(CScript(b""), theirs, n, SIGHASH_SINGLE)
        assert cache.digest(n, b"", SIGHASH_SINGLE) == expected


def test_a_tx_built_and_signed_by_python_bitcoinlib_with_a_lab_key_is_accepted() -> None:
    async def story() -> None:
        async with lab_session(nodes=2, difficulty=4, latency_ms=5) as (lab, _):
            await lab.mine("A", 4)
            await lab.settle()
            a, b = lab.node("A"), lab.node("B")
            coin = next(c for c in a.state.wallet.coins() if c.state == "spendable")
            with regtest():
                key = CKey(a.state.key.secret, compressed=True)
                to_b = CBitcoinAddress(b.state.wallet.address).to_scriptPubKey()
                tx = CMutableTransaction([CMutableTxIn(COutPoint(coin.outpoint.txid, coin.outpoint.index))],
                                         [CMutableTxOut(coin.out.value - 20_000, to_b)])
                sighash = SignatureHash(CScript(coin.out.script_pubkey), tx, 0, SIGHASH_ALL)
                sig = key.sign(sighash) + bytes([SIGHASH_ALL])
                tx.vin[0].scriptSig = CScript([sig, CPubKey(a.state.key.pubkey)])
                raw = CTransaction.from_tx(tx).serialize()
            ours = Tx.deserialize(raw)
            assert b.state.accept_tx(ours).status == "accepted"
            await lab.mine("B", 1)
            await lab.settle()
            assert any(op.txid == ours.txid for op, _coin in b.state.chain.utxo.coins_for(b.state.wallet.pkh))

    run(story())


def test_bitcoins_real_genesis_block_parses_in_the_lab_with_its_real_hash() -> None:
    raw = CoreMainParams.GENESIS_BLOCK.serialize()
    genesis = Block.deserialize(raw)
    assert genesis.hash_hex == "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f"
    assert genesis.serialize() == raw
    check_block(genesis)  # proof of work, merkle root, one coinbase: valid by the lab's rules
    assert genesis.txs[0].txid == GENESIS.txs[0].txid  # the lab's genesis carries the same coinbase


def _messages_a_node_sends(history: History) -> list[m.Message]:
    block = history.blocks[-1]
    tx = block.txs[1]
    return [
        m.MsgVersion(PROTOCOL_VERSION, m.NODE_NETWORK, 1_231_006_505, 7, USER_AGENT, len(history.blocks) - 1),
        m.MsgVerack(), m.MsgPing(42), m.MsgPong(42),
        m.MsgInv((m.InvItem(m.MSG_BLOCK, block.hash), m.InvItem(m.MSG_TX, tx.txid))),
        m.MsgGetdata((m.InvItem(m.MSG_TX, history.mempool_tx.txid),)),
        m.MsgNotfound((m.InvItem(m.MSG_TX, b"\x11" * 32),)),
        m.MsgGetheaders(tuple(b.hash for b in reversed(history.blocks))),
        m.MsgHeaders(tuple(b.header for b in history.blocks[1:])),
        m.MsgBlock(block), m.MsgTx(history.mempool_tx), m.MsgGetaddr(),
        m.MsgAddr((m.AddrEntry.ipv4(1_231_006_505, "127.0.0.1", 18444),)),
        m.MsgReject("tx", m.REJECT_INVALID, "mandatory-script-verify-flag-failed (Script evaluated without error "
                    "but finished with a false/empty top stack element)", tx.txid),
    ]


def test_every_message_type_decodes_in_python_bitcoinlib_with_all_bytes_consumed(history: History) -> None:
    sent = _messages_a_node_sends(history)
    assert {msg.msgtype for msg in sent} == set(m.MESSAGEMAP)
    with regtest():  # the lab's network magic is regtest's
        decoded = {msg.msgtype: decode_frame(encode_frame(msg.msgtype, msg.serialize())) for msg in sent}
    version = decoded["version"]
    assert (version.nVersion, version.strSubVer, version.nStartingHeight, version.fRelay) == (
        PROTOCOL_VERSION, USER_AGENT.encode(), len(history.blocks) - 1, 1)
    assert [b2lx(h.GetHash()) for h in decoded["headers"].headers] == [b.hash_hex for b in history.blocks[1:]]
    assert b2lx(decoded["block"].block.GetHash()) == history.blocks[-1].hash_hex
    assert b2lx(decoded["tx"].tx.GetTxid()) == history.mempool_tx.txid_hex
    assert decoded["getheaders"].locator.vHave[0] == history.blocks[-1].hash
    assert decoded["reject"].hash == history.blocks[-1].txs[1].txid
    assert decoded["addr"].addrs[0].port == 18444


def test_a_bitcoin_clients_version_parses_in_the_lab_field_by_field() -> None:
    """What issue 11 found: a real `version` (with addr_recv, addr_from, relay) used to be refused as malformed."""
    import bitcoin.messages as bm

    theirs = bm.msg_version(protover=70016)
    theirs.nStartingHeight = 830_000
    theirs.addrTo.ip, theirs.addrTo.port = "127.0.0.1", 18444
    theirs.fRelay = False
    with regtest():
        frame = theirs.to_bytes()
    ours = m.decode_message("version", frame[24:])
    assert isinstance(ours, m.MsgVersion)
    assert (ours.version, ours.services, ours.timestamp, ours.nonce) == (
        70016, theirs.nServices, theirs.nTime, theirs.nNonce)
    assert ours.user_agent.encode() == theirs.strSubVer and ours.start_height == 830_000
    assert repr(ours.addr_recv).startswith("127.0.0.1:18444") and ours.relay == 0
    assert ours.serialize() == frame[24:]
