"""Mutation testing of the key, clocking, gate and rate-limit code (issue 15). By hand, not in CI.

    .venv/bin/pip install -e ".[test,mutation]"
    .venv/bin/python bench/mutation.py [--only keys,gate] [--workers 2] [--timeout 120]
    .venv/bin/python bench/mutation.py --survivors   # only the last run's survivors, again
    .venv/bin/python bench/mutation.py --report      # the last run's numbers again, no run

cosmic-ray mutates a file in place and runs a test command per mutant. Each worker gets its
own copy of the product under bench/out/mutation/wN (laid out as the installed `tempclock`
namespace, put first on PYTHONPATH, so the editable install's finder never sees it) and
mutates only that copy: the worktree is never touched and two workers never see each
other's mutants. The tests are the worktree's, a focused set per file (TARGETS), run in-process
(no server subprocesses), SQLite only, `-x`, with a timeout per mutant.

Mutants skipped before running, each counted and printed (none is scored):
- inside a function's annotations: this package has `from __future__ import annotations`, so
  they are never evaluated (class-body annotations, which msgspec reads, are kept);
- that do not compile, or that "replace" the keyword-only marker `*` of a parameter list as
  if it were a multiplication (cosmic-ray turns it into `+`, `/`...);
- operator replacements outside the sufficient set (one arithmetic replacement per operator
  as mutmut makes, and the relational set of Kaminski, Ammann & Offutt, "Better predicate
  testing", 2011): cosmic-ray otherwise replaces every operator with each of the others.

Score per file = killed / (killed + survived), where a timeout counts as killed (printed
apart), and survivors listed as equivalent in bench/mutation_survivors.md are left out (also
printed). Verdict (bench/_common.verdict) MET when every file's score is >= 90%; exit 1 when
NOT MET.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from _common import verdict

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "mutation"
SURVIVORS = ROOT / "bench" / "mutation_survivors.md"
TARGET_SCORE = 0.90
PACKAGE_DIRS = {"tempclock/api": "api", "tempclock/plugins": "plugins",
                "tempclock/resources": "resources", "tempclock_desktop": "tempclock_desktop"}


@dataclass(frozen=True)
class Target:
    name: str
    source: str  # in the repository
    tests: tuple[str, ...]  # the focused tests that cover it, in-process; fastest first (-x)

    @property
    def module_path(self) -> str:
        """Where the file lies in a worker's copy."""
        return "tempclock/" + self.source


TARGETS = (
    Target("ratelimit", "api/http/ratelimit.py",
           ("tests/api/test_http_ratelimit.py", "tests/api/test_redis_ratelimit.py",
            "tests/api/test_mutants_ratelimit.py")),
    Target("gate", "api/http/gate.py",
           ("tests/api/test_mutants_gate.py",)),
    Target("keys", "api/services/keys.py",
           ("tests/api/test_mutants_keys.py", "tests/api/test_keys.py",
            "tests/api/test_verified_keys.py")),
    Target("clocking", "api/services/clocking.py",
           ("tests/api/test_mutants_clocking.py", "tests/api/test_clocking.py")),
)

# One replacement per arithmetic/bitwise operator (mutmut's choice)...
ARITHMETIC = {"Add": "Sub", "Sub": "Add", "Mul": "Div", "Div": "Mul", "FloorDiv": "Div",
              "Mod": "Div", "Pow": "Mul", "LShift": "RShift", "RShift": "LShift",
              "BitAnd": "BitOr", "BitOr": "BitAnd", "BitXor": "BitAnd"}
# ...and the sufficient relational replacements (the always-true/false ones cosmic-ray lacks).
RELATIONAL = {"Lt": {"LtE", "NotEq"}, "Gt": {"GtE", "NotEq"}, "LtE": {"Lt", "Eq"},
              "GtE": {"Gt", "Eq"}, "Eq": {"NotEq"}, "NotEq": {"Eq"}, "Is": {"IsNot"},
              "IsNot": {"Is"}, "In": {"NotIn"}, "NotIn": {"In"}}


# --- setting up ------------------------------------------------------------------------


def test_environment() -> dict[str, str]:
    """What every test command runs with: SQLite only, Redis on loopback if given, no
    throwaway servers, no third-party pytest plugins (they cost seconds per mutant)."""
    env = dict(os.environ)
    env.update(TEMPCLOCK_TEST_LOCAL_SERVERS="0", PYTEST_DISABLE_PLUGIN_AUTOLOAD="1",
               PYTHONDONTWRITEBYTECODE="1")
    env.pop("TEMPCLOCK_TEST_POSTGRES_URL", None)
    env.setdefault("TEMPCLOCK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    return env


def test_command(target: Target) -> str:
    tests = " ".join(str(ROOT / t) for t in target.tests if (ROOT / t).exists())
    return (f"{sys.executable} -m pytest -o addopts= -p no:cacheprovider -x -q "
            f"--rootdir {ROOT} {tests}")


def make_copy(worker: Path) -> None:
    """A fresh copy of the product, laid out as the installed namespace."""
    shutil.rmtree(worker, ignore_errors=True)
    for inside, folder in PACKAGE_DIRS.items():
        shutil.copytree(ROOT / folder, worker / inside,
                        ignore=shutil.ignore_patterns("__pycache__"))


def write_config(target: Target, timeout: float, ports: list[int]) -> Path:
    urls = ", ".join(f"'http://127.0.0.1:{p}'" for p in ports)
    path = OUT / f"{target.name}.toml"
    path.write_text(
        "[cosmic-ray]\n"
        f'module-path = "{target.module_path}"\n'
        f"timeout = {timeout}\n"
        "excluded-modules = []\n"
        f'test-command = "{test_command(target)}"\n'
        "[cosmic-ray.distributor]\n"
        'name = "http"\n'
        "[cosmic-ray.distributor.http]\n"
        f"worker-urls = [{urls}]\n")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_workers(count: int) -> tuple[list[subprocess.Popen], list[int]]:
    env = test_environment()
    procs, ports = [], []
    for n in range(count):
        worker = OUT / f"w{n}"
        make_copy(worker)
        port = free_port()
        env["PYTHONPATH"] = str(worker)
        log = (OUT / f"w{n}.log").open("w")
        procs.append(subprocess.Popen(
            [str(Path(sys.executable).parent / "cosmic-ray"), "http-worker", "--port", str(port)],
            cwd=worker, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        ports.append(port)
    for port in ports:
        deadline = time.monotonic() + 60
        while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
            if time.monotonic() > deadline:
                raise SystemExit(f"Error: a cosmic-ray worker did not start (port {port})")
            time.sleep(0.2)
    return procs, ports


def stop_workers(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)


def baseline_passes(target: Target) -> bool:
    """The unmutated code passes the test command (in worker 0's copy)."""
    env = test_environment()
    env["PYTHONPATH"] = str(OUT / "w0")
    started = time.monotonic()
    result = subprocess.run(test_command(target).split(), cwd=OUT / "w0", env=env,
                            capture_output=True, text=True)
    last = (result.stdout.strip().splitlines() or ["(no output)"])[-1]
    print(f"  baseline {target.name}: exit {result.returncode} in "
          f"{time.monotonic() - started:.0f} s ({last})")
    return result.returncode == 0


# --- choosing the mutants ------------------------------------------------------------------


def function_annotations(source: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """The (start, end) positions of annotations inside functions (never evaluated here)."""
    spans = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            args = node.args
            every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
            notes = [a.annotation for a in every if a is not None and a.annotation is not None]
            notes += [node.returns] if node.returns else []
            notes += [n.annotation for inner in node.body for n in ast.walk(inner)
                      if isinstance(n, ast.AnnAssign)]
            spans += [((n.lineno, n.col_offset), (n.end_lineno, n.end_col_offset)) for n in notes]
    return spans


def sufficient(operator: str) -> bool:
    name = operator.rsplit("/", 1)[-1]
    kind, _, rest = name.partition("_")
    if kind == "ReplaceBinaryOperator":
        old, new = rest.split("_")
        return ARITHMETIC.get(old) == new
    if kind == "ReplaceComparisonOperator":
        old, new = rest.split("_")
        return new in RELATIONAL.get(old, ())
    return True


def skip_reason(source: str, annotations, mutation) -> str | None:
    from cosmic_ray.mutating import mutate_code
    from cosmic_ray.plugins import get_operator

    if not sufficient(mutation.operator_name):
        return "outside the sufficient operator set"
    start = tuple(mutation.start_pos)
    line = source.splitlines()[start[0] - 1]
    if re.match(r"\*\s*(,|\)|$)", line[start[1]:]) and "BinaryOperator_Mul" in mutation.operator_name:
        return "the keyword-only marker `*`, not a multiplication"
    if any(s <= start < e for s, e in annotations):
        return "in a function's annotation (never evaluated)"
    mutated = mutate_code(source, get_operator(mutation.operator_name)(), mutation.occurrence)
    try:
        compile(mutated or source, "mutant", "exec")
    except SyntaxError:
        return "does not compile"
    return None


def skip_unfit(session: Path, worker: Path) -> dict[str, int]:
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import WorkerOutcome, WorkResult

    skipped: dict[str, int] = {}
    with use_db(str(session), WorkDB.Mode.open) as db:
        for item in list(db.pending_work_items):
            (mutation,) = item.mutations
            source = (worker / mutation.module_path).read_text()
            reason = skip_reason(source, function_annotations(source), mutation)
            if reason:
                skipped[reason] = skipped.get(reason, 0) + 1
                db.set_result(item.job_id, WorkResult(output=f"skipped: {reason}",
                                                      worker_outcome=WorkerOutcome.SKIPPED))
    return skipped


# --- reporting ---------------------------------------------------------------------------------


def equivalents() -> set[tuple[str, str, str]]:
    """(file, operator, mutated line) of the survivors bench/mutation_survivors.md calls
    equivalent: its table rows `| file:line | operator | `mutated line` | why |`."""
    if not SURVIVORS.exists():
        return set()
    found = set()
    for row in re.finditer(r"^\|\s*([\w/.]+\.py):\d+\s*\|\s*(\S+)\s*\|\s*`(.+?)`\s*\|",
                           SURVIVORS.read_text(), re.M):
        found.add((row[1], row[2], row[3].replace("\\|", "|").strip()))  # a table's \|
    return found


def mutated_line(diff: str) -> tuple[int, str]:
    """The line number and text of the mutant's changed line, from cosmic-ray's diff."""
    hunk = re.search(r"^@@ -(\d+)", diff, re.M)
    start = int(hunk[1]) if hunk else 0
    line = start
    for text in diff.splitlines():
        if text.startswith("@@") or text.startswith(("---", "+++")):
            continue
        if text.startswith("+"):
            return line, text[1:].strip()
        if not text.startswith("-"):
            line += 1
    return start, ""


def tally(target: Target, equivalent: set) -> dict:
    from cosmic_ray.work_db import WorkDB, use_db

    counts = {"killed": 0, "timeout": 0, "survived": 0, "equivalent": 0, "skipped": 0,
              "pending": 0, "incompetent": 0}
    survivors = []
    with use_db(str(OUT / f"{target.name}.sqlite"), WorkDB.Mode.open) as db:
        for item, result in db.completed_work_items:
            if result.worker_outcome == "skipped":
                counts["skipped"] += 1
            elif result.worker_outcome != "normal":
                counts["incompetent"] += 1
                survivors.append((item, result, "incompetent: " + result.worker_outcome))
            elif result.test_outcome == "killed":
                counts["timeout" if result.output == "timeout" else "killed"] += 1
            else:
                line, text = mutated_line(result.diff or "")
                (mutation,) = item.mutations
                key = (target.source, mutation.operator_name.rsplit("/", 1)[-1], text)
                if key in equivalent:
                    counts["equivalent"] += 1
                else:
                    counts["survived"] += 1
                    survivors.append((item, result, f"{target.source}:{line} {key[1]}: {text}"))
        counts["pending"] = db.num_work_items - db.num_results
    return {"counts": counts, "survivors": [s[2] for s in survivors]}


def report(targets: list[Target]) -> bool:
    """Print each file's figures and the survivors; whether every file met TARGET_SCORE."""
    equivalent = equivalents()
    met = True
    lines = []
    print(f"\n{'file':<26} {'killed':>6} {'timeout':>7} {'survived':>8} {'equiv.':>6} "
          f"{'skipped':>7} {'pending':>7} {'score':>6}")
    for target in targets:
        if not (OUT / f"{target.name}.sqlite").exists():
            print(f"{target.source:<26} not run")
            met = False
            continue
        t = tally(target, equivalent)
        c = t["counts"]
        dead = c["killed"] + c["timeout"]
        scored = dead + c["survived"] + c["incompetent"]
        score = dead / scored if scored else 0.0
        met = met and score >= TARGET_SCORE and c["pending"] == 0
        print(f"{target.source:<26} {c['killed']:>6} {c['timeout']:>7} {c['survived']:>8} "
              f"{c['equivalent']:>6} {c['skipped']:>7} {c['pending']:>7} {score:>6.1%}")
        lines += [f"  {s}" for s in t["survivors"]]
    if lines:
        print("\nsurvivors (not listed as equivalent in bench/mutation_survivors.md):")
        print("\n".join(lines))
    print()
    return met


# --- running ----------------------------------------------------------------------------------


def forget_survivors(session: Path) -> int:
    """Make the survivors of the last run pending again (to try them on new tests)."""
    import sqlite3

    with sqlite3.connect(session) as db:
        return db.execute("DELETE FROM work_results WHERE worker_outcome = 'NORMAL' "
                          "AND test_outcome = 'SURVIVED'").rowcount


def run_target(target: Target, ports: list[int], timeout: float, survivors_only: bool) -> None:
    cosmic_ray = str(Path(sys.executable).parent / "cosmic-ray")
    config = write_config(target, timeout, ports)
    session = OUT / f"{target.name}.sqlite"
    if survivors_only and session.exists():
        print(f"  {target.name}: trying {forget_survivors(session)} survivors again")
        skip_unfit(session, OUT / "w0")  # by the filters as they are now
    else:
        session.unlink(missing_ok=True)
        subprocess.run([cosmic_ray, "init", str(config), str(session)], cwd=OUT / "w0",
                       check=True)
        skipped = skip_unfit(session, OUT / "w0")
        print(f"  {target.name}: skipped " + ", ".join(f"{n} {why}" for why, n in skipped.items()))
    if not baseline_passes(target):
        raise SystemExit(f"Error: the unmutated {target.source} fails its tests; fix that first")
    started = time.monotonic()
    subprocess.run([cosmic_ray, "exec", str(config), str(session)], cwd=OUT / "w0", check=True)
    print(f"  {target.name}: ran in {time.monotonic() - started:.0f} s")
    (OUT / f"{target.name}.json").write_text(json.dumps({"seconds": time.monotonic() - started}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", help="comma-separated names: " +
                        ", ".join(t.name for t in TARGETS))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per mutant")
    parser.add_argument("--report", action="store_true", help="print the last run's numbers")
    parser.add_argument("--survivors", action="store_true",
                        help="run only the last run's survivors again (after adding tests)")
    args = parser.parse_args()
    chosen = [t for t in TARGETS if not args.only or t.name in args.only.split(",")]
    if not args.report:
        OUT.mkdir(parents=True, exist_ok=True)
        procs, ports = start_workers(args.workers)
        try:
            for target in chosen:
                run_target(target, ports, args.timeout, args.survivors)
        finally:
            stop_workers(procs)
    verdict(report(chosen if args.only else list(TARGETS)),
            f"every file >= {TARGET_SCORE:.0%} of its non-equivalent mutants killed, none pending")


if __name__ == "__main__":
    main()
