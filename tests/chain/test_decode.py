"""Decoding keeps the bytes it read: a decoded transaction or block is the value its bytes encode.

Tx.read keeps the bytes it consumed as the transaction's serialisation and
Block.read counts them as the block's size, instead of writing them again.
That is only right if every encoding the reader accepts is the one the writer
produces (canonical compact sizes, fixed-size fields): checked here on random
transactions, including scripts long enough for 3-byte compact sizes.
"""

from hypothesis import given, settings
from hypothesis import strategies as st

from lab.chain.block import GENESIS, Block, BlockHeader
from lab.chain.tx import OutPoint, Tx, TxIn, TxOut

u32 = st.integers(0, 2**32 - 1)
scripts = st.one_of(st.binary(max_size=40), st.binary(min_size=250, max_size=300))
txins = st.builds(TxIn, st.builds(OutPoint, st.binary(min_size=32, max_size=32), u32), scripts, u32)
txouts = st.builds(TxOut, st.integers(-(2**63), 2**63 - 1), scripts)
txs = st.builds(Tx, st.lists(txins, max_size=4).map(tuple), st.lists(txouts, max_size=4).map(tuple), u32, u32)


@settings(max_examples=100, deadline=None)
@given(txs)
def test_a_decoded_transaction_is_the_one_encoded_with_the_same_bytes_and_txid(tx):
    back = Tx.deserialize(tx.raw)
    assert back == tx
    assert back.raw == tx.raw == Tx(back.inputs, back.outputs, back.version, back.locktime).raw
    assert back.txid == tx.txid
    assert hash(back.inputs) == hash(tx.inputs)


@settings(max_examples=30, deadline=None)
@given(st.lists(txs, min_size=1, max_size=5), u32, u32)
def test_a_decoded_block_has_the_size_and_hash_of_its_bytes(body, time, nonce):
    header = BlockHeader(1, GENESIS.hash, b"\x07" * 32, time, 0x1F00FFFF, nonce)
    block = Block(header, tuple(body))
    raw = block.serialize()
    back = Block.deserialize(raw)
    assert back == block
    assert back.size == block.size == len(raw)
    assert back.hash == block.hash == header.hash
    assert back.header.serialize() == raw[:80]
