"""Every ``infolens`` command answers bad input with one line on stderr and a non-zero exit.

A table of the faults users meet (files with a header, ragged or non-numeric CSVs, corrupt and
object ``.npy`` files, a corrupt store, a truncated config, an unwritable ``--out``, devices that
do not exist here, out-of-range options) plus hypothesis-drawn junk arguments for every command.
Each call must end in one of two outcomes:

* ``ok``: exit 0 and a correct result (checked where the table states the answer);
* ``clear error``: a non-zero exit, one line on stderr starting with ``Error:`` (after any progress
  messages of the command), no usage block, no ``Traceback`` and no "internal error" (an
  exception infolens did not expect).

Anything else (a traceback, a multi-line error, an internal error, an exception escaping the
command) fails. ``--debug`` shows the traceback: tested once.
"""

from __future__ import annotations

import itertools
import json
import os
import stat
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from infolens.cli import main

OUTCOMES = ("ok", "clear error", "multi-line error", "internal error", "traceback")


def classify(result) -> str:
    """The outcome of one CliRunner call (see the module docstring)."""
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        return "traceback"
    if "Traceback" in result.output or "Traceback" in result.stderr:
        return "traceback"
    if result.exit_code == 0:
        return "ok"
    lines = result.stderr.strip().splitlines()  # progress messages may come first
    if (not lines or not lines[-1].startswith("Error: ") or sum("Error" in line for line in lines) > 1
            or any(line.startswith(("Usage:", "Try '")) for line in lines)):
        return "multi-line error"
    if "internal error" in lines[-1]:
        return "internal error"
    return "clear error"


def invoke(args: list[str]):
    return CliRunner().invoke(main, args, catch_exceptions=True)


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, str]:
    """Sample files, good and bad, and run directories with faults, by name."""
    paths = make_files(tmp_path_factory.mktemp("fuzz"))
    yield paths
    (Path(paths["fresh"]).parent / "readonly").chmod(stat.S_IRWXU)


def unwritable_dir(root: Path) -> Path:
    """A directory this process cannot write: ``root/readonly`` (mode 0500), or, for root, whom
    permissions do not stop, a path under ``/sys`` (a kernel file system refuses new folders)."""
    readonly = root / "readonly"
    readonly.mkdir(exist_ok=True)
    readonly.chmod(stat.S_IRUSR | stat.S_IXUSR)
    return readonly if not os.access(readonly, os.W_OK) else Path("/sys/infolens-readonly")


def make_files(root: Path) -> dict[str, str]:
    """Write the sample files and run directories of the table under ``root``."""
    x = np.arange(400) % 4  # exactly uniform on 4 symbols: the plug-in H(X) = I(X;X) = 2 bits
    paths: dict[str, Path] = {}

    def text(name: str, content: str) -> None:
        paths[name] = root / name
        paths[name].write_text(content)

    rows = "\n".join(f"{a},{a},{b}" for a, b in zip(x, np.arange(400) // 4 % 2, strict=True))
    text("header.csv", "a,b,c\n" + rows + "\n")           # I(a;b) = H(a) = 2 bits (a = b)
    text("plain.csv", rows + "\n")
    text("ragged.csv", "a,b,c\n1,2,3\n4,5\n6,7,8\n")
    text("nonnumeric.csv", "a,b\n1,2\n3,x\n")
    text("empty.csv", "")
    text("header_only.csv", "a,b,c\n")
    text("corrupt.npy", "\x93NUMPY garbage that is not an array")
    text("junk.bin", "hello")
    np.save(root / "x.npy", x)
    np.save(root / "object.npy", np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    np.save(root / "strings.npy", np.array(["a", "b"]))
    np.save(root / "short.npy", x[:10])
    np.savez(root / "pair.npz", x=x, y=x)
    paths.update({name: root / name for name in ("x.npy", "object.npy", "strings.npy", "short.npy",
                                                 "pair.npz")})
    paths["readonly"] = unwritable_dir(root) / "out"
    paths["afile"] = paths["junk.bin"]
    for name, config, store in (("corrupt_store", '{"epochs": 5}', b"SQLite format 3\x00" + b"\xff" * 300),
                                ("truncated_config", '{"dataset": "szt12", "activ', None),
                                ("empty_dir", None, None)):
        run = root / name
        run.mkdir()
        if config is not None:
            (run / "config.json").write_text(config)
        if store is not None:
            (run / "store.sqlite").write_bytes(store)
        paths[name] = run
    paths["fresh"] = root / "fresh"
    return {name: str(path) for name, path in paths.items()}


#: (id, arguments with {file} placeholders, expected outcome, text the output must contain).
CASES = [
    # no subcommand
    ("no-such-command", ["frobnicate"], "error", "No such command"),
    ("unknown-global-option", ["--bogus"], "error", "--bogus"),
    # estimate: files the way users have them
    ("csv-header-columns", ["estimate", "{header.csv}", "--x", "a", "--y", "b", "--method", "plugin"],
     "ok", '"value": 2.0'),
    ("csv-header-index", ["estimate", "{header.csv}", "--x", "0", "--y", "1", "--method", "plugin"],
     "ok", '"value": 2.0'),
    ("csv-cmi", ["estimate", "{header.csv}", "--x", "a", "--y", "b", "--z", "c", "--method", "plugin"],
     "ok", '"quantity": "cmi"'),
    ("csv-no-header", ["estimate", "{plain.csv}", "--x", "0", "--y", "1", "--method", "plugin"],
     "ok", '"value": 2.0'),
    ("csv-header-whole-file", ["estimate", "{header.csv}", "--method", "plugin"], "ok", '"entropy"'),
    ("csv-ragged", ["estimate", "{ragged.csv}"], "error", "line 3"),
    ("csv-nonnumeric", ["estimate", "{nonnumeric.csv}"], "error", "line 3"),
    ("csv-empty", ["estimate", "{empty.csv}"], "error", "empty.csv"),
    ("csv-header-only", ["estimate", "{header_only.csv}"], "error", "header_only.csv"),
    ("csv-missing-column", ["estimate", "{header.csv}", "--x", "q"], "error", "'q'"),
    ("csv-index-out-of-range", ["estimate", "{header.csv}", "--x", "7"], "error", "'7'"),
    ("csv-y-without-x", ["estimate", "{header.csv}", "--y", "a"], "error", "--x"),
    ("csv-columns-two-files", ["estimate", "{header.csv}", "{plain.csv}", "--x", "a"], "error", "one file"),
    ("npy-corrupt", ["estimate", "{corrupt.npy}"], "error", "corrupt.npy"),
    ("npy-object", ["estimate", "{object.npy}"], "error", "object.npy"),
    ("npy-strings", ["estimate", "{strings.npy}"], "error", "strings.npy"),
    ("npy-mismatched-lengths", ["estimate", "{x.npy}", "{short.npy}"], "error", "as long as"),
    ("npz-arrays", ["estimate", "{pair.npz}", "--x", "x", "--y", "y", "--method", "plugin"],
     "ok", '"value": 2.0'),
    ("npz-unnamed", ["estimate", "{pair.npz}"], "error", "--x"),
    ("unknown-suffix", ["estimate", "{junk.bin}"], "error", "junk.bin"),
    ("missing-file", ["estimate", "/no/such/file.csv"], "error", "does not exist"),
    ("four-files", ["estimate", "{x.npy}", "{x.npy}", "{x.npy}", "{x.npy}"], "error", "three"),
    ("bad-method", ["estimate", "{x.npy}", "--method", "nope"], "error", "'method'"),
    ("bad-param", ["estimate", "{x.npy}", "--param", "bins"], "error", "NAME=VALUE"),
    ("unknown-param", ["estimate", "{x.npy}", "--method", "plugin", "--param", "zz=1"], "error", "zz"),
    ("bad-ci", ["estimate", "{x.npy}", "--ci", "2"], "error", "'ci'"),
    ("bad-max-samples", ["estimate", "{x.npy}", "--max-samples", "0"], "error", "max_samples"),
    ("bad-permutations", ["estimate", "{x.npy}", "{x.npy}", "--permutations", "-1"], "error", "permutations"),
    # run / report: devices, options, run directories with faults
    ("run-device-foo", ["run", "--device", "foo", "--out", "{fresh}"], "error", "foo"),
    ("run-device-cuda", ["run", "--device", "cuda", "--out", "{fresh}"], "error", "cuda"),
    ("run-bins-0", ["run", "--bins", "0", "--out", "{fresh}"], "error", "bins"),
    ("run-epochs-0", ["run", "--epochs", "0", "--out", "{fresh}"], "error", "epochs"),
    ("run-threads-0", ["run", "--threads", "0", "--out", "{fresh}"], "error", "threads"),
    ("run-schedule-junk", ["run", "--schedule", "sometimes", "--out", "{fresh}"], "error", "schedule"),
    ("run-unwritable-out", ["run", "--epochs", "2", "--seeds", "1", "--out", "{readonly}"], "error",
     "readonly"),
    ("run-out-is-a-file", ["run", "--epochs", "2", "--seeds", "1", "--out", "{afile}"], "error", "junk.bin"),
    ("run-resume-without-out", ["run", "--resume"], "error", "--out"),
    ("run-resume-empty-dir", ["run", "--resume", "--out", "{empty_dir}"], "error", "empty_dir"),
    ("run-resume-truncated-config", ["run", "--resume", "--out", "{truncated_config}"], "error",
     "config.json"),
    ("run-resume-corrupt-store", ["run", "--resume", "--out", "{corrupt_store}"], "error", "store"),
    ("report-missing-dir", ["report", "/no/such/run"], "error", "does not exist"),
    ("report-empty-dir", ["report", "{empty_dir}"], "error", "empty_dir"),
    ("report-truncated-config", ["report", "{truncated_config}"], "error", "config.json"),
    ("report-corrupt-store", ["report", "{corrupt_store}"], "error", "Error: "),
    # ib, probe, layers, sweep
    ("ib-betas-junk", ["ib", "--betas", "a,b", "--out", "{fresh}"], "error", "betas"),
    ("ib-betas-empty", ["ib", "--betas", ",", "--out", "{fresh}"], "error", "betas"),
    ("ib-device-foo", ["ib", "--device", "foo", "--out", "{fresh}"], "error", "foo"),
    ("ib-epochs-0", ["ib", "--epochs", "0", "--out", "{fresh}"], "error", "epochs"),
    ("ib-unwritable-out", ["ib", "--epochs", "1", "--betas", "0", "--dataset", "szt12", "--out",
                           "{readonly}"], "error", "readonly"),
    ("probe-epochs-0", ["probe", "--epochs", "0", "--out", "{fresh}"], "error", "epochs"),
    ("probe-threads-0", ["probe", "--threads", "0", "--out", "{fresh}"], "error", "threads"),
    ("probe-bad-method", ["probe", "--method", "lda"], "error", "lda"),
    ("layers-ok", ["layers"], "ok", "total parameters: 294"),
    ("layers-widths-junk", ["layers", "--widths", "a,b"], "error", "widths"),
    ("layers-widths-zero", ["layers", "--widths", "12,0,2"], "error", "widths"),
    ("layers-widths-one", ["layers", "--widths", "12"], "error", "widths"),
    ("sweep-bad-kind", ["sweep", "nothing", "--out", "{fresh}"], "error", "nothing"),
    ("sweep-seeds-junk", ["sweep", "ib", "--seeds", "a", "--out", "{fresh}"], "error", "seeds"),
    ("sweep-betas-junk", ["sweep", "ib", "--betas", "x", "--out", "{fresh}"], "error", "betas"),
    ("sweep-n-jobs-0", ["sweep", "ib", "--n-jobs", "0", "--out", "{fresh}"], "error", "n_jobs"),
    ("sweep-epochs-0", ["sweep", "ib", "--epochs", "0", "--out", "{fresh}"], "error", "epochs"),
    ("sweep-out-is-a-file", ["sweep", "ib", "--epochs", "1", "--out", "{afile}"], "error", "junk.bin"),
]


_FRESH = itertools.count()


def _fill(args: list[str], files: dict[str, str]) -> list[str]:
    """``{name}`` -> the path of that file; ``{fresh}`` -> a new directory path for each call."""
    out = []
    for arg in args:
        if arg == "{fresh}":
            arg = f"{files['fresh']}-{next(_FRESH)}"
        elif arg.startswith("{") and arg.endswith("}"):
            arg = files[arg[1:-1]]
        out.append(arg)
    return out


@pytest.mark.parametrize(("args", "expected", "needle"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_fault_gets_a_result_or_one_clear_line(files, args, expected, needle):
    result = invoke(_fill(args, files))
    outcome = classify(result)
    assert outcome == ("ok" if expected == "ok" else "clear error"), (outcome, result.output, result.stderr)
    shown = result.stdout if expected == "ok" else result.stderr
    assert needle in shown, shown


def test_debug_flag_shows_the_traceback(files):
    plain = invoke(["estimate", files["corrupt.npy"]])
    debug = invoke(["--debug", "estimate", files["corrupt.npy"]])
    assert classify(plain) == "clear error"
    assert debug.exit_code != 0 and debug.exception is not None
    assert not isinstance(debug.exception, SystemExit)


#: Tokens junk argument lists are drawn from, per command: its options, plus values of every kind.
_OPTIONS = {
    "estimate": ["--method", "--units", "--ci", "--permutations", "--max-samples", "--seed", "--param",
                 "--x", "--y", "--z"],
    "layers": ["--dataset", "--activation", "--widths"],
    "run": ["--activation", "--epochs", "--seeds", "--dataset", "--estimator", "--bins", "--bin-width",
            "--noise-var", "--k", "--lr", "--batch-size", "--schedule", "--points-per-decade",
            "--costly-epochs", "--checkpoint-every", "--threads", "--device", "--resume"],
    "ib": ["--dataset", "--betas", "--epochs", "--batch-size", "--lr", "--k", "--eval-samples", "--seed",
           "--threads", "--device"],
    "probe": ["--dataset", "--n-samples", "--seed", "--width", "--depth", "--skip-to", "--lr",
              "--n-splits", "--method", "--embed-points", "--threads"],
    "sweep": ["--seeds", "--betas", "--dataset", "--activation", "--estimator", "--backend", "--n-jobs"],
    "report": ["--recompute-sensitivity"],
}
_VALUES = ["", "0", "-1", "1", "2", "3", "1e400", "nan", "-inf", "1e-320", "abc", "a,b", "0,1", "x", "y",
           "k=5", "bins=0", "=", "\u00e9\u00e8", "tanh", "relu", "plugin", "ksg", "cpu", "cuda:7", "meta",
           "szt12", "mnist1d", "--", "-", "{x.npy}", "{header.csv}", "{ragged.csv}", "{empty_dir}"]
#: Commands that train for minutes when their arguments happen to be valid get a last argument
#: that is always refused (an unwritable --out), so a junk call never starts a long run.
_GUARD = {"run": ["--epochs", "0", "--out", "{readonly}"], "ib": ["--epochs", "0", "--out", "{readonly}"],
          "probe": ["--epochs", "0", "--out", "{readonly}"],
          "sweep": ["--epochs", "0", "--out", "{readonly}"], "report": ["{empty_dir}"]}


#: First tokens of calls without a valid subcommand (never empty: ``infolens`` alone runs the main job).
_NOT_COMMANDS = ["--bogus", "frobnicate", "-x", "1", "\u00e9", "RUN", "--debug=1"]


@st.composite
def junk_calls(draw) -> list[str]:
    command = draw(st.sampled_from(["", *sorted(_OPTIONS)]))
    if not command:
        return [draw(st.sampled_from(_NOT_COMMANDS)), *draw(st.lists(st.sampled_from(_VALUES), max_size=3))]
    tokens = st.one_of(st.sampled_from(_OPTIONS[command]), st.sampled_from(_VALUES),
                       st.text(max_size=6))
    head = ["{x.npy}"] if command == "estimate" else ["ib"] if command == "sweep" else []
    return [command, *head, *draw(st.lists(tokens, max_size=6)), *_GUARD.get(command, [])]


@settings(max_examples=60, deadline=None)
@given(call=junk_calls())
def test_junk_arguments_never_end_in_a_traceback(files, call):
    args = _fill(call, files)
    result = invoke(args)
    outcome = classify(result)
    assert outcome in ("ok", "clear error"), (args, outcome, result.output, result.stderr)
    if outcome == "ok" and call[0] == "estimate":  # values are checked in the table; here: no NaN
        value = json.loads(result.stdout)["value"]
        assert value is not None and np.isfinite(value), result.stdout


if __name__ == "__main__":  # python tests/test_cli_fuzz.py [N]: outcome counts of the table, N junk calls
    import signal
    import tempfile
    import warnings

    class _TimeoutError(Exception):
        pass

    def _alarm(*_: object) -> None:
        raise _TimeoutError

    def _outcome(args: list[str]) -> str:
        signal.alarm(30)  # a call that starts training instead of refusing its input
        result = invoke(_fill(args, paths))
        signal.alarm(0)
        return "still running after 30 s" if isinstance(result.exception, _TimeoutError) else classify(result)

    signal.signal(signal.SIGALRM, _alarm)
    warnings.simplefilter("ignore")
    paths = make_files(Path(tempfile.mkdtemp(prefix="fuzz")))
    table: Counter[str] = Counter()
    for case_id, args, _, _ in CASES:
        table[outcome := _outcome(args)] += 1
        print(f"{case_id:32s} {outcome}", file=sys.stderr)
    junk: Counter[str] = Counter()
    for _ in range(int(sys.argv[1]) if len(sys.argv) > 1 else 200):
        call = junk_calls().example()
        junk[outcome := _outcome(call)] += 1
        if outcome not in ("ok", "clear error"):
            print(f"junk {call} -> {outcome}", file=sys.stderr)
    print("table:", dict(table))
    print("junk:", dict(junk))
    (Path(paths["fresh"]).parent / "readonly").chmod(stat.S_IRWXU)
