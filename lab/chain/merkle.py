"""Bitcoin's merkle root, including its odd-count rule and mutation check.

Each level pairs neighbouring hashes and hashes each pair with sha256d; a
level of odd length repeats its last hash. That repetition lets two different
transaction lists share a root (CVE-2012-2459: [a, b, c] and [a, b, c, c]), so
like Bitcoin Core's ComputeMerkleRoot we report a level whose pair of
neighbours are equal as *mutated*; a block with a mutated tree is refused
(`bad-txns-duplicate`) without marking its hash invalid.
"""

from __future__ import annotations

from lab.chain.crypto import sha256d


def merkle_root(hashes: list[bytes]) -> tuple[bytes, bool]:
    """(root, mutated) of a list of 32-byte hashes (txids in block order)."""
    if not hashes:
        return b"\x00" * 32, False
    level = list(hashes)
    mutated = False
    while len(level) > 1:
        for i in range(0, len(level) - 1, 2):
            if level[i] == level[i + 1]:
                mutated = True
        if len(level) % 2:
            level.append(level[-1])
        level = [sha256d(level[i] + level[i + 1]) for i in range(0, len(level), 2)]
    return level[0], mutated


def merkle_branch(hashes: list[bytes], index: int) -> list[bytes]:
    """The sibling hashes proving hashes[index] is in the tree (for teaching SPV)."""
    branch = []
    level = list(hashes)
    while len(level) > 1:
        if len(level) % 2:
            level.append(level[-1])
        branch.append(level[index ^ 1])
        level = [sha256d(level[i] + level[i + 1]) for i in range(0, len(level), 2)]
        index //= 2
    return branch


def verify_branch(leaf: bytes, branch: list[bytes], index: int, root: bytes) -> bool:
    h = leaf
    for sibling in branch:
        h = sha256d(sibling + h) if index & 1 else sha256d(h + sibling)
        index //= 2
    return h == root
