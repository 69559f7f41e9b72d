"""Proof of work: compact `bits`, targets, work, and optional retargeting.

A block's hash, read as a 256-bit little-endian number, must be at most the
target its header's `bits` encodes (realname: CheckProofOfWork). The work a
block proves is 2^256 / (target + 1): the expected number of hashes needed
(realname: GetBlockProof). Chains are compared by the sum of it.

The lab speaks of difficulty as leading zero bits of the hash: 16 zero bits
means about 2^16 tries. `target_for_zero_bits` turns that into a target.
"""

from __future__ import annotations

from functools import lru_cache

from lab.params import MAX_DIFFICULTY, MIN_DIFFICULTY, RETARGET_CLAMP

# A lab uses a handful of `bits` values, and every block and header asks for their
# target and work again (256-bit shifts and a 256-bit division): the pure functions
# below remember their answers.


def set_compact(bits: int) -> tuple[int, bool, bool]:
    """realname: arith_uint256::SetCompact: (target, negative, overflow) of compact `bits`.

    bits = exponent (1 byte) | mantissa (3 bytes, top bit = sign): target =
    mantissa * 256^(exponent - 3). Read exactly as Core reads it, including a
    target that would not fit in 256 bits (overflow) and the sign bit.
    """
    size = bits >> 24
    word = bits & 0x007F_FFFF
    if size <= 3:
        word >>= 8 * (3 - size)  # Core shifts the mantissa itself: the sign test below sees what is left
        target = word
    else:
        target = (word << (8 * (size - 3))) & ((1 << 256) - 1)  # arith_uint256 keeps the low 256 bits
    negative = word != 0 and bool(bits & 0x0080_0000)
    overflow = word != 0 and (size > 34 or (word > 0xFF and size > 33) or (word > 0xFFFF and size > 32))
    return target, negative, overflow


@lru_cache(maxsize=256)
def derive_target(bits: int, pow_limit: int) -> int | None:
    """realname: DeriveTarget: the target, or None when negative, zero, overflowing or too easy."""
    target, negative, overflow = set_compact(bits)
    if negative or target == 0 or overflow or target > pow_limit:
        return None
    return target


@lru_cache(maxsize=256)
def bits_to_target(bits: int) -> int:
    """The target compact `bits` encode; 0 when negative or overflowing (no hash can meet it)."""
    target, negative, overflow = set_compact(bits)
    return 0 if negative or overflow else target


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


@lru_cache(maxsize=256)
def work_from_bits(bits: int) -> int:
    """Expected hashes to find a block at `bits` (realname: GetBlockProof)."""
    target = bits_to_target(bits)
    if target <= 0:
        return 0
    return (1 << 256) // (target + 1)


def hash_meets_target(block_hash: bytes, target: int) -> bool:
    return int.from_bytes(block_hash, "little") <= target


def check_proof_of_work(block_hash: bytes, bits: int) -> bool:
    """realname: CheckProofOfWork: bits in range (DeriveTarget) and the hash at or below the target."""
    target = derive_target(bits, POW_LIMIT)
    return target is not None and hash_meets_target(block_hash, target)


def retarget(old_bits: int, actual_timespan: int, target_timespan: int) -> int:
    """realname: CalculateNextWorkRequired: scale the target by actual/expected time.

    The measured timespan is clamped to [expected/4, expected*4] as in Bitcoin, so
    one retarget moves difficulty by a factor of four at most.
    """
    actual = max(target_timespan // RETARGET_CLAMP, min(actual_timespan, target_timespan * RETARGET_CLAMP))
    target = bits_to_target(old_bits) * actual // target_timespan
    target = min(target, POW_LIMIT)
    return target_to_bits(target)
