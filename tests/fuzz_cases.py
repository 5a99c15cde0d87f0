"""Bad and edge-case inputs for every public function, and the one oracle they must satisfy.

Shared by ``tests/test_fuzz_api.py`` (hypothesis draws from these kinds) and
``tests/fuzz_census.py`` (a fixed sweep over all of them that counts outcomes).

The oracle: a call either returns a finite value that passes the case's own check (a closed
form or an invariant), or raises ``il.InfoLensError`` whose message has the one shape
"The 'name' parameter of fn must be ... Got ... instead." and names a parameter the case allows.
Anything else (another exception type, a non-finite or wrong value, a call over the time limit,
an error naming the wrong parameter) is an ``other`` outcome: a fault.
"""

from __future__ import annotations

import collections
import math
import re
import signal
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

import infolens as il

#: A call slower than this (seconds) is a fault.
TIME_LIMIT = 5.0
N = 40
_MESSAGE = re.compile(r"^The '(.+?)' parameter of (\S+) must be .+\. Got .+ instead\.$", re.S)


@dataclass(frozen=True)
class Case:
    """One call: what it is, the parameters an error may name, and a check of its value."""

    target: str
    kind: str
    call: Callable[[], Any]
    names: frozenset[str]
    check: Callable[[Any], str | None] | None = None
    finite: bool = True  # False where +inf is the documented answer (the check decides)


@dataclass
class Outcome:
    kind: str  # "ok", "error", "signature" (Python's TypeError for an unknown keyword) or "other"
    detail: str = ""
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


# ----------------------------------------------------------------------------------- the oracle
def _non_finite(value: Any, path: str = "result") -> str | None:
    """Where a result holds a NaN or inf (None if nowhere)."""
    if isinstance(value, il.Estimate):
        if not math.isfinite(value.value):
            return f"{path}.value = {value.value}"
        if value.ci is not None and not all(math.isfinite(v) for v in value.ci):
            return f"{path}.ci = {value.ci}"
        return None
    if isinstance(value, torch.Tensor):
        if value.is_floating_point() and value.device.type != "meta" \
                and not bool(torch.isfinite(value.detach()).all()):
            return f"{path} (tensor) has non-finite entries"
        return None
    if isinstance(value, np.ndarray):
        if np.issubdtype(value.dtype, np.floating) and not np.isfinite(value).all():
            return f"{path} (array) has non-finite entries"
        return None
    if isinstance(value, float | np.floating):
        return None if math.isfinite(value) else f"{path} = {value}"
    if isinstance(value, dict):
        for key, item in value.items():
            found = _non_finite(item, f"{path}[{key!r}]")
            if found:
                return found
        return None
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            found = _non_finite(item, f"{path}[{i}]")
            if found:
                return found
    return None


class _Timeout(BaseException):
    """Raised by the alarm in :func:`run` when a call runs far beyond the time limit."""


def _alarm(signum: int, frame: Any) -> None:
    raise _Timeout


def run(case: Case, time_limit: float = TIME_LIMIT) -> Outcome:
    """Call ``case`` once and classify what happened (stopped after 4x the time limit)."""
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, 4 * time_limit)
    start = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = case.call()
    except _Timeout:
        return Outcome("other", f"stopped after {4 * time_limit:.0f} s", time.perf_counter() - start)
    except il.InfoLensError as err:
        seconds = time.perf_counter() - start
        match = _MESSAGE.match(str(err))
        if match is None:
            return Outcome("other", f"InfoLensError of another shape: {err}", seconds)
        if match.group(1) not in case.names:
            return Outcome("other", f"error names {match.group(1)!r}, expected one of "
                           f"{sorted(case.names)}: {err}", seconds)
        if seconds > time_limit:
            return Outcome("other", f"error after {seconds:.1f} s", seconds)
        return Outcome("error", match.group(1), seconds)
    except TypeError as err:
        seconds = time.perf_counter() - start
        unexpected = re.search(r"got an unexpected keyword argument '([^']+)'", str(err))
        if unexpected and unexpected.group(1) in case.names:  # Python's own signature check
            return Outcome("signature", unexpected.group(1), seconds)
        return Outcome("other", f"TypeError: {str(err)[:200]}", seconds)
    except Exception as err:  # noqa: BLE001 - any other exception is what the oracle counts
        return Outcome("other", f"{type(err).__name__}: {str(err)[:200]}",
                       time.perf_counter() - start)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    seconds = time.perf_counter() - start
    problem = _non_finite(result) if case.finite else None
    if problem is None and case.check is not None:
        problem = case.check(result)
    if problem is None and seconds > time_limit:
        problem = f"took {seconds:.1f} s"
    return Outcome("ok" if problem is None else "other", problem or "", seconds)


# ---------------------------------------------------------------------------------- input kinds
def sample_kinds(rng: np.random.Generator, n: int = N) -> dict[str, Any]:
    """Sample arrays (x of an estimator, activations, ...) of every kind, bad and edge."""
    gen = torch.Generator().manual_seed(int(rng.integers(0, 2**31)))
    normal = rng.standard_normal((n, 2))
    with_nan = normal.copy()
    with_nan[3, 1] = np.nan
    with_inf = normal.copy()
    with_inf[5, 0] = np.inf
    constant = normal.copy()
    constant[:, 1] = 2.5
    return {
        "float": normal,
        "float_1d": normal[:, 0].copy(),
        "int": rng.integers(0, 4, n),
        "int_2d": rng.integers(0, 3, (n, 2)),
        "list": normal.tolist(),
        "empty": np.empty(0),
        "empty_2d": np.empty((0, 2)),
        "empty_cols": np.empty((n, 0)),
        "zero_d": np.float64(1.5),
        "python_scalar": 3,
        "ragged": [[1.0, 2.0], [3.0]] * (n // 2),
        "string": "abc",
        "str_array": np.array(["a", "b"] * (n // 2)),
        "none": None,
        "complex": normal[:, 0] + 1j,
        "object_mixed": np.array([1, "a"] * (n // 2), dtype=object),
        "object_ints": np.array([int(v) for v in rng.integers(0, 3, n)], dtype=object),
        "dict": {"a": 1},
        "bool": rng.random(n) > 0.5,
        "int8": rng.integers(-3, 3, n).astype(np.int8),
        "uint64_big": (np.arange(n, dtype=np.uint64) % 2) + np.uint64(2**63),
        "float16": normal.astype(np.float16),
        "float32": normal.astype(np.float32),
        "huge_1e300": normal * 1e300,
        "tiny_1e-300": normal * 1e-300,
        "subnormal": normal * 1e-320,
        "big_1e38": normal * 1e38,
        "constant_column": constant,
        "all_ties": np.ones(n),
        "two_values": np.repeat([0.0, 1.0], n // 2),
        "three_rows": normal[:3],
        "one_row": normal[:1],
        "nan": with_nan,
        "inf": with_inf,
        "three_d": normal.reshape(n, 1, 2),
        "labels_beyond_2_53": np.array([2**53, 2**53 + 1] * (n // 2), dtype=np.int64),
        "python_ints_beyond_int64": [2**70, 2**70 + 1] * (n // 2),
        "tensor_float64": torch.randn(n, 2, dtype=torch.float64, generator=gen),
        "tensor_float32": torch.randn(n, 2, generator=gen),
        "tensor_float16": torch.randn(n, 2, generator=gen).half(),
        "tensor_bfloat16": torch.randn(n, 2, generator=gen).bfloat16(),
        "tensor_int8": torch.randint(-3, 3, (n,), dtype=torch.int8, generator=gen),
        "tensor_int64": torch.randint(0, 4, (n,), generator=gen),
        "tensor_bool": torch.rand(n, generator=gen) > 0.5,
        "tensor_complex": torch.randn(n, dtype=torch.complex64, generator=gen),
        "tensor_non_contiguous": torch.randn(n, 4, dtype=torch.float64, generator=gen)[:, ::2],
        "tensor_transposed": torch.randn(2, n, dtype=torch.float64, generator=gen).T,
        "tensor_requires_grad": torch.randn(n, 2, dtype=torch.float64, generator=gen,
                                            requires_grad=True),
        "tensor_meta": torch.empty(n, 2, device="meta"),
        "tensor_nan": torch.full((n, 2), float("nan")),
        "tensor_0d": torch.tensor(1.0),
        "tensor_empty": torch.empty(0, 2),
    }


def table_kinds() -> dict[str, Any]:
    """Probability vectors of every kind, bad and edge (for the exact measures)."""
    p = np.array([0.5, 0.25, 0.125, 0.125])
    return {
        "valid": p,
        "valid_list": p.tolist(),
        "one_hot": np.array([0.0, 1.0, 0.0, 0.0]),
        "with_zeros": np.array([0.5, 0.0, 0.5, 0.0]),
        "uniform": np.full(4, 0.25),
        "negative": np.array([0.6, -0.1, 0.5, 0.0]),
        "sum_not_1": np.array([0.5, 0.5, 0.5, 0.5]),
        "empty": np.empty(0),
        "zero_d": np.float64(1.0),
        "ragged": [[0.5, 0.5], [1.0]],
        "string": "0.5 0.5",
        "none": None,
        "complex": p + 0j,
        "object": np.array([0.5, "a", 0.5, 0.0], dtype=object),
        "bool": np.array([True, False, False, False]),
        "int8": np.array([0, 1, 0, 0], dtype=np.int8),
        "float16": p.astype(np.float16),
        "nan": np.array([0.5, np.nan, 0.5, 0.0]),
        "inf": np.array([0.5, np.inf, 0.5, 0.0]),
        "huge_1e308": np.array([1e308, 1e308, 0.0, 0.0]),
        "tiny_1e-300": np.array([1e-300, 1e-300, 0.0, 0.0]),
        "subnormal": np.array([1e-320, 1e-320, 0.0, 0.0]),
        "all_zero": np.zeros(4),
        "tensor": torch.tensor(p),
        "tensor_float32": torch.tensor(p, dtype=torch.float32),
        "tensor_float16": torch.tensor(p).half(),
        "tensor_bfloat16": torch.tensor(p).bfloat16(),
        "tensor_int": torch.tensor([0, 1, 0, 0]),
        "tensor_one_hot_grad": torch.tensor([0.0, 1.0, 0.0, 0.0], dtype=torch.float64,
                                            requires_grad=True),
        "tensor_zeros_grad": torch.tensor([0.5, 0.0, 0.5, 0.0], dtype=torch.float64,
                                          requires_grad=True),
        "tensor_non_contiguous": torch.tensor(np.repeat(p, 2), dtype=torch.float64)[::2] * 1.0,
        "tensor_meta": torch.empty(4, device="meta"),
        "tensor_nan": torch.tensor([0.5, float("nan"), 0.5, 0.0]),
        "tensor_empty": torch.empty(0),
    }


BAD_SEEDS: dict[str, Any] = {"seed_str": "a", "seed_negative": -1, "seed_float": 2.5,
                             "seed_bool": True, "seed_huge": 2**70, "seed_list": [1, 2]}
BAD_INTS: dict[str, Any] = {"int_zero": 0, "int_negative": -1, "int_float": 2.5, "int_str": "3",
                            "int_bool": True, "int_none": None, "int_nan": float("nan"),
                            "int_huge": 10**12}
#: Bad counts of work (iterations, resamples): a huge one is a legitimate, long request.
WORK_INTS: dict[str, Any] = {k: v for k, v in BAD_INTS.items() if k != "int_huge"}
BAD_FLOATS: dict[str, Any] = {"float_zero": 0.0, "float_negative": -1.0, "float_nan": float("nan"),
                              "float_inf": float("inf"), "float_str": "0.1", "float_bool": True,
                              "float_tiny": 1e-320, "float_huge": 1e300}


# ------------------------------------------------------------------------------ value oracles
def _exact_codes(a: Any) -> list[Any] | None:
    """Rows of a discrete sample as exact Python values (None if not discrete)."""
    if isinstance(a, torch.Tensor):
        if a.is_floating_point() or a.is_complex() or a.device.type == "meta":
            return None
        a = a.numpy()
    if isinstance(a, list):
        if all(isinstance(v, int) and not isinstance(v, bool) for v in a):
            return list(a)
        return None
    a = np.asarray(a)
    if a.dtype == object:
        return None
    if not (np.issubdtype(a.dtype, np.integer) or a.dtype == bool) or a.ndim not in (1, 2):
        return None
    return [tuple(int(v) for v in row) if a.ndim == 2 else int(row) for row in a]


def plugin_entropy_nats(rows: list[Any]) -> float:
    counts = np.array(list(collections.Counter(rows).values()), dtype=np.float64)
    p = counts / counts.sum()
    return float(-np.sum(p * np.log(p)))


def check_discrete_estimate(method: str, quantity: str, arrays: list[Any]) -> Callable[[Any], str | None]:
    """A check of a discrete estimate against exact counting in Python (labels never rounded)."""
    def check(est: Any) -> str | None:
        codes = [_exact_codes(a) for a in arrays]
        if any(c is None for c in codes) or est.units != "nats":
            return None
        n = len(codes[0])

        def h(group: tuple[int, ...]) -> float:
            rows = list(zip(*(codes[i] for i in group), strict=True))
            value = plugin_entropy_nats(rows)
            if method == "miller_madow":
                value += (len(set(rows)) - 1) / (2.0 * n)
            return value

        if method not in ("plugin", "miller_madow"):
            return None
        groups = {"entropy": [((0,), 1)], "mi": [((0,), 1), ((1,), 1), ((0, 1), -1)],
                  "cmi": [((0, 2), 1), ((1, 2), 1), ((0, 1, 2), -1), ((2,), -1)]}[quantity]
        expected = sum(sign * h(g) for g, sign in groups)
        if abs(est.value - expected) > 1e-9 * max(1.0, abs(expected)):
            return f"value {est.value} != exact {expected} ({method} {quantity})"
        if quantity == "mi" and est.cap is not None and est.value > est.cap + 1e-9 \
                and "above_cap" not in est.flags:
            return f"MI {est.value} above its cap {est.cap} without the 'above_cap' flag"
        return None
    return check


def check_measure(name: str, tables: list[Any], units: str = "bits") -> Callable[[Any], str | None]:
    """The measure against a direct float64 computation on the normalised table."""
    def reference() -> float | None:
        arrays = []
        for t in tables:
            a = t.detach().double().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
            if a.dtype == object or not np.issubdtype(a.dtype, np.number) or a.size == 0:
                return None
            a = a.astype(np.float64)
            a = a / a.max() if a.max() > 0 else a
            a = a / a.sum()
            arrays.append(a)
        p = arrays[0]

        def h(v: np.ndarray) -> float:
            v = v[v > 0]
            return float(-np.sum(v * np.log(v)))

        if name == "entropy":
            return h(p)
        if name == "kl_divergence":
            q = arrays[1]
            if np.any((q == 0) & (p > 0)):
                return math.inf
            m = p > 0
            return float(np.sum(p[m] * np.log(p[m] / q[m])))
        if name == "cross_entropy":
            q = arrays[1]
            if np.any((q == 0) & (p > 0)):
                return math.inf
            m = p > 0
            return float(-np.sum(p[m] * np.log(q[m])))
        if name == "js_divergence":
            q = arrays[1]
            return h((p + q) / 2) - (h(p) + h(q)) / 2
        return None

    def check(value: Any) -> str | None:
        expected = reference()
        if expected is None:
            return None
        got = float(value.detach()) if isinstance(value, torch.Tensor) else float(value)
        if units == "bits":
            expected /= math.log(2)
        if not math.isclose(got, expected, rel_tol=1e-3, abs_tol=1e-3):  # float16 inputs round
            return f"{name} = {got}, expected {expected}"
        if isinstance(value, torch.Tensor) and value.requires_grad and math.isfinite(expected):
            leaves = [t for t in tables if isinstance(t, torch.Tensor) and t.requires_grad]
            grads = torch.autograd.grad(value, leaves, allow_unused=True)
            for g in grads:
                if g is not None and not bool(torch.isfinite(g).all()):
                    return f"{name}: non-finite gradient {g.tolist()}"
        return None
    return check


def iter_kinds(kinds: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    yield from kinds.items()


# ------------------------------------------------------------------------------- case builders
def _length(value: Any) -> int:
    try:
        return len(value) if not isinstance(value, str | dict) else N
    except TypeError:
        return N


def _model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Tanh(), torch.nn.Linear(3, 2))


def _as_table(value: Any, ndim: int) -> Any:
    """A probability vector kind reshaped to ``ndim`` dimensions where it has 4 entries."""
    if isinstance(value, np.ndarray | torch.Tensor) and value.ndim == 1 and value.shape[0] == 4:
        return value.reshape((2, 2) if ndim == 2 else (2, 2, 1))
    return value


def measure_cases(rng: np.random.Generator) -> list[Case]:
    """The exact measures, every argument fuzzed, with a direct computation as reference."""
    cases = []
    valid = np.array([0.25, 0.25, 0.25, 0.25])
    for kind, p in table_kinds().items():
        for normalize in (False, True):
            cases.append(Case("entropy", kind, lambda p=p, nz=normalize: il.entropy(p, normalize=nz),
                              frozenset({"p"}), check_measure("entropy", [p])))
            for fn, nd in (("joint_entropy", 2), ("conditional_entropy", 2),
                           ("mutual_information", 2), ("conditional_mutual_information", 3)):
                table = _as_table(p, nd)
                name = "pxyz" if nd == 3 else "pxy"
                cases.append(Case(fn, kind, lambda f=fn, t=table, nz=normalize:
                                  getattr(il, f)(t, normalize=nz), frozenset({name})))
            for fn in ("kl_divergence", "cross_entropy", "js_divergence"):
                finite = fn == "js_divergence"  # KL and cross-entropy are +inf where q = 0 < p
                cases.append(Case(fn, f"p={kind}", lambda f=fn, p=p, nz=normalize:
                                  getattr(il, f)(p, valid, normalize=nz), frozenset({"p"}),
                                  check_measure(fn, [p, valid]), finite))
                cases.append(Case(fn, f"q={kind}", lambda f=fn, p=p, nz=normalize:
                                  getattr(il, f)(valid, p, normalize=nz),
                                  # js_divergence(p) alone reads p as several distributions
                                  frozenset({"q", "p"} if fn == "js_divergence" and p is None else {"q"}),
                                  check_measure(fn, [valid, p]), finite))
        cases.append(Case("self_information", kind, lambda p=p: il.self_information(p),
                          frozenset({"p"}), _check_self_information(p), finite=False))
    # numpy p with torch q and the reverse; zeros in tables with gradients
    q_torch = torch.tensor([0.5, 0.25, 0.125, 0.125], dtype=torch.float64, requires_grad=True)
    for fn in ("kl_divergence", "cross_entropy", "js_divergence"):
        cases.append(Case(fn, "numpy_p_torch_q", lambda f=fn: getattr(il, f)(valid, q_torch),
                          frozenset({"p", "q"}), check_measure(fn, [valid, q_torch])))
        p_zero = torch.tensor([0.5, 0.0, 0.5, 0.0], dtype=torch.float64, requires_grad=True)
        cases.append(Case(fn, "zeros_with_grad", lambda f=fn, p=p_zero: getattr(il, f)(p, q_torch),
                          frozenset({"p", "q"}), check_measure(fn, [p_zero, q_torch])))
    grad_table = torch.tensor([[0.5, 0.0], [0.0, 0.5]], dtype=torch.float64, requires_grad=True)
    for fn in ("joint_entropy", "conditional_entropy", "mutual_information"):
        cases.append(Case(fn, "zeros_with_grad", lambda f=fn: getattr(il, f)(grad_table),
                          frozenset({"pxy"}), _finite_grad(grad_table)))
    for fn in ("entropy", "mutual_information"):
        for units in ("bit", None, 2):
            arg = valid if fn == "entropy" else valid.reshape(2, 2)
            cases.append(Case(fn, f"units={units!r}", lambda f=fn, a=arg, u=units:
                              getattr(il, f)(a, units=u), frozenset({"units"})))
        cases.append(Case(fn, "unknown_keyword", lambda f=fn: getattr(il, f)(valid, foo=1),
                          frozenset({"foo"})))
    return cases


def _check_self_information(p: Any) -> Callable[[Any], str | None]:
    """``-log2 p`` elementwise (+inf at p = 0, the information of an impossible event)."""
    def check(value: Any) -> str | None:
        probs = p.detach().double().numpy() if isinstance(p, torch.Tensor) else np.asarray(p, float)
        got = value.detach().double().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)
        with np.errstate(divide="ignore"):
            expected = -np.log2(probs)
        if got.shape != expected.shape or not np.allclose(got, expected, rtol=1e-3, atol=1e-3):
            return f"self_information = {got.tolist()}, expected {expected.tolist()}"
        return None
    return check


def _finite_grad(leaf: torch.Tensor) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        (grad,) = torch.autograd.grad(value, [leaf])
        return None if bool(torch.isfinite(grad).all()) else f"non-finite gradient {grad.tolist()}"
    return check


def _valid_other(method: str, quantity: str, role: str, n: int, rng: np.random.Generator) -> Any:
    """A valid argument for a role other than the fuzzed one, with n samples."""
    spec = il.METHODS[method]
    if spec.prepare == "codes" or (role == "y" and method in ("kde", "mixed")):
        return rng.integers(0, 3, n)
    return rng.standard_normal(n)


def _method_params(method: str) -> dict[str, Any]:
    return {"steps": 3, "batch_size": 8, "hidden": 4} if il.METHODS[method].family == "neural" else {}


def estimator_cases(rng: np.random.Generator, *, kinds: dict[str, Any] | None = None,
                    methods: list[str] | None = None) -> list[Case]:
    """Every estimator and method, each argument fuzzed in turn, plus its parameters."""
    kinds = sample_kinds(rng) if kinds is None else kinds
    cases = []
    roles = {"entropy": ["x"], "mi": ["x", "y"], "cmi": ["x", "y", "z"]}
    fns = {"entropy": il.estimate_entropy, "mi": il.estimate_mi, "cmi": il.estimate_cmi}
    for method in methods or list(il.METHODS):
        spec = il.METHODS[method]
        extra = _method_params(method)
        for quantity, names in roles.items():
            if not spec.supports(quantity):
                continue
            fn = fns[quantity]
            for role in names:
                for kind, value in kinds.items():
                    n = _length(value)
                    n_other = n if n >= 5 else N  # too few rows: only the fuzzed one is bad
                    args = {r: value if r == role else _valid_other(method, quantity, r, n_other, rng)
                            for r in names}
                    allowed = ({role} if n == n_other else set(names)) | {"method"}
                    check = check_discrete_estimate(method, quantity, [args[r] for r in names]) \
                        if spec.prepare == "codes" else None
                    cases.append(Case(f"{fn.__name__}[{method}]", f"{role}={kind}",
                                      lambda f=fn, a=args, m=method, e=extra:
                                      f(*a.values(), method=m, units="nats", **e),
                                      frozenset(allowed), check))
            args = [_valid_other(method, quantity, r, N, rng) for r in names]
            if len(names) > 1:
                short = [*args[:-1], args[-1][:-1]]
                cases.append(Case(f"{fn.__name__}[{method}]", "mismatched_lengths",
                                  lambda f=fn, a=short, m=method, e=extra: f(*a, method=m, **e),
                                  frozenset(names)))
            common: dict[str, dict[str, Any]] = {
                "random_state": BAD_SEEDS, "units": {"bad": "bit", "none": None},
                "ci": {"zero": 0.0, "one": 1.0, "str": "0.9", "nan": float("nan")},
                "max_samples": {k: v for k, v in BAD_INTS.items() if k != "int_huge"},
                "n_resamples": WORK_INTS, "foo": {"unknown_keyword": 1}}
            for param, values in common.items():
                if spec.resampling is None and param in ("ci", "max_samples"):
                    continue
                for label, bad in values.items():
                    kw = {**extra, param: bad}
                    if param == "n_resamples":
                        kw["ci"] = 0.9
                    cases.append(Case(f"{fn.__name__}[{method}]", f"{param}={label}",
                                      lambda f=fn, a=args, m=method, k=kw: f(*a, method=m, **k),
                                      frozenset({param})))
            for param in spec.params:
                if param == "device":
                    bad_values: dict[str, Any] = {"unknown": "foo"}
                elif param == "seed":
                    bad_values = BAD_SEEDS
                elif param in ("lr", "noise_var", "bin_width"):
                    bad_values = BAD_FLOATS
                elif param in ("range",):
                    bad_values = {"reversed": (1.0, 0.0), "nan": (0.0, float("nan")), "str": "ab"}
                elif param in ("steps",):
                    bad_values = WORK_INTS
                else:
                    bad_values = {**BAD_INTS, "str": "x"}
                # k beyond the sample size may name the data: "x must have at least k + 1 rows"
                names_k = {param, "x"} if param == "k" else {param}
                for label, bad in bad_values.items():
                    kw = {**extra, param: bad}
                    cases.append(Case(f"{fn.__name__}[{method}]", f"{param}={label}",
                                      lambda f=fn, a=args, m=method, k=kw: f(*a, method=m, **k),
                                      frozenset(names_k)))
    return cases


def _labels(n: int) -> np.ndarray:
    return np.arange(n) % 2


def plane_cases(rng: np.random.Generator) -> list[Case]:
    """InformationPlane: x, y, activations and parameters fuzzed; records must be finite."""
    kinds = sample_kinds(rng)
    cases = []
    x_valid = rng.standard_normal((N, 2)).astype(np.float32)
    for estimator in ("binning", "adaptive_binning", "kde", "adaptive_kde", "sample_propagation",
                      "ksg", "plugin"):
        for kind, value in kinds.items():
            n = _length(value)

            def record_x(v: Any = value, e: str = estimator, n: int = n) -> Any:
                plane = il.InformationPlane(v, _labels(n), estimator=e)
                return plane.record(_model(), 0)

            def record_y(v: Any = value, e: str = estimator, n: int = n) -> Any:
                plane = il.InformationPlane(x_valid[:n] if 5 <= n <= N else x_valid, v, estimator=e)
                return plane.record(_model(), 0)

            def record_acts(v: Any = value, e: str = estimator, n: int = n) -> Any:
                plane = il.InformationPlane(x_valid[:max(min(n, N), 2)], _labels(max(min(n, N), 2)),
                                            estimator=e)
                return plane.record_activations({"layer": v}, 0)

            cases.append(Case(f"InformationPlane.record[{estimator}]", f"x={kind}", record_x,
                              frozenset({"x", "k"} if estimator == "ksg" else {"x"})))
            cases.append(Case(f"InformationPlane[{estimator}]", f"y={kind}", record_y,
                              frozenset({"y"} if 5 <= n <= N else {"y", "x"})))
            cases.append(Case(f"InformationPlane.record_activations[{estimator}]", f"acts={kind}",
                              record_acts, frozenset({"activations['layer']", "k"})))
    params: dict[str, dict[str, Any]] = {
        "estimator": {"bad": "foo", "none": None}, "units": {"bad": "bit"},
        "schedule": {"zero": 0, "str": "sometimes", "negative_list": [-1], "float": 2.5},
        "bins": BAD_INTS, "bin_width": BAD_FLOATS, "noise_var": BAD_FLOATS,
        "k": BAD_INTS, "bits": BAD_INTS,
        "n_mc": {k: v for k, v in WORK_INTS.items() if k != "int_none"},  # None: the default
        "foo": {"unknown_keyword": 1},
        "softmax_output": {"str": "yes"},
        "keep_activations": {"int": 3}, "n_points": BAD_INTS, "last_epoch": {"neg": -1, "str": "a"}}
    estimator_of = {"noise_var": "kde", "k": "ksg", "n_mc": "sample_propagation", "bits": "quantized"}
    for param, values in params.items():
        for label, bad in values.items():
            def build(p: str = param, b: Any = bad) -> Any:
                kw = {"estimator": estimator_of.get(p, "binning"), p: b}
                plane = il.InformationPlane(x_valid, _labels(N), **kw)
                return plane.record(_model(), 0)
            cases.append(Case("InformationPlane", f"{param}={label}", build, frozenset({param})))
    for param, values in {"epoch": {"str": "a", "neg": -1, "float": 2.5, "none": None},
                          "seed": BAD_SEEDS}.items():
        for label, bad in values.items():
            def rec(p: str = param, b: Any = bad) -> Any:
                plane = il.InformationPlane(x_valid, _labels(N))
                kw = {"epoch": 0, p: b} if p != "epoch" else {"epoch": b}
                return plane.record(_model(), **kw)
            cases.append(Case("InformationPlane.record", f"{param}={label}", rec, frozenset({param})))
    for label, bad in {"none": None, "str": "model", "int": 3}.items():
        cases.append(Case("InformationPlane.record", f"model={label}",
                          lambda b=bad: il.InformationPlane(x_valid, _labels(N)).record(b, 0),
                          frozenset({"model"})))
    for estimator in ("binning", "kde", "ksg"):
        for scale in (1e38, 1e300, 1e-300):
            acts = {"layer": rng.standard_normal((N, 3)) * scale}
            cases.append(Case(f"InformationPlane.record_activations[{estimator}]", f"scale={scale:g}",
                              lambda a=acts, e=estimator: il.InformationPlane(
                                  x_valid, _labels(N), estimator=e).record_activations(a, 0),
                              frozenset({"activations['layer']"})))
    return cases


def layer_cases(rng: np.random.Generator) -> list[Case]:
    """capture, list_layers, probe_layers, embed: inputs and parameters fuzzed."""
    kinds = sample_kinds(rng)
    cases = []

    def captured(layers: Any) -> Any:
        model = _model()
        with il.capture(model, layers=layers) as acts:
            model(torch.randn(4, 2))
        return dict(acts)

    for label, layers in {"none": None, "glob": "*", "missing": "nope", "int": 3,
                          "list_bad": ["0", 5], "empty_list": [], "callable": lambda n, m: True,
                          "bytes": b"0"}.items():
        cases.append(Case("capture", f"layers={label}", lambda v=layers: captured(v),
                          frozenset({"layers"})))
    for label, kw in {"pool": {"pool": "median"}, "dtype": {"dtype": "float"},
                      "device": {"device": "foo"}, "output_index": {"output_index": -5},
                      "unknown": {"foo": 1}}.items():
        def cap(k: dict[str, Any] = kw) -> Any:
            model = _model()
            with il.capture(model, **k) as acts:
                model(torch.randn(4, 2))
            return dict(acts)
        cases.append(Case("capture", label, cap, frozenset(kw)))
    cases.append(Case("capture", "model=str", lambda: captured.__call__ and il.capture("m").__enter__(),
                      frozenset({"model"})))
    for kind, value in kinds.items():
        cases.append(Case("list_layers", f"example_input={kind}",
                          lambda v=value: il.list_layers(_model(), v), frozenset({"example_input"})))
        n = _length(value)
        cases.append(Case("probe_layers", f"x={kind}",
                          lambda v=value, n=n: il.probe_layers(_model(), v, _labels(n), n_splits=2),
                          frozenset({"x", "activations['input']"})))  # x is probed as 'input' too
        cases.append(Case("probe_layers", f"y={kind}",
                          lambda v=value, n=n: il.probe_layers(
                              _model(), rng.standard_normal((n if 5 <= n <= N else N, 2)), v,
                              n_splits=2), frozenset({"y"})))
        cases.append(Case("embed", f"activations={kind}", lambda v=value: il.embed(v, "pca"),
                          frozenset({"activations", "dims"})))  # 1 feature: too few for 2-D
        cases.append(Case("embed", f"labels={kind}",
                          lambda v=value, n=n: il.embed(rng.standard_normal((n if 5 <= n <= N else N, 3)),
                                                        "pca", labels=v),
                          frozenset({"labels"})))
    x = rng.standard_normal((N, 2))
    for label, seed in BAD_SEEDS.items():
        cases.append(Case("probe_layers", label,
                          lambda s=seed: il.probe_layers(_model(), x, _labels(N), n_splits=2, seed=s),
                          frozenset({"seed"})))
        cases.append(Case("embed", label, lambda s=seed: il.embed(x, "pca", seed=s),
                          frozenset({"seed"})))
    for param, values in {"dims": {**BAD_INTS, "four": 4}, "k": BAD_INTS,
                          "method": {"bad": "lda", "none": None}, "foo": {"unknown": 1}}.items():
        for label, bad in values.items():
            cases.append(Case("embed", f"{param}={label}",
                              lambda p=param, b=bad: il.embed(x, **{"method": "pca", p: b}),
                              frozenset({param})))
    for kind, value in kinds.items():
        n = _length(value)
        cases.append(Case("v_information", f"t={kind}",
                          lambda v=value, n=n: il.v_information(v, _labels(n), n_splits=2),
                          frozenset({"t", "y"})))  # a short tensor t is refused through its labels
        cases.append(Case("v_information", f"y={kind}",
                          lambda v=value, n=n: il.v_information(
                              rng.standard_normal((n if 5 <= n <= N else N, 2)), v, n_splits=2),
                          frozenset({"y"})))
    for param, values in {"family": {"bad": "svm", "none": None}, "n_splits": WORK_INTS,
                          "test_size": BAD_FLOATS, "ci": BAD_FLOATS, "C": BAD_FLOATS, "hidden": BAD_INTS,
                          "epochs": BAD_INTS, "units": {"bad": "bit"}, **{"seed": BAD_SEEDS}}.items():
        for label, bad in values.items():
            cases.append(Case("v_information", f"{param}={label}",
                              lambda p=param, b=bad: il.v_information(x, _labels(N), **{"n_splits": 2, p: b}),
                              frozenset({param})))
    for param, values in {"n_splits": WORK_INTS, "test_size": BAD_FLOATS, "ci": BAD_FLOATS,
                          "units": {"bad": "bit"}, "batch_size": BAD_INTS}.items():
        for label, bad in values.items():
            cases.append(Case("probe_layers", f"{param}={label}",
                              lambda p=param, b=bad: il.probe_layers(
                                  _model(), x, _labels(N), **{"n_splits": 2, p: b}),
                              frozenset({param})))
    return cases


def bottleneck_cases(rng: np.random.Generator) -> list[Case]:
    """ib_curve, iterative_ib, deterministic_ib and the torch losses."""
    bn = il.bottleneck
    cases = []
    table = np.array([[0.3, 0.1], [0.05, 0.25], [0.2, 0.1]])
    betas = [0.5, 5.0, 50.0]
    for kind, p in table_kinds().items():
        t = _as_table(p, 2)
        cases.append(Case("ib_curve", f"pxy={kind}", lambda t=t: bn.ib_curve(t, betas),
                          frozenset({"pxy"})))
        cases.append(Case("iterative_ib", f"pxy={kind}", lambda t=t: bn.iterative_ib(t, 5.0),
                          frozenset({"pxy"})))
        cases.append(Case("deterministic_ib", f"pxy={kind}", lambda t=t: bn.deterministic_ib(t, 5.0),
                          frozenset({"pxy"})))
    ib_params: dict[str, dict[str, Any]] = {
        "n_clusters": {**BAD_INTS, "one": 1, "huge": 10**9, "huge_12": 10**12},
        "seed": BAD_SEEDS, "n_restarts": WORK_INTS, "max_iter": WORK_INTS, "tol": BAD_FLOATS,
        "alpha": BAD_FLOATS, "units": {"bad": "bit"}, "foo": {"unknown": 1},
        "betas": {"empty": [], "nan": [float("nan")], "neg": [-1.0], "str": "abc", "none_list": [None]}}
    for param, values in ib_params.items():
        for label, bad in values.items():
            if param == "betas":
                call = lambda b=bad: bn.ib_curve(table, b)  # noqa: E731
            else:
                call = lambda p=param, b=bad: bn.ib_curve(table, betas, **{p: b})  # noqa: E731
            cases.append(Case("ib_curve", f"{param}={label}", call, frozenset({param})))
            if param not in ("betas", "alpha"):
                cases.append(Case("iterative_ib", f"{param}={label}",
                                  lambda p=param, b=bad: bn.iterative_ib(table, 5.0, **{p: b}),
                                  frozenset({param})))
    for label, bad in {**BAD_FLOATS, "float_zero": None}.items():
        cases.append(Case("iterative_ib", f"beta={label}", lambda b=bad: bn.iterative_ib(table, b),
                          frozenset({"beta"})))
    cases.append(Case("ib_curve", "samples", lambda: bn.ib_curve(
        x=rng.integers(0, 3, N), y=rng.integers(0, 2, N), betas=betas), frozenset({"x", "y"})))
    cases.append(Case("ib_curve", "samples_beyond_2_53", lambda: bn.ib_curve(
        x=np.array([2**53, 2**53 + 1] * (N // 2)), y=_labels(N), betas=betas),
        frozenset({"x", "y"}), _ib_saturates(1.0)))
    # losses
    logits, target = torch.randn(8, 3), torch.randint(0, 3, (8,))
    mean, std = torch.randn(8, 4), torch.rand(8, 4) + 0.1
    for kind, value in sample_kinds(rng, 8).items():
        cases.append(Case("VIBLoss", f"logits={kind}",  # too few classes for target: either
                          lambda v=value: bn.VIBLoss(1e-3)(v, target, mean, std),
                          frozenset({"logits", "target"})))
        cases.append(Case("VIBLoss", f"target={kind}",
                          lambda v=value: bn.VIBLoss(1e-3)(logits, v, mean, std),
                          frozenset({"target"})))
        cases.append(Case("VIBLoss", f"std={kind}",
                          lambda v=value: bn.VIBLoss(1e-3)(logits, target, mean, v),
                          frozenset({"std"})))
        cases.append(Case("NonlinearIBLoss", f"hidden={kind}",
                          lambda v=value: bn.NonlinearIBLoss(0.1)(logits, target, v, torch.tensor(0.0)),
                          frozenset({"hidden"})))
        cases.append(Case("cross_entropy_logits", f"logits={kind}",  # 8 x 3 logits fit target
                          lambda v=value: bn.cross_entropy_logits(v, target),
                          frozenset({"logits", "target"})))
        cases.append(Case("InfoNCELoss", f"x={kind}", lambda v=value: _info_nce(v),
                          frozenset({"x", "y"})))
    for label, bad in BAD_FLOATS.items():
        cases.append(Case("VIBLoss", f"beta={label}", lambda b=bad: bn.VIBLoss(b),
                          frozenset({"beta"})))
        cases.append(Case("NonlinearIBLoss", f"beta={label}", lambda b=bad: bn.NonlinearIBLoss(b),
                          frozenset({"beta"})))
    return cases


def _info_nce(x: Any) -> Any:
    from infolens.estimators.neural import SeparableCritic

    torch.manual_seed(0)
    critic = SeparableCritic(2, 2, hidden=4)
    return il.bottleneck.InfoNCELoss(critic)(x, torch.randn(8, 2))


def _ib_saturates(bits: float) -> Callable[[Any], str | None]:
    def check(curve: Any) -> str | None:
        if abs(curve.i_xy - bits) > 1e-9:
            return f"I(X;Y) = {curve.i_xy}, expected {bits} bits"
        return None
    return check


def data_cases(rng: np.random.Generator) -> list[Case]:
    """Data generators and Schedule with bad parameters."""
    d = il.data
    cases = []
    for label, seed in BAD_SEEDS.items():
        cases.append(Case("correlated_gaussians", label, lambda s=seed: d.correlated_gaussians(10, seed=s),
                          frozenset({"seed"})))
        cases.append(Case("split", label, lambda s=seed: d.split(np.ones((10, 2)), _labels(10), seed=s),
                          frozenset({"seed"})))
        cases.append(Case("digits", label, lambda s=seed: d.digits(seed=s), frozenset({"seed"})))
        cases.append(Case("load", label, lambda s=seed: d.load("szt12", seed=s), frozenset({"seed"})))
        cases.append(Case("mnist1d", label, lambda s=seed: d.mnist1d(100, seed=s), frozenset({"seed"})))
    for label, bad in BAD_INTS.items():
        cases.append(Case("correlated_gaussians", f"n={label}",
                          lambda b=bad: d.correlated_gaussians(b if b != 10**12 else -3),
                          frozenset({"n"})))
        cases.append(Case("correlated_gaussians", f"dim={label}",
                          lambda b=bad: d.correlated_gaussians(10, dim=b if b != 10**12 else 0),
                          frozenset({"dim"})))
        cases.append(Case("mnist1d", f"n_samples={label}",
                          lambda b=bad: d.mnist1d(b if b != 10**12 else 1), frozenset({"n_samples"})))
    for label, bad in {**BAD_FLOATS, "one": 1.0}.items():
        cases.append(Case("correlated_gaussians", f"rho={label}",
                          lambda b=bad: d.correlated_gaussians(10, rho=b), frozenset({"rho"})))
        cases.append(Case("split", f"test_size={label}",
                          lambda b=bad: d.split(np.ones((10, 2)), _labels(10), test_size=b),
                          frozenset({"test_size"})))
    for kind, value in sample_kinds(rng, 10).items():
        cases.append(Case("split", f"x={kind}", lambda v=value: d.split(v, _labels(_length(v))),
                          frozenset({"x"})))
        cases.append(Case("split", f"y={kind}",
                          lambda v=value: d.split(np.ones((max(_length(v), 2), 2)), v),
                          frozenset({"y"})))
    cases.append(Case("load", "name=bad", lambda: d.load("imagenet"), frozenset({"name"})))
    cases.append(Case("szt12", "default", lambda: d.szt12(), frozenset()))
    for label, kind in {"zero": 0, "str": "sometimes", "neg_list": [-1], "empty": [], "float": 2.5,
                        "none": None, "bool": True, "str_list": ["a"], "ok_log": "log"}.items():
        cases.append(Case("Schedule", f"kind={label}", lambda k=kind: il.Schedule(k).epochs(20),
                          frozenset({"schedule", "kind"})))
    for label, bad in BAD_INTS.items():
        cases.append(Case("Schedule", f"n_points={label}",
                          lambda b=bad: il.Schedule("log", n_points=b).epochs(20), frozenset({"n_points"})))
        cases.append(Case("Schedule", f"last_epoch={label}",
                          lambda b=bad: il.Schedule("log", last_epoch=b if b != 0 else -1).epochs(),
                          frozenset({"last_epoch"})))
    for label, bad in {"str": "a", "neg": -1, "float": 2.5, "huge": 10**30}.items():
        cases.append(Case("Schedule.should_record", f"epoch={label}",
                          lambda b=bad: il.Schedule("log").should_record(b), frozenset({"epoch"})))
    return cases


def all_cases(seed: int = 0) -> list[Case]:
    """The full sweep: every builder above with one seeded generator."""
    rng = np.random.default_rng(seed)
    return (measure_cases(rng) + estimator_cases(rng) + plane_cases(rng) + layer_cases(rng)
            + bottleneck_cases(rng) + data_cases(rng))


# ------------------------------------------------------------------ held-out corners (issue 20)
def _close_to(expected: float, tol: float = 1e-9) -> Callable[[Any], str | None]:
    def check(result: Any) -> str | None:
        value = float(getattr(result, "value", result))
        return None if abs(value - expected) <= tol else f"{value!r}, expected {expected!r}"
    return check


def _store_after_close(path: Path) -> Any:
    store = il.RunStore(path)
    store.close()
    return store.runs()


def _embedding_scale_free(points: np.ndarray) -> Callable[[Any], str | None]:
    reference = il.embed(points, method="pca").coords

    def check(result: Any) -> str | None:
        ok = np.allclose(result.coords / np.abs(result.coords).max(),
                         reference / np.abs(reference).max(), atol=1e-6)
        return None if ok else "PCA of a rescaled embedding differs from the unscaled one"
    return check


def _plane_ty_of_constant_labels(result: Any) -> str | None:
    ty = [r["value"] for r in result if r["quantity"] == "I_TY"]
    return None if all(abs(v) < 1e-12 for v in ty) else f"I(T;Y) = {ty} with one class (H(Y) = 0)"


def corner_cases(rng: np.random.Generator, tmp: Path | None = None) -> list[Case]:
    """The families of issue 20 that a held-out sweep found: one Case per member."""
    import tempfile

    tmp = Path(tempfile.mkdtemp(prefix="infolens-corners-")) if tmp is None else tmp
    cases = []
    for n in (4, 5, 6, 7):
        x, z = rng.normal(size=(n, 1)), rng.normal(size=(n, 1))
        cases.append(Case("corners_knn_ci", f"kl n={n}",
                          lambda x=x: il.estimate_entropy(x, method="kl", ci=0.9, n_resamples=10),
                          frozenset({"ci"})))
        for method in ("ksg", "mixed", "ksg_copula", "ksg_radial"):
            cases.append(Case("corners_knn_ci", f"{method} n={n}",
                              lambda x=x, z=z, m=method: il.estimate_mi(x, z, method=m, ci=0.9,
                                                                        n_resamples=10),
                              frozenset({"ci"})))
        cases.append(Case("corners_knn_ci", f"cmi n={n}",
                          lambda x=x, z=z: il.estimate_cmi(x, z, z[::-1].copy(), ci=0.9, n_resamples=10),
                          frozenset({"ci"})))
    paths = {"none": None, "int": 3, "nul": str(tmp / "a\0b.sqlite"), "directory": str(tmp)}
    for label, path in paths.items():
        cases.append(Case("corners_store", f"path={label}", lambda p=path: il.RunStore(p),
                          frozenset({"path"})))
    cases.append(Case("corners_store", "after close", lambda: _store_after_close(tmp / "closed.sqlite"),
                      frozenset({"RunStore"})))
    model = _model()
    x, y = rng.normal(size=(20, 2)).astype(np.float32), _labels(20)
    for pattern in ("[!]", "[z-a]"):
        cases.append(Case("corners_plane", f"layers={pattern}",
                          lambda p=pattern: il.InformationPlane(x, y, layers=p).record(model, 0),
                          frozenset({"layers"})))
    for device in ("cuda", "foo"):
        cases.append(Case("corners_plane", f"device={device}",
                          lambda d=device: il.InformationPlane(x, y, device=d).record(model, 0),
                          frozenset({"device"})))
    huge = np.full(20, 2**63 - 1, dtype=np.int64)
    cases.append(Case("corners_plane", "labels near 2^63",
                      lambda: il.InformationPlane(x, huge).record(model, 0), frozenset({"y"}),
                      check=_plane_ty_of_constant_labels))
    cases.append(Case("corners_capture", "unknown layer",
                      lambda: il.capture(model, ["no.such.layer"]).__enter__(), frozenset({"layers"})))
    pxy = np.array([[0.3, 0.2], [0.1, 0.4]])
    bad_init = {"nan": np.full((2, 2), np.nan), "negative": np.array([[1.5, -0.5], [0.5, 0.5]])}
    for label, init in bad_init.items():
        cases.append(Case("corners_iterative_ib", f"init={label}",
                          lambda i=init: il.bottleneck.iterative_ib(pxy, beta=5.0, n_clusters=2, init=i),
                          frozenset({"init"})))
    cases.append(Case("corners_iterative_ib", "unknown keyword",
                      lambda: il.bottleneck.iterative_ib(pxy, beta=5.0, n_clusters=2, tolerance=3),
                      frozenset({"tolerance"})))
    cases.append(Case("corners_iterative_ib", "init=abc",
                      lambda: il.bottleneck.iterative_ib(pxy, beta=5.0, n_clusters=2, init="abc"),
                      frozenset({"init"})))
    tiny = np.array([[0.5, 5e-324], [5e-324, 0.5]])
    cases.append(Case("corners_iterative_ib", "5e-324 at beta=0",
                      lambda: il.bottleneck.iterative_ib(tiny, beta=0.0, n_clusters=2), frozenset({"pxy"})))
    cases.append(Case("corners_ib_curve", "table at 1e308",
                      lambda: il.bottleneck.ib_curve(pxy * 1e308 / 0.4 * 0.9, [0.5, 5.0]),
                      frozenset({"pxy"})))
    independent = np.outer(rng.dirichlet(np.ones(5)), rng.dirichlet(np.ones(7)))  # -6e-16 unclipped
    cases.append(Case("corners_exact", "MI of an independent table",
                      lambda: il.mutual_information(independent), frozenset(), check=_close_to(0.0, 0.0)))
    diagonal = np.diag([0.2, 0.3, 0.5])
    cases.append(Case("corners_exact", "H(X|Y) of a diagonal table",
                      lambda: il.conditional_entropy(diagonal), frozenset(), check=_close_to(0.0, 0.0)))
    points = rng.normal(size=(30, 5))
    cases.append(Case("corners_embed", "pca at 1e-200", lambda: il.embed(1e-200 * points, method="pca"),
                      frozenset({"x", "activations"}), check=_embedding_scale_free(points)))
    cases.append(Case("corners_probes", "complex x",
                      lambda: il.probe_layers(model, rng.normal(size=(40, 2)) + 1j, _labels(40)),
                      frozenset({"x"})))
    return cases
