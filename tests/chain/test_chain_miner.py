"""The miner: templates, bounded nonce slices, extra-nonce rolling, BIP 34 coinbases."""

from __future__ import annotations

from dataclasses import replace

from lab.chain import pow
from lab.chain.consensus import Consensus
from lab.chain.miner import MAX_NONCE, Miner, make_template
from lab.chain.tx import coinbase_height


def test_search_in_slices_finds_a_valid_block(world) -> None:
    a = world.node("A")
    miner = Miner(a.block_template())
    block = None
    while block is None:
        block = miner.search(1)  # one nonce per slice: the caller stays in charge
    assert pow.check_proof_of_work(block.hash, block.header.bits)
    assert miner.hashes_done == block.header.nonce + 1
    assert coinbase_height(block.txs[0].inputs[0].script_sig) == 1
    assert a.process_block(block).status == "new-tip"


def test_a_slice_stops_after_max_nonces(world) -> None:
    a = world.node("A")
    hard = replace(a.block_template(), bits=pow.bits_for_zero_bits(40))
    miner = Miner(hard)
    assert miner.search(500) is None
    assert (miner.hashes_done, miner.nonce) == (500, 500)


def test_nonce_space_exhausted_rolls_the_extra_nonce(world) -> None:
    a = world.node("A")
    hard = replace(a.block_template(), bits=pow.bits_for_zero_bits(40))
    miner = Miner(hard)
    first_coinbase = miner.coinbase.txid
    miner.nonce = MAX_NONCE - 4  # five nonces left
    assert miner.search(12) is None
    assert (miner.extra_nonce, miner.nonce, miner.hashes_done) == (1, 7, 12)
    assert miner.coinbase.txid != first_coinbase
    assert coinbase_height(miner.coinbase.inputs[0].script_sig) == 1


def test_rolled_block_is_valid(world) -> None:
    a = world.node("A")
    miner = Miner(a.block_template())
    miner.nonce = MAX_NONCE + 1  # as if every nonce had failed
    block = miner.search(1_000)
    assert block is not None and miner.extra_nonce == 1
    assert a.process_block(block).status == "new-tip"


def test_template_time_is_after_median_time_past(world) -> None:
    a = world.node("A")
    world.mine(a, 3)
    world.clock.now -= 10_000  # the clock lags behind the blocks' times
    t = a.block_template()
    assert t.time == a.chain.tip.median_time_past() + 1
    assert t.bits == a.consensus.expected_bits(a.chain.tip)


def test_template_on_another_parent(world) -> None:
    a = world.node("A")
    world.mine(a, 2)
    t = make_template(a.chain, a.chain.active[1], a.key.pkh)
    assert (t.height, t.prev_hash, t.subsidy) == (2, a.chain.active[1].hash, Consensus().subsidy(2))
