"""The serving engine's scheduler: which sequences run in the next step, and what each step yields.

A discrete-event loop over two kinds of event — a request arrives, a step ends — with the clock jumping
from one to the next (there is nothing to simulate in between: a step's inside is the engine's business,
see :mod:`simulator.serving.stepcost`). Policies:

* ``continuous`` (Orca's iteration-level scheduling with vLLM's paged KV cache and Sarathi/vLLM's chunked
  prefill): every step first gives each running decode its tokens (1, or a Medusa tree), growing its KV
  blocks and preempting the newest sequence when blocks run out; then continues prompts already being
  prefilled, then swaps preempted sequences back in, then admits waiting requests first come first served,
  each up to ``max_batched_tokens`` tokens and ``max_sequences`` sequences per step.
* ``static``: when idle, takes the waiting requests (up to ``max_sequences``, as many as fit padded to the
  longest prompt and output), prefills them together and decodes until the last one is done; nothing joins
  a running batch.

A request that could never fit — its prompt and output need more KV blocks than the whole pool, exceed the
model's context, or (without chunked prefill) exceed ``max_batched_tokens`` — is rejected when it arrives,
with the reason recorded, instead of waiting forever.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from simulator.serving.kvcache import BlockPool
from simulator.serving.stepcost import StepCost
from workloads.serving import MedusaAcceptance, Request, SchedulerSpec
from workloads.serving_step import StepShape


@dataclass
class SeqState:
    """One request inside the engine."""

    req: Request
    prompt: int  # tokens to prefill: the prompt, or prompt + generated after a recompute preemption
    done_prompt: int = 0
    cached: float = 0.0
    generated: float = 0.0
    first_s: float | None = None
    finish_s: float | None = None
    state: str = "waiting"  # waiting | prefill | decode | swapped | done
    accept: MedusaAcceptance | None = None
    preemptions: int = 0


@dataclass(frozen=True)
class StepRecord:
    """One executed step, for the batch timeline and the occupancy series."""

    start_s: float
    latency_s: float
    sequences: int
    tokens: int
    prefill_tokens: int
    kv_blocks: int
    phase: str


@dataclass
class Outcome:
    """What a serving run produced: per-request times, the steps, and the costs to sum."""

    seqs: list[SeqState]
    rejected: list[tuple[int, str]]
    steps: list[StepRecord] = field(default_factory=list)
    costs: list[StepCost] = field(default_factory=list)
    swap_s: float = 0.0
    swap_bytes: float = 0.0
    preemptions: int = 0
    end_s: float = 0.0


@dataclass(frozen=True)
class EngineLimits:
    """What the scheduler needs to know about the model and the memory."""

    decode_tokens: int  # query tokens per decoding sequence per step (1 or the Medusa tree)
    context: int  # the model's max positions (0: unlimited)
    snap_capacity: int | None  # SnapKV: cached prompt tokens after compression (None: no SnapKV)
    swap_bandwidth: float  # bytes/s of the host link


class Scheduler:
    """Runs the requests through the policy; ``cost(shape)`` says what each step costs."""

    def __init__(
        self,
        sched: SchedulerSpec,
        pool: BlockPool,
        limits: EngineLimits,
        cost: Callable[[StepShape], StepCost],
        acceptance: Callable[[Request], MedusaAcceptance | None],
    ) -> None:
        self.sched = sched
        self.pool = pool
        self.limits = limits
        self.cost = cost
        self.acceptance = acceptance

    # -- admission ----------------------------------------------------------------------------

    def reject_reason(self, req: Request) -> str | None:
        """Why a request can never run here, or None."""
        lim = self.limits
        if lim.context and req.prompt_tokens + req.generate_tokens > lim.context:
            return (
                f"request {req.id}: prompt {req.prompt_tokens} + output {req.generate_tokens} tokens exceed the "
                f"model's context of {lim.context} tokens"
            )
        need = req.prompt_tokens + req.generate_tokens + lim.decode_tokens
        blocks = self.pool.blocks_for(need)
        if blocks > self.pool.total:
            gb = self.pool.block_bytes / 1e9
            return (
                f"request {req.id}: prompt {req.prompt_tokens} + output {req.generate_tokens} tokens need "
                f"{blocks} KV-cache blocks ({blocks * gb:.2f} GB) but only {self.pool.total} blocks "
                f"({self.pool.total * gb:.2f} GB) fit beside the weights; it can never be served"
            )
        if not self.sched.chunked_prefill and req.prompt_tokens > self.sched.max_batched_tokens:
            return (
                f"request {req.id}: prompt of {req.prompt_tokens} tokens exceeds max_batched_tokens "
                f"({self.sched.max_batched_tokens}) and chunked_prefill is off"
            )
        return None

    def _admit(self, arrivals: deque[Request], now: float, waiting: deque[SeqState], out: Outcome) -> None:
        """Move the requests arrived by ``now`` to ``waiting``; one that can never run is rejected."""
        while arrivals and arrivals[0].arrival_s <= now:
            req = arrivals.popleft()
            reason = self.reject_reason(req)
            if reason:
                out.rejected.append((req.id, reason))
                continue
            seq = SeqState(req, req.prompt_tokens, accept=self.acceptance(req))
            out.seqs.append(seq)
            waiting.append(seq)

    def run(self, requests: list[Request]) -> Outcome:
        """Simulate every request to completion (or rejection)."""
        if self.sched.policy == "static":
            return self._run_static(requests)
        return self._run_continuous(requests)

    # -- continuous batching ------------------------------------------------------------------

    def _run_continuous(self, requests: list[Request]) -> Outcome:
        sched, pool, lim = self.sched, self.pool, self.limits
        t = lim.decode_tokens
        out = Outcome(seqs=[], rejected=[])
        arrivals = deque(requests)
        waiting: deque[SeqState] = deque()
        running: list[SeqState] = []
        swapped: deque[SeqState] = deque()
        now = 0.0

        def preempt(victim: SeqState) -> float:
            running.remove(victim)
            victim.preemptions += 1
            out.preemptions += 1
            if sched.preemption == "swap" and victim.state == "decode":
                moved = pool.held.get(victim.req.id, 0) * pool.block_bytes
                pool.release(victim.req.id)
                victim.state = "swapped"
                swapped.append(victim)
                out.swap_bytes += moved
                return moved / lim.swap_bandwidth
            pool.release(victim.req.id)
            victim.prompt = victim.req.prompt_tokens + math.floor(victim.generated)
            victim.done_prompt, victim.cached, victim.state = 0, 0.0, "waiting"
            waiting.appendleft(victim)
            return 0.0

        while arrivals or waiting or running or swapped:
            self._admit(arrivals, now, waiting, out)
            budget, slots, swap_s = sched.max_batched_tokens, sched.max_sequences, 0.0
            decodes: list[SeqState] = []
            chunks: list[tuple[SeqState, int]] = []
            for seq in [s for s in running if s.state == "decode"]:
                if seq not in running:  # preempted below for an older sequence
                    continue
                need = math.ceil(seq.cached) + t
                while not pool.can_grow(seq.req.id, need):
                    victim = running[-1]
                    swap_s += preempt(victim)
                    if victim is seq:
                        break
                if seq not in running or budget < t or slots == 0:
                    continue
                pool.grow(seq.req.id, need)
                decodes.append(seq)
                budget -= t
                slots -= 1
            for seq in [s for s in running if s.state == "prefill"]:
                if budget <= 0 or slots == 0:
                    break
                chunk = min(seq.prompt - seq.done_prompt, budget)
                if not pool.can_grow(seq.req.id, math.ceil(seq.cached) + chunk):
                    break
                pool.grow(seq.req.id, math.ceil(seq.cached) + chunk)
                chunks.append((seq, chunk))
                budget -= chunk
                slots -= 1
            while swapped and slots > 0 and budget >= t:
                seq = swapped[0]
                need = math.ceil(seq.cached) + t
                if not pool.can_grow(seq.req.id, need):
                    break
                swapped.popleft()
                pool.grow(seq.req.id, need)
                moved = pool.held[seq.req.id] * pool.block_bytes
                out.swap_bytes += moved
                swap_s += moved / lim.swap_bandwidth
                seq.state = "decode"
                running.append(seq)
                decodes.append(seq)
                budget -= t
                slots -= 1
            while waiting and not swapped and slots > 0 and budget > 0:
                seq = waiting[0]
                remaining = seq.prompt - seq.done_prompt
                if not sched.chunked_prefill and remaining > budget:
                    break
                chunk = min(remaining, budget)
                if not pool.can_grow(seq.req.id, math.ceil(seq.cached) + chunk):
                    break
                waiting.popleft()
                pool.grow(seq.req.id, math.ceil(seq.cached) + chunk)
                seq.state = "prefill"
                running.append(seq)
                chunks.append((seq, chunk))
                budget -= chunk
                slots -= 1
            if not decodes and not chunks:
                if arrivals:
                    now = max(now + swap_s, arrivals[0].arrival_s)
                    continue
                if not (waiting or running or swapped):  # the last arrivals were rejected
                    break
                raise RuntimeError("serving scheduler made no progress")  # admission guarantees progress: a bug
            now = self._step(out, now + swap_s, decodes, chunks, running)
            out.swap_s += swap_s
        out.end_s = now
        return out

    def _step(
        self,
        out: Outcome,
        now: float,
        decodes: list[SeqState],
        chunks: list[tuple[SeqState, int]],
        running: list[SeqState],
    ) -> float:
        """Run one step: its cost, then every sequence's progress at its end. Returns the new time."""
        pool, lim = self.pool, self.limits
        finishing = [(s, c) for s, c in chunks if s.done_prompt + c == s.prompt]
        selects = tuple(
            sorted(s.prompt for s, _ in finishing if lim.snap_capacity is not None and s.prompt >= lim.snap_capacity)
        )
        shape = StepShape(
            decode_seqs=len(decodes),
            decode_kv=sum(round(s.cached) for s in decodes),
            prefill=tuple(sorted((c, round(s.cached)) for s, c in chunks)),
            samples=len(finishing),
            select=selects,
        )
        cost = self.cost(shape)
        end = now + cost.latency_s
        phase = "decode" if not chunks else ("prefill" if not decodes else "mixed")
        out.costs.append(cost)
        out.steps.append(
            StepRecord(
                now,
                cost.latency_s,
                len(decodes) + len(chunks),
                len(decodes) * lim.decode_tokens + shape.prefill_tokens,
                shape.prefill_tokens,
                pool.used,
                phase,
            )
        )
        for seq, chunk in chunks:
            seq.done_prompt += chunk
            seq.cached += chunk
            if seq.done_prompt < seq.prompt:
                continue
            if seq.first_s is None:
                seq.first_s = end
            seq.generated = min(seq.generated + 1.0, float(seq.req.generate_tokens))
            if lim.snap_capacity is not None and seq.prompt >= lim.snap_capacity:
                seq.cached = float(lim.snap_capacity)
                pool.shrink(seq.req.id, lim.snap_capacity)
            seq.state = "decode"
            self._maybe_finish(seq, end, running)
        for seq in decodes:
            left = seq.req.generate_tokens - seq.generated
            got = min(seq.accept.draw() if seq.accept else 1.0, left)
            seq.generated += got
            seq.cached += got
            self._maybe_finish(seq, end, running)
        return end

    def _maybe_finish(self, seq: SeqState, now: float, running: list[SeqState]) -> None:
        if seq.generated >= seq.req.generate_tokens - 1e-9:
            seq.finish_s, seq.state = now, "done"
            self.pool.release(seq.req.id)
            if seq in running:
                running.remove(seq)

    # -- static batching ----------------------------------------------------------------------

    def _run_static(self, requests: list[Request]) -> Outcome:
        sched, pool, lim = self.sched, self.pool, self.limits
        out = Outcome(seqs=[], rejected=[])
        arrivals = deque(requests)
        waiting: deque[SeqState] = deque()
        now = 0.0
        while arrivals or waiting:
            self._admit(arrivals, now, waiting, out)
            if not waiting:
                if arrivals:
                    now = arrivals[0].arrival_s
                continue
            batch: list[SeqState] = []
            p_max = g_max = 0
            for seq in waiting:
                p, g = max(p_max, seq.req.prompt_tokens), max(g_max, seq.req.generate_tokens)
                if (
                    len(batch) == sched.max_sequences
                    or (len(batch) + 1) * pool.blocks_for(p + g + lim.decode_tokens) > pool.total
                ):
                    break
                batch.append(seq)
                p_max, g_max = p, g
            for _ in batch:
                waiting.popleft()
            now = self._static_batch(out, now, batch, p_max)
        out.end_s = now
        return out

    def _static_batch(self, out: Outcome, now: float, batch: list[SeqState], p_max: int) -> float:
        """One padded batch: a prefill of every prompt padded to the longest, then decodes to the last token."""
        pool, lim = self.pool, self.limits
        n = len(batch)
        compress = lim.snap_capacity is not None and p_max >= lim.snap_capacity
        kv_prompt = lim.snap_capacity if compress and lim.snap_capacity is not None else p_max
        for seq in batch:
            pool.grow(seq.req.id, p_max + seq.req.generate_tokens + lim.decode_tokens)
        shape = StepShape(prefill=((p_max, 0),) * n, samples=n, select=(p_max,) * n if compress else ())
        cost = self.cost(shape)
        out.costs.append(cost)
        out.steps.append(StepRecord(now, cost.latency_s, n, n * p_max, n * p_max, pool.used, "prefill"))
        now += cost.latency_s
        padded = float(kv_prompt)
        for seq in batch:
            seq.first_s, seq.generated, seq.cached, seq.state = now, 1.0, float(kv_prompt), "decode"
        while any(s.generated < s.req.generate_tokens - 1e-9 for s in batch):
            shape = StepShape(decode_seqs=n, decode_kv=n * round(padded))
            cost = self.cost(shape)
            out.costs.append(cost)
            out.steps.append(StepRecord(now, cost.latency_s, n, n * lim.decode_tokens, 0, pool.used, "decode"))
            now += cost.latency_s
            for seq in batch:
                left = seq.req.generate_tokens - seq.generated
                if left > 1e-9:
                    got = min(seq.accept.draw() if seq.accept else 1.0, left)
                    seq.generated += got
                    seq.cached += got
            padded = max(s.cached for s in batch)
        for seq in batch:  # a static batch returns together
            seq.finish_s, seq.state = now, "done"
            pool.release(seq.req.id)
        return now


__all__ = ["EngineLimits", "Outcome", "Scheduler", "SeqState", "StepRecord"]
