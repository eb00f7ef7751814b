"""Mutation testing of the safety core: run mutmut on the fast tests, print the score and the survivors.

Usage: scripts/mutation.sh [--workers N] [--report-only]

mutmut's settings (which modules, which tests) are in pyproject.toml under [tool.mutmut].
One embedded PostgreSQL serves every mutant's test run; each test process reuses a migrated database
of its own (tests/store/conftest.py); the server is stopped when this script ends.

Every surviving mutant is reviewed, in one of two lists (`mutant name  # why` lines):
- scripts/mutation-equivalent.txt: equivalent mutants, which no test can tell from the original; they
  are left out of the score;
- scripts/mutation-survivors.txt: survivors that are not equivalent but that no test here kills, each
  with the reason: mostly mutants that change only the words of a message a person reads (tests
  assert states, denial reasons, audit rows and the data a message names, never its sentences).
  They stay in the score as survivors.
A survivor in neither list is unreviewed: kill it with a test, or list it with the reason.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTMUT = ROOT / ".venv" / "bin" / "mutmut"
EQUIVALENT = ROOT / "scripts" / "mutation-equivalent.txt"
KEPT = ROOT / "scripts" / "mutation-survivors.txt"
TARGET = 0.90
RESULT = re.compile(r"^\s+(\S+): (.+)$")
CAUGHT = {"killed", "timeout", "caught by type check", "segfault"}


def reviewed(path: Path) -> dict[str, str]:
    """mutant name → why (`name  # reason` lines; blank lines and `#` lines ignored)."""
    found: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, _, reason = line.partition("#")
        if not reason.strip():
            raise SystemExit(f"{path}: {name.strip()} has no reason; every reviewed mutant needs one")
        found[name.strip()] = reason.strip()
    return found


def results() -> dict[str, str]:
    out = subprocess.run(  # noqa: S603 - our own venv's mutmut, fixed arguments
        [str(MUTMUT), "results", "--all", "true"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    return {m.group(1): m.group(2) for line in out.splitlines() if (m := RESULT.match(line))}


def report() -> int:
    statuses = results()
    if not statuses:
        print("no mutation results: run without --report-only first")
        return 2
    equivalent, kept = reviewed(EQUIVALENT), reviewed(KEPT)
    unchecked = sum(1 for status in statuses.values() if status == "not checked")
    counted = {name: status for name, status in statuses.items() if name not in equivalent and status != "not checked"}
    killed = sum(1 for status in counted.values() if status in CAUGHT)
    survivors = sorted(name for name, status in counted.items() if status not in CAUGHT)
    unreviewed = [name for name in survivors if name not in kept]
    stale = sorted((set(equivalent) | set(kept)) - set(statuses))
    # Mutant names are numbered per function: after an edit a reviewed name may denote another mutant.
    # One that a test kills now needs no entry, or was renumbered: either way its entry is out of date.
    renumbered = sorted(name for name in set(equivalent) | set(kept) if statuses.get(name) in CAUGHT)
    score = killed / len(counted) if counted else 1.0

    by_module = Counter(name.rsplit(".", 1)[0].split(".x", 1)[0] for name in survivors)
    print(f"\nmutants: {len(statuses)}, reviewed equivalent: {len(equivalent) - len(stale)}, counted: {len(counted)}")
    print(f"by status: {dict(Counter(statuses.values()))}")
    print(f"survivors by module: {dict(by_module)}")
    for name in survivors:
        why = f"reviewed: {kept[name]}" if name in kept else "NOT REVIEWED"
        print(f"  survived ({counted[name]}): {name}    [{why}]")
    print(
        f"\nsurvivors: {len(survivors)}, reviewed (in {KEPT.name}): {len(survivors) - len(unreviewed)},"
        f" not reviewed: {len(unreviewed)} (see one: .venv/bin/mutmut show NAME)"
    )
    if stale:
        print(f"\n{len(stale)} reviewed names no longer exist (the code moved): review both lists again")
        for name in stale:
            print(f"  stale: {name}")
    if renumbered:
        print(f"\n{len(renumbered)} reviewed names denote mutants that are killed now (renumbered?): review them again")
        for name in renumbered:
            print(f"  killed but listed: {name}")
    if unchecked:
        print(f"\n{unchecked} mutants were not run (a partial run): the score covers the others only")
    print(f"\nmutation score: {killed}/{len(counted)} killed = {score:.1%} (target {TARGET:.0%})")
    return 0 if score >= TARGET and not unreviewed else 1


def stop_postgres(pgdata: Path) -> None:
    """Fast shutdown (SIGINT to the postmaster), waiting up to 30 s for it to finish."""
    pid_file = pgdata / "postmaster.pid"
    if not pid_file.exists():
        return
    os.kill(int(pid_file.read_text().split()[0]), signal.SIGINT)
    for _ in range(300):
        if not pid_file.exists():
            return
        time.sleep(0.1)
    print(f"PostgreSQL under {pgdata} did not stop within 30 s", file=sys.stderr)


def run(workers: int, names: list[str]) -> None:
    import pgserver  # the embedded server the tests use too

    with tempfile.TemporaryDirectory(prefix="mutation-") as scratch:
        pgdata = Path(scratch) / "postgres"
        slots = Path(scratch) / "store-slots"
        slots.mkdir()
        # cleanup_mode=None and stopped below: pgserver's own clean-up (and pg_ctl, as root) can fail
        # or spin once the processes that used the server (mutmut's forks) are gone.
        server = pgserver.get_server(pgdata, cleanup_mode=None)  # type: ignore[attr-defined]
        env = {
            **os.environ,
            "DATABASE_URL": server.get_uri(),
            # pytest's own temp root, so other pytest runs on this machine never clean it up under us
            "PYTEST_DEBUG_TEMPROOT": scratch,
            # each mutant's test process reuses a migrated store database (tests/store/conftest.py)
            "STORE_TEST_SLOTS": str(slots),
        }
        started, cpu_before = time.monotonic(), _children_cpu_seconds()
        try:
            subprocess.run(  # noqa: S603
                [str(MUTMUT), "run", "--max-children", str(workers), *names], cwd=ROOT, env=env, check=False
            )
        finally:
            stop_postgres(pgdata)
        wall, cpu = time.monotonic() - started, _children_cpu_seconds() - cpu_before
        print(f"\nmutmut ran {wall / 60:.1f} min (wall), using {cpu / 60:.1f} min of CPU")


def _children_cpu_seconds() -> float:
    """User + system CPU of the finished child processes (mutmut and every mutant's test process)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=1, help="mutants tested at once (default 1: it is CPU heavy)")
    parser.add_argument("--report-only", action="store_true", help="print the score of the last run")
    parser.add_argument("mutants", nargs="*", help="only these mutants (globs such as 'bot.runbooks.policy*')")
    args = parser.parse_args()
    if not args.report_only:
        run(args.workers, args.mutants)
    return report()


if __name__ == "__main__":
    sys.exit(main())
