"""Proof of work: compact `bits`, targets, work, and optional retargeting.

A block's hash, read as a 256-bit little-endian number, must be at most the
target its header's `bits` encodes (realname: CheckProofOfWork). The work a
block proves is 2^256 / (target + 1): the expected number of hashes needed
(realname: GetBlockProof). Chains are compared by the sum of it.

The lab speaks of difficulty as leading zero bits of the hash: 16 zero bits
means about 2^16 tries. `target_for_zero_bits` turns that into a target.
"""

from __future__ import annotations

from lab.params import MAX_DIFFICULTY, MIN_DIFFICULTY, RETARGET_CLAMP


def bits_to_target(bits: int) -> int:
    """Decode compact `bits` (realname: arith_uint256::SetCompact). Negative/overflow -> 0."""
    exponent = bits >> 24
    mantissa = bits & 0x007F_FFFF
    if bits & 0x0080_0000:  # sign bit: a negative target is invalid
        return 0
    if exponent <= 3:
        target = mantissa >> (8 * (3 - exponent))
    else:
        target = mantissa << (8 * (exponent - 3))
    if target >= 1 << 256:
        return 0
    return target


def target_to_bits(target: int) -> int:
    """Encode a target as compact `bits` (realname: arith_uint256::GetCompact)."""
    if target <= 0:
        return 0
    size = (target.bit_length() + 7) // 8
    if size <= 3:
        mantissa = target << (8 * (3 - size))
    else:
        mantissa = target >> (8 * (size - 3))
    if mantissa & 0x0080_0000:  # keep the sign bit clear
        mantissa >>= 8
        size += 1
    return (size << 24) | mantissa


def target_for_zero_bits(zero_bits: int) -> int:
    """The largest compact-representable target whose hashes start with `zero_bits` zeros."""
    if not MIN_DIFFICULTY <= zero_bits <= 255:
        raise ValueError(f"difficulty must be {MIN_DIFFICULTY}..255 zero bits")
    return bits_to_target(target_to_bits((1 << (256 - zero_bits)) - 1))


def bits_for_zero_bits(zero_bits: int) -> int:
    return target_to_bits(target_for_zero_bits(zero_bits))


def zero_bits_of(bits: int) -> float:
    """Difficulty of `bits` in leading zero bits (log2 of expected tries)."""
    target = bits_to_target(bits)
    return 256 - target.bit_length() if target else 256


POW_LIMIT = target_for_zero_bits(MIN_DIFFICULTY)  # the easiest target allowed
HARDEST = target_for_zero_bits(MAX_DIFFICULTY)


def work_from_bits(bits: int) -> int:
    """Expected hashes to find a block at `bits` (realname: GetBlockProof)."""
    target = bits_to_target(bits)
    if target <= 0:
        return 0
    return (1 << 256) // (target + 1)


def hash_meets_target(block_hash: bytes, target: int) -> bool:
    return int.from_bytes(block_hash, "little") <= target


def check_proof_of_work(block_hash: bytes, bits: int) -> bool:
    """realname: CheckProofOfWork: bits in range and the hash at or below the target."""
    target = bits_to_target(bits)
    if target <= 0 or target > POW_LIMIT:
        return False
    return hash_meets_target(block_hash, target)


def retarget(old_bits: int, actual_timespan: int, target_timespan: int) -> int:
    """realname: CalculateNextWorkRequired: scale the target by actual/expected time.

    The measured timespan is clamped to [expected/4, expected*4] as in Bitcoin, so
    one retarget moves difficulty by a factor of four at most.
    """
    actual = max(target_timespan // RETARGET_CLAMP, min(actual_timespan, target_timespan * RETARGET_CLAMP))
    target = bits_to_target(old_bits) * actual // target_timespan
    target = min(target, POW_LIMIT)
    return target_to_bits(target)
