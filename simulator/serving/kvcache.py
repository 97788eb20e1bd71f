"""Paged KV-cache blocks (vLLM's PagedAttention allocator): fixed-size blocks, allocated as sequences grow.

A sequence of ``n`` cached tokens holds ``ceil(n / block_tokens)`` blocks; blocks are freed when it
finishes or is preempted. The pool is what is left of the KV-cache memory after the weights and the
largest step's activations, times the engine's memory fraction (vLLM's ``gpu_memory_utilization``).
"""

from __future__ import annotations

import math


class BlockPool:
    """A pool of equal KV-cache blocks; tracks which sequence holds how many."""

    def __init__(self, total_blocks: int, block_tokens: int, block_bytes: float) -> None:
        if total_blocks < 0:
            raise ValueError(f"total_blocks(={total_blocks}) must be >= 0")
        if block_tokens < 1:
            raise ValueError(f"block_tokens(={block_tokens}) must be >= 1")
        self.total = total_blocks
        self.block_tokens = block_tokens
        self.block_bytes = block_bytes
        self.free = total_blocks
        self.held: dict[int, int] = {}
        self.peak_used = 0

    def blocks_for(self, tokens: int) -> int:
        """Blocks needed to hold ``tokens`` cached tokens."""
        return math.ceil(max(0, tokens) / self.block_tokens)

    @property
    def used(self) -> int:
        """Blocks held by sequences."""
        return self.total - self.free

    def extra_for(self, seq: int, tokens: int) -> int:
        """Blocks ``seq`` would have to add to hold ``tokens``."""
        return max(0, self.blocks_for(tokens) - self.held.get(seq, 0))

    def can_grow(self, seq: int, tokens: int) -> bool:
        """Whether ``seq`` can grow to ``tokens`` with the blocks free now."""
        return self.extra_for(seq, tokens) <= self.free

    def grow(self, seq: int, tokens: int) -> None:
        """Make ``seq`` hold enough blocks for ``tokens`` (never shrinks; see :meth:`shrink`)."""
        extra = self.extra_for(seq, tokens)
        if extra > self.free:
            raise RuntimeError(f"sequence {seq}: needs {extra} blocks, {self.free} free")  # callers check first
        if extra:
            self.held[seq] = self.held.get(seq, 0) + extra
            self.free -= extra
            self.peak_used = max(self.peak_used, self.used)

    def shrink(self, seq: int, tokens: int) -> None:
        """Keep only the blocks ``tokens`` need (SnapKV's compression after prefill)."""
        keep = self.blocks_for(tokens)
        have = self.held.get(seq, 0)
        if have > keep:
            self.held[seq] = keep
            self.free += have - keep

    def release(self, seq: int) -> int:
        """Free every block of ``seq``; returns how many."""
        n = self.held.pop(seq, 0)
        self.free += n
        return n


__all__ = ["BlockPool"]
