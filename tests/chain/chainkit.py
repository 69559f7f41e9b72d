"""Small helpers the consensus tests share (imported by name, unlike conftest fixtures)."""

from __future__ import annotations

from lab.chain.node_state import BlockResult


def raised(result: BlockResult) -> BlockResult:
    """Raise the error of a refused block (process_block returns it instead of raising),
    so block and transaction scenarios read alike inside `pytest.raises`."""
    if result.error is not None:
        raise result.error
    return result
