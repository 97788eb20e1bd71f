"""The operator emitter every generator shares: numbers operators, sizes tensors, buffers for streaming.

A generator emits operators into an :class:`Emitter` and yields ``em.drain()`` at convenient points
(a layer, a block), so at most a layer's worth of operators is held at a time.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from workloads.dtypes import bits_per_element, tensor_bytes
from workloads.trace import Operator, TensorRef

#: Weight-only integer formats (``weight_dtype`` int8/int4 with a floating-point compute dtype). As in
#: AWQ/GPTQ/gpt-fast checkpoints, only linear layers are quantised: each group of ``group_size`` weights
#: carries one 16-bit scale, and one 16-bit zero point when ``zero_points`` (asymmetric formats; gpt-fast's
#: int4 stores both, group 32, docs/references.md#weight-only-quantisation); embeddings, norms and the LM head
#: stay at the compute dtype. The default group of 128 is AWQ/GPTQ's usual (assumption).
WEIGHT_ONLY = frozenset({"int8", "int4"})
QUANT_GROUP = 128
SCALE_BYTES = 2
#: Arithmetic per weight to turn a stored integer into the compute dtype inside the GEMM kernel, counted
#: from the format [D]: int4 unpacking is a shift and a mask (2), every format converts to float (1), a
#: scale alone is a multiply (1), a scale and a zero point one fused (q − z)·s (2).
DEQUANT_OPS = {("int4", False): 4, ("int4", True): 5, ("int8", False): 2, ("int8", True): 3}
#: Linear layers that weight-only checkpoints keep unquantised.
UNQUANTISED_LINEAR = frozenset({"lm_head", "embed_tokens"})  # embed_tokens: a tied LM head


class Emitter:
    """Numbers operators in order and buffers them until the caller drains them (streaming).

    Parallel (SPMD) emission: while :attr:`group` holds more than one device, every :meth:`emit`
    emits one operator per device of the group (the same shapes: the caller passes per-device
    shards) and returns a *handle*, the first device's id; a dependency on a handle means, for the
    operator of device ``group[i]``, the operator of that handle on the same position ``i``. A
    :meth:`collective` is one operator over the whole group; :meth:`move` sends a value to another
    group (pipeline stages) as ``send_recv`` operators. With one device (the default) operators and
    ids are exactly those of a single-device trace.
    """

    def __init__(
        self,
        dtype: str,
        weight_dtype: str,
        group_size: int = QUANT_GROUP,
        zero_points: bool = False,
        *,
        tensor_parallel: int = 1,
        pipeline_parallel: int = 1,
        expert_parallel: int = 1,
    ) -> None:
        self.dtype = dtype
        self.tp = tensor_parallel
        self.pp = pipeline_parallel
        self.ep = expert_parallel
        # FP8 is a GEMM format: attention, norms, RoPE, softmax and the like compute in fp16 while
        # their tensors are stored at fp8 (TensorRT-LLM's FP8 recipe quantises the linear layers).
        self.vector_dtype = "fp16" if dtype == "fp8" else dtype
        self.weight_dtype = weight_dtype
        self.group_size = group_size
        self.zero_points = zero_points
        self.next_id = 0
        self._buffer: list[Operator] = []
        #: devices every emitted operator is replicated on (a tensor-parallel group)
        self.group: tuple[int, ...] = (0,)
        #: handle -> (operator id per position of its group, that group); only for parallel emission
        self._ids: dict[int, tuple[tuple[int, ...], tuple[int, ...]]] = {}

    def stage_group(self, stage: int) -> tuple[int, ...]:
        """Devices of pipeline stage ``stage``: its tensor-parallel (or expert-parallel) ranks."""
        width = self.tp * self.ep
        return tuple(range(stage * width, (stage + 1) * width))

    def _local(self, handle: int, i: int) -> int:
        entry = self._ids.get(handle)
        if entry is None:
            return handle
        ids = entry[0]
        return ids[i] if i < len(ids) else ids[0]

    def devices_of(self, handle: int | None) -> tuple[int, ...]:
        """The group a handle was emitted on (``(0,)`` for a single-device operator)."""
        if handle is None:
            return self.group
        entry = self._ids.get(handle)
        return entry[1] if entry is not None else (0,)

    def act(self, tensor: str, elements: int, dtype: str | None = None) -> TensorRef:
        """An activation of ``elements`` values (at the compute dtype unless given)."""
        return TensorRef(tensor, "activation", tensor_bytes(elements, dtype or self.dtype))

    def raw(self, tensor: str, nbytes: int) -> TensorRef:
        """An activation given directly in bytes (token ids, indices)."""
        return TensorRef(tensor, "activation", nbytes)

    def weight(self, tensor: str, elements: int, *, linear: bool = False) -> TensorRef:
        """A weight of ``elements`` values at the weight dtype (see :data:`WEIGHT_ONLY` for int8/int4)."""
        if self.weight_dtype not in WEIGHT_ONLY:
            return TensorRef(tensor, "weight", tensor_bytes(elements, self.weight_dtype, "weight"))
        if not linear or tensor in UNQUANTISED_LINEAR:
            return TensorRef(tensor, "weight", tensor_bytes(elements, self.dtype))
        per_group = SCALE_BYTES * (2 if self.zero_points else 1)
        scales = math.ceil(elements / self.group_size) * per_group
        return TensorRef(tensor, "weight", tensor_bytes(elements, self.weight_dtype, "weight") + scales)

    def quantised(self, tensor: str) -> bool:
        """Whether a linear layer's weight ``tensor`` is stored weight-only quantised."""
        return self.weight_dtype in WEIGHT_ONLY and tensor not in UNQUANTISED_LINEAR

    def kv(self, tensor: str, elements: float) -> TensorRef:
        """A KV-cache tensor of ``elements`` values at the compute dtype (fractional: expected-value traces)."""
        return TensorRef(tensor, "kv_cache", math.ceil(elements * bits_per_element(self.dtype) / 8))

    def emit(
        self,
        name: str,
        kind: str,
        phase: str,
        flops: float,
        reads: tuple[TensorRef, ...] = (),
        writes: tuple[TensorRef, ...] = (),
        deps: tuple[int | None, ...] = (),
        dims: Mapping[str, int] | None = None,
        step: int = 0,
        tokens: float = 0.0,
        frees: tuple[str, ...] = (),
        dtype: str | None = None,
    ) -> int:
        """Append one operator (one per device of :attr:`group`); ``None`` deps are dropped. Returns its handle."""
        clean = tuple(sorted({d for d in deps if d is not None}))
        if self.group != (0,):
            return self._emit_parallel(name, kind, phase, flops, reads, writes, clean, dims, step, tokens, frees, dtype)
        op = Operator(
            id=self.next_id,
            name=name,
            kind=kind,
            phase=phase,
            flops=float(flops),
            reads=reads,
            writes=writes,
            deps=clean,
            dtype=dtype or (self.dtype if kind == "matmul" else self.vector_dtype),
            dims=dict(dims or {}),
            step=step,
            tokens=float(tokens),
            frees=frees,
        )
        self._buffer.append(op)
        self.next_id += 1
        return op.id

    def _emit_parallel(
        self,
        name: str,
        kind: str,
        phase: str,
        flops: float,
        reads: tuple[TensorRef, ...],
        writes: tuple[TensorRef, ...],
        deps: tuple[int, ...],
        dims: Mapping[str, int] | None,
        step: int,
        tokens: float,
        frees: tuple[str, ...],
        dtype: str | None,
    ) -> int:
        ids = []
        for i, device in enumerate(self.group):
            op = Operator(
                id=self.next_id,
                name=name,
                kind=kind,
                phase=phase,
                flops=float(flops),
                reads=reads,
                writes=writes,
                deps=tuple(sorted({self._local(d, i) for d in deps})),
                dtype=dtype or (self.dtype if kind == "matmul" else self.vector_dtype),
                dims=dict(dims or {}),
                step=step,
                tokens=float(tokens) if i == 0 else 0.0,
                frees=frees,
                device=device,
            )
            self._buffer.append(op)
            ids.append(self.next_id)
            self.next_id += 1
        self._ids[ids[0]] = (tuple(ids), self.group)
        return ids[0]

    def collective(self, kind: str, name: str, phase: str, step: int, tensor: TensorRef, dep: int) -> int:
        """One collective over :attr:`group` on ``tensor`` (the per-rank buffer), after ``dep`` on every rank."""
        if len(self.group) < 2:
            return dep
        deps = tuple(sorted({self._local(dep, i) for i in range(len(self.group))}))
        op = Operator(
            id=self.next_id,
            name=name,
            kind=kind,
            phase=phase,
            flops=0.0,
            reads=(tensor,),
            writes=(tensor,),
            deps=deps,
            dtype=self.vector_dtype,
            dims={"bytes": tensor.bytes},
            step=step,
            device=self.group[0],
            group=self.group,
        )
        self._buffer.append(op)
        handle = self.next_id
        self.next_id += 1
        self._ids[handle] = ((handle,) * len(self.group), self.group)
        return handle

    def move(
        self, handle: int | None, to: tuple[int, ...], name: str, phase: str, step: int, tensor: TensorRef
    ) -> int | None:
        """``handle``'s value on group ``to``: ``send_recv`` from each position of its group (pipeline stages)."""
        if handle is None:
            return None
        src = self.devices_of(handle)
        if src == to:
            return handle
        ids = []
        created = []
        for i, device in enumerate(to):
            source = src[i] if i < len(src) else src[0]
            dep = self._local(handle, i if i < len(src) else 0)
            if source == device:
                ids.append(dep)
                continue
            created.append(self.next_id)
            op = Operator(
                id=self.next_id,
                name=name,
                kind="send_recv",
                phase=phase,
                flops=0.0,
                reads=(tensor,),
                writes=(tensor,),
                deps=(dep,),
                dtype=self.vector_dtype,
                dims={"bytes": tensor.bytes},
                step=step,
                device=source,
                group=(source, device),
            )
            self._buffer.append(op)
            ids.append(self.next_id)
            self.next_id += 1
        if not created:
            return handle
        self._ids[created[0]] = (tuple(ids), to)
        return created[0]

    def host(
        self, name: str, phase: str, step: int, deps: tuple[int | None, ...], *, kernels: int, host_ops: int, syncs: int
    ) -> int:
        """Framework bookkeeping on the host (kind ``host``): small kernels, host-only calls and read-backs.

        The runtime prices it (``per_kernel_overhead`` × kernels + ``per_host_op_overhead`` × host_ops, and a
        wait for the device when ``syncs`` > 0); under the ``ideal`` runtime it costs nothing.
        """
        return self.emit(
            name, "host", phase, 0, (), (), deps, {"kernels": kernels, "host_ops": host_ops, "syncs": syncs}, step
        )

    def drain(self) -> list[Operator]:
        """Hand over the buffered operators and forget them."""
        out, self._buffer = self._buffer, []
        return out

    def matmul(
        self,
        name: str,
        phase: str,
        step: int,
        m: int,
        n: int,
        k: int,
        inp: TensorRef,
        weight: str,
        out: str,
        deps: tuple[int | None, ...],
        bias: bool = False,
        extra_reads: tuple[TensorRef, ...] = (),
    ) -> int:
        """A linear layer ``out[M,N] = inp[M,K] · W[K,N] (+ b)``.

        A weight-only quantised weight is first turned into the compute dtype by a ``dequant`` operator
        (the in-kernel unpacking, :data:`DEQUANT_OPS` per weight, on the vector unit, no memory traffic of
        its own: it happens in registers), which the GEMM waits for.
        """
        reads = (inp, self.weight(weight, k * n + (n if bias else 0), linear=True), *extra_reads)
        if self.quantised(weight):
            ops = DEQUANT_OPS[(self.weight_dtype, self.zero_points)]
            deq = self.emit(
                name + ".dequant",
                "dequant",
                phase,
                ops * k * n,
                (),
                (),
                deps,
                {"M": k, "N": n},
                step,
                dtype=self.vector_dtype,
            )
            deps = (*deps, deq)
        return self.emit(
            name,
            "matmul",
            phase,
            2 * m * n * k + (m * n if bias else 0),
            reads,
            (self.act(out, m * n),),
            deps,
            {"B": 1, "M": m, "N": n, "K": k},
            step,
        )
