"""`trace NAME`, the headers exchange in `log`, work in `tree`/`explain`, and the predicates lessons 13-16 use.

Every fact is checked against the lab's own state or event log, not against
fixed numbers: who first had a block is compared with the BlockStored
events, hops with the topology's distances.
"""

from __future__ import annotations

from labtest import run

from lab import events as ev
from lab.commands.session import LabConfig, Session


async def _session(**cfg) -> Session:
    return await Session(LabConfig(**{"difficulty": 6, **cfg})).start()


async def _ok(s: Session, line: str) -> str:
    out = await s.execute(line)
    assert out.ok, f"{line}: {out.text}"
    return out.text


def test_trace_a_block_down_a_line_is_a_path_with_each_nodes_own_time():
    async def go():
        s = await _session(nodes=5, topology="line")
        try:
            await _ok(s, "mine A as b1")
            text = await _ok(s, "trace b1")
            h = s.lab.resolve("b1").hash
            p = s.lab.queries.propagation("block", h)
            assert p.origin == "A" and not p.missing
            stored = {r.event.node: (r.event.peer, r.time) for r in s.lab.log.of(ev.BlockStored)
                      if r.event.block == h}
            for x in p.heard:  # whom each node had it from, and when: as the nodes recorded it
                assert x.time == stored[x.node][1]
                assert x.peer == (None if x.node == "A" else stored[x.node][0])
            assert [x.hops for x in p.heard] == [0, 1, 2, 3, 4]  # a line: one more hop per node
            assert [x.node for x in p.heard] == ["A", "B", "C", "D", "E"]
            lines = text.splitlines()
            assert lines[0].startswith("b1 (block 1 ") and "mined by A" in lines[0]
            assert any("E  +" in line and "from D, 4 hops" in line for line in lines)
            assert "at most 4 hops" in text
        finally:
            await s.close()

    run(go())


def test_trace_a_transaction_handed_to_another_node_and_a_stopped_node_missing():
    async def go():
        s = await _session(nodes=4, topology="ring")
        try:
            await _ok(s, "mine A 4")
            await _ok(s, "stop B")
            await _ok(s, "send A C 1 via D as pay")
            p = s.lab.queries.propagation("tx", s.lab.resolve("pay").hash)
            assert p.origin == "A"  # the wallet that made it
            assert p.heard[0].node == "D" and p.heard[0].peer is None  # handed to D first
            assert "B" in p.missing
            text = await _ok(s, "trace pay")
            assert "handed to it by A's wallet" in text and "Not (yet) had it: B." in text
        finally:
            await s.close()

    run(go())


def test_trace_counts_duplicate_announcements_and_pushed_copies():
    async def go():
        s = await _session(nodes=5, topology="mesh")
        try:
            await _ok(s, "relay inv")
            await _ok(s, "mine A as b1")
            await _ok(s, "relay push")
            await _ok(s, "mine A as b2")
            inv = await _ok(s, "trace b1")
            push = await _ok(s, "trace b2")
            # inv: every node downloads b1 once, however many peers announce it
            assert "4 getdata, 4 block" in inv and "inv not answered" in inv
            assert "copies reached a node that already had it" in push and "inv" not in push.split("Frames")[1]
        finally:
            await s.close()

    run(go())


def test_trace_bad_input_is_one_line_with_what_to_type():
    async def go():
        s = await _session()
        try:
            for line in ("trace", "trace nothing", "trace a b"):
                out = await s.execute(line)
                assert not out.ok and len(out.text.splitlines()) == 2, out.text
        finally:
            await s.close()

    run(go())


def test_log_shows_the_headers_exchange_of_a_new_node():
    async def go():
        s = await _session(nodes=3, topology="line")
        try:
            await _ok(s, "mine A 5")
            await _ok(s, "add-node D")
            log = await _ok(s, "log 30")
            asked = [r.event for r in s.lab.log.of(ev.HeadersAsked) if r.event.node == "D"]
            got = [r.event for r in s.lab.log.of(ev.HeadersReceived) if r.event.node == "D"]
            assert asked and asked[0].locator == 1  # a new node names only genesis
            assert got and (got[0].first_height, got[0].last_height, got[0].asked) == (1, 5, 5)
            assert f"D asked {asked[0].peer} for headers after" in log and "(getheaders, a locator of 1 hash)" in log
            assert f"D got 5 headers from {got[0].peer} (heights 1..5" in log and "for 5 blocks (getdata)" in log
            summary = (await s.execute("add-node E")).text
            assert "headers" not in summary  # detail for `log`, not narrated after each command
        finally:
            await s.close()

    run(go())


def test_retarget_lets_a_shorter_chain_have_more_work_and_tree_explain_show_it():
    async def go():
        s = await _session(nodes=4, difficulty=8)
        try:
            await _ok(s, "difficulty retarget 2")
            await _ok(s, "partition A,B | C,D")
            await _ok(s, "mine A 4")
            assert (await s.execute("check difficulty A > 8")).ok
            for _ in range(3):
                await _ok(s, "mine C 2")
                await _ok(s, "run 10m")
            assert (await s.execute("check height C > A")).ok
            assert (await s.execute("check work A > C")).ok
            assert not (await s.execute("check work C > A")).ok
            tree = await _ok(s, "tree")
            work = {n: s.lab.nodes[n].state.chain.tip.chain_work for n in "AC"}
            assert f"work {work['A']:,}" in tree and f"work {work['C']:,}" in tree
            await _ok(s, "heal")
            assert s.lab.nodes["C"].state.chain.tip.hash == s.lab.nodes["A"].state.chain.tip.hash
            explain = await _ok(s, "explain C")
            assert f"with less work ({work['C']:,})" in explain
            assert (await s.execute("check headers C >= 4")).ok
            out = await s.execute("difficulty retarget")
            assert not out.ok and "difficulty retarget 2" in out.text
        finally:
            await s.close()

    run(go())


def test_hops_and_height_between_nodes():
    async def go():
        s = await _session(nodes=4, topology="line")
        try:
            await _ok(s, "mine B as b1")
            assert (await s.execute("check hops b1 == 2")).ok  # B is 2 hops from D
            assert not (await s.execute("check hops b1 < 2")).ok
            assert (await s.execute("check height A == D")).ok
            out = await s.execute("check height A > Q")
            assert not out.ok
        finally:
            await s.close()

    run(go())


def test_trace_a_forged_block_names_the_forger_and_every_refusal():
    async def go():
        s = await _session(nodes=3, topology="mesh")
        try:
            await s.execute("forge A bad-pow")
            text = await _ok(s, "trace LAST_BLOCK")
            h = s.lab.resolve("LAST_BLOCK").hash
            refused = {r.event.node: r.event.code for r in s.lab.log.of(ev.BlockRejected) if r.event.block == h}
            assert set(refused) == {"B", "C"}
            assert "forged by A" in text and "No node has it." in text
            assert all(f"{n} ({c})" in text for n, c in refused.items())
            assert "Not (yet) had it" not in text  # refused is not "not yet"
        finally:
            await s.close()

    run(go())
