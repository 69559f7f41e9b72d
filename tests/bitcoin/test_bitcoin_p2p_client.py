"""A Bitcoin P2P client that knows nothing of the lab syncs from a lab node over 127.0.0.1.

The client is written here with python-bitcoinlib's `bitcoin.messages` and
speaks protocol 70016 as any Bitcoin peer does: version, the 70016 feature
messages (wtxidrelay, sendaddrv2) before verack, ping. It learns the lab's
genesis only from the lab's own `getheaders` locator, syncs the headers,
fetches every block with `getdata`, checks each with python-bitcoinlib's
CheckBlock and runs every input's scripts with its own interpreter against
the coins it has seen. Then it asks for the unconfirmed payment the lab
announced, and sends the lab a payment it built and signed itself.
Every frame the lab sends must decode in python-bitcoinlib with every
byte consumed (bitcoinkit.decode_frame).
"""

from __future__ import annotations

import asyncio
import hashlib
import struct
from typing import Any

import bitcoin.messages as bm
from bitcoin.core import (
    CheckBlock,
    CMutableTransaction,
    CMutableTxIn,
    CMutableTxOut,
    COutPoint,
    CTransaction,
    b2lx,
)
from bitcoin.core.key import CPubKey
from bitcoin.core.script import SIGHASH_ALL, CScript, SignatureHash
from bitcoin.core.scripteval import SCRIPT_VERIFY_P2SH, VerifyScript
from bitcoin.net import CBlockLocator, CInv
from bitcoin.wallet import CBitcoinAddress, CKey
from bitcoinkit import PROTOCOL, decode_frame, regtest
from labtest import lab_session, run

from lab.lab import Lab
from lab.params import COIN

MSG_TX, MSG_BLOCK = 1, 2
TIMEOUT = 10.0  # seconds for any one reply; the lab answers live links on arrival


class BitcoinClient:
    """A minimal Bitcoin peer over one TCP connection: frames in, python-bitcoinlib messages out."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.received: list[str] = []  # every command the lab sent, in order
        self.backlog: list[tuple[str, Any]] = []

    def send(self, msg: Any) -> None:
        self.writer.write(msg.to_bytes())  # regtest magic, checksum: python-bitcoinlib frames it

    def send_raw(self, command: bytes, payload: bytes = b"") -> None:
        """A message python-bitcoinlib has no class for (the 70016 feature negotiation)."""
        checksum = hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]
        header = bytes.fromhex("fabfb5da") + command.ljust(12, b"\x00") + struct.pack("<I", len(payload))
        self.writer.write(header + checksum + payload)

    async def _read_one(self) -> tuple[str, Any]:
        header = await asyncio.wait_for(self.reader.readexactly(24), TIMEOUT)
        (length,) = struct.unpack("<I", header[16:20])
        payload = await asyncio.wait_for(self.reader.readexactly(length), TIMEOUT)
        command = header[4:16].rstrip(b"\x00").decode()
        self.received.append(command)
        return command, decode_frame(header + payload)  # all bytes consumed, or AssertionError

    async def expect(self, command: str) -> Any:
        """The next `command` message; others wait in the backlog; pings are answered."""
        for i, (cmd, _msg) in enumerate(self.backlog):
            if cmd == command:
                return self.backlog.pop(i)[1]
        while True:
            cmd, msg = await self._read_one()
            if cmd == "ping":
                pong = bm.msg_pong()
                pong.nonce = msg.nonce
                self.send(pong)
            if cmd == command:
                return msg
            self.backlog.append((cmd, msg))


async def _story() -> None:
    async with lab_session(nodes=3, difficulty=4, latency_ms=5) as (lab, _):
        await lab.mine("A", 5)
        await lab.settle()
        await lab.send("A", "B", 70 * COIN)
        await lab.settle()
        await lab.mine("B", 2)
        await lab.settle()
        pending = await lab.send("B", "C", 5 * COIN)  # stays in the mempools
        await lab.settle()
        node = lab.node("A")
        reader, writer = await asyncio.open_connection("127.0.0.1", node.port)
        try:
            await _sync(BitcoinClient(reader, writer), lab, pending.txid)
        finally:
            writer.close()


async def _sync(client: BitcoinClient, lab: Lab, pending_txid: bytes) -> None:
    node = lab.node("A")
    with regtest():
        # -- handshake, as a 70016 peer does it
        version = bm.msg_version(protover=PROTOCOL)
        version.nStartingHeight = 0
        client.send(version)
        theirs = await client.expect("version")
        assert theirs.nVersion >= 70016 and theirs.nStartingHeight == node.state.chain.height
        client.send_raw(b"wtxidrelay")  # BIP 339 and BIP 155: sent between version and verack
        client.send_raw(b"sendaddrv2")
        client.send(bm.msg_verack())
        await client.expect("verack")

        ping = bm.msg_ping()
        ping.nonce = 0x1234_5678_9ABC
        client.send(ping)
        assert (await client.expect("pong")).nonce == ping.nonce

        # -- headers: the lab's own getheaders locator ends with its genesis
        their_locator = (await client.expect("getheaders")).locator.vHave
        genesis = their_locator[-1]
        ask = bm.msg_getheaders(protover=PROTOCOL)
        ask.locator = CBlockLocator(protover=PROTOCOL)
        ask.locator.vHave = [genesis]
        client.send(ask)
        headers = (await client.expect("headers")).headers
        assert len(headers) == node.state.chain.height
        prev = genesis
        for h in headers:
            assert h.hashPrevBlock == prev, "headers must chain"
            prev = h.GetHash()
        assert b2lx(prev) == node.state.chain.tip.header.hash_hex

        # -- every block, checked by python-bitcoinlib's own rules and interpreter
        getdata = bm.msg_getdata(protover=PROTOCOL)
        for h in headers:
            inv = CInv()
            inv.type, inv.hash = MSG_BLOCK, h.GetHash()
            getdata.inv.append(inv)
        client.send(getdata)
        coins: dict[tuple[bytes, int], Any] = {}
        scripts_run = 0
        for h in headers:
            block = (await client.expect("block")).block
            assert block.GetHash() == h.GetHash()
            CheckBlock(block, cur_time=block.nTime)  # PoW against regtest's limit, merkle root, coinbase
            for tx in block.vtx:
                for n, txin in enumerate(tx.vin):
                    if not tx.is_coinbase():
                        spent = coins.pop((txin.prevout.hash, txin.prevout.n))
                        VerifyScript(txin.scriptSig, spent.scriptPubKey, tx, n, (SCRIPT_VERIFY_P2SH,))
                        scripts_run += 1
                for n, out in enumerate(tx.vout):
                    coins[(tx.GetTxid(), n)] = out
        assert scripts_run >= 2

        # -- the unconfirmed payment: announced with inv on connecting, fetched with getdata
        announced = (await client.expect("inv")).inv
        assert pending_txid in [i.hash for i in announced if i.type == MSG_TX]
        getdata = bm.msg_getdata(protover=PROTOCOL)
        inv = CInv()
        inv.type, inv.hash = MSG_TX, pending_txid
        getdata.inv.append(inv)
        client.send(getdata)
        tx = (await client.expect("tx")).tx
        assert tx.GetTxid() == pending_txid
        for n, txin in enumerate(tx.vin):
            VerifyScript(txin.scriptSig, coins[(txin.prevout.hash, txin.prevout.n)].scriptPubKey, tx, n,
                         (SCRIPT_VERIFY_P2SH,))

        # -- a payment the client builds and signs itself with a lab key, sent as `tx`
        key = lab.node("C").state.key
        (op, out) = next((k, v) for k, v in coins.items()
                         if v.scriptPubKey == CBitcoinAddress(lab.node("A").state.wallet.address).to_scriptPubKey())
        secret = lab.node("A").state.key
        mine = CMutableTransaction([CMutableTxIn(COutPoint(*op))],
                                   [CMutableTxOut(out.nValue - 30_000, CBitcoinAddress(key.address).to_scriptPubKey())])
        sighash = SignatureHash(out.scriptPubKey, mine, 0, SIGHASH_ALL)
        sig = CKey(secret.secret, compressed=True).sign(sighash) + bytes([SIGHASH_ALL])
        mine.vin[0].scriptSig = CScript([sig, CPubKey(secret.pubkey)])
        payment = bm.msg_tx(protover=PROTOCOL)
        payment.tx = CTransaction.from_tx(mine)
        client.send(payment)
        txid = payment.tx.GetTxid()

        # -- and a question the lab cannot answer: notfound
        getdata = bm.msg_getdata(protover=PROTOCOL)
        inv = CInv()
        inv.type, inv.hash = MSG_TX, b"\x42" * 32
        getdata.inv.append(inv)
        client.send(getdata)
        assert (await client.expect("notfound")).inv[0].hash == b"\x42" * 32
        assert txid in node.state.mempool, "the lab node accepted the client's own payment"
    assert {"version", "verack", "pong", "getheaders", "headers", "block", "inv", "tx", "notfound"} <= set(
        client.received)


def test_a_bitcoin_client_syncs_every_block_from_a_lab_node_and_verifies_every_script() -> None:
    run(_story())
