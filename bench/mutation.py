"""Mutation testing of the pure modules: does a changed line make one of its tests fail?

Runs mutmut 3 over each module on its own, with only the module's fast unit tests, in a working
copy outside the repository (mutmut reads its settings from ``[tool.mutmut]`` and writes a
``mutants/`` tree beside them: both go into the copy, so the checkout is never touched). A
mutant is "killed" when a test fails, "survived" when every test still passes (a behaviour no
test pins down, or a change that makes no difference), "timeout" when the change made a test run
away (counted as killed), "no tests" when no selected test reaches the function.

Score = (killed + timeout) / (mutants - skipped), as mutmut's own badge counts it.

Not part of the test run: the nine modules before the name estimate's take about 20 minutes on
2 cores (quants.py alone about 9: its mixing rules are reached only through the name-accuracy
table); families.py is larger than all of them together.

    python bench/mutation.py                      # every module below, in this order
    python bench/mutation.py names context        # modules by the end of their dotted name
    python bench/mutation.py --list               # the modules and their tests
    python bench/mutation.py reasoning --show-survivors --json out.json --workdir /tmp/mut

Options: ``--jobs N`` (mutants tested at once; default: the CPU count), ``--workdir DIR``
(keep the working copies there, one per module, for ``mutmut show NAME`` / ``mutmut browse``
inside ``DIR/<module>``), ``--show-survivors`` (print each surviving mutant's diff),
``--json FILE``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# What the tests read besides app/ and tests/: the package data and native/backends.json.
COPIED = ["app", "tests", "resources", "native"]


@dataclass(frozen=True)
class Target:
    path: str  # the module, relative to the repository
    tests: tuple[str, ...]  # its fast unit tests (files or node ids)
    note: str = ""
    keyword: str = ""  # pytest -k: leaves out the slow tests of those files

    @property
    def name(self) -> str:
        return self.path.removesuffix(".py").replace("/", ".")


# The pure modules whose behaviour users see, each with the fast tests that are about it. The
# modules being reworked at the moment (the name estimate's families and shapes) come last, so a
# run can be cut short before them.
TARGETS = [
    Target(
        "app/core/gguf/names.py",
        ("tests/core/gguf/test_names.py", "tests/core/gguf/test_name_parts.py"),
        "quant, size and shard from a file name",
    ),
    Target(
        "app/core/gguf/quants.py",
        (
            "tests/core/gguf/test_names.py",
            "tests/core/hub/test_bits_per_weight.py",
            # The types a preset gives each tensor, priced against real files on the Hub.
            "tests/core/fit/test_name_accuracy.py",
            "tests/core/gguf/test_quant_presets.py",
        ),
        "tensor types, presets, bits per weight",
    ),
    Target(
        "app/core/chat/context.py",
        ("tests/core/chat/test_context.py", "tests/core/chat/test_context_rule_edges.py"),
        "which messages fit in the context",
    ),
    Target(
        "app/core/gguf/header.py",
        (
            "tests/core/gguf/test_header.py",
            "tests/core/gguf/test_hostile_files.py",
            "tests/core/gguf/test_header_limits.py",
        ),
        "GGUF header reading and its limits",
    ),
    Target(
        "app/core/hub/partial.py",
        (
            "tests/core/hub/test_download_range.py",
            "tests/core/hub/test_download.py",
            "tests/core/hub/test_partial_file_checks.py",
        ),
        "partial files, resume offsets, checks before the rename",
        # These wait on a throttled or stalled server for seconds, for every mutant they reach.
        keyword="not stalls and not too_many_requests and not second_downloader and not gated"
        " and not told_to_wait",
    ),
    Target(
        "app/core/chat/template_env.py",
        ("tests/core/chat/test_template.py", "tests/core/chat/test_template_sandbox_edges.py"),
        "the chat template sandbox and its deadline",
    ),
    Target(
        "app/core/fit/buffers.py",
        (
            "tests/core/fit/test_buffers.py",
            "tests/core/fit/test_placement.py",
            "tests/core/fit/test_buffer_sizes.py",
        ),
        "KV cache, compute and output buffer arithmetic",
    ),
    Target(
        "app/engine/streaming.py",
        ("tests/engine/test_streaming.py", "tests/engine/test_stream_pieces.py"),
        "UTF-8 pieces, stop strings, the batcher",
    ),
    Target(
        "app/core/chat/reasoning.py",
        (
            "tests/core/chat/test_reasoning.py",
            "tests/engine/test_streaming.py",
            "tests/core/chat/test_reasoning_split_edges.py",
        ),
        "thinking told apart from the answer",
    ),
    Target(
        "app/core/fit/shape.py",
        ("tests/core/fit/test_shape.py", "tests/core/fit/test_name_accuracy.py"),
        "the estimate's model shape (being reworked: run last)",
    ),
    Target(
        "app/core/fit/families.py",
        ("tests/core/fit/test_name_accuracy.py", "tests/core/fit/test_shape.py"),
        "shapes of common families (being reworked: run last)",
    ),
]

STATUSES = ("killed", "survived", "timeout", "no tests", "suspicious", "skipped", "other")
_RESULT_LINE = re.compile(r"^\s+(\S+): (.+)$")
_TOOL_TABLE = re.compile(r"(?ms)^\[tool\.mutmut\]\n.*?(?=^\[|\Z)")


@dataclass
class Outcome:
    target: Target
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATUSES, 0))
    survivors: list[dict[str, str]] = field(default_factory=list)
    untested: list[str] = field(default_factory=list)  # mutants no selected test reaches
    seconds: float = 0.0
    error: str = ""

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def score(self) -> float | None:
        tested = self.total - self.counts["skipped"]
        if tested <= 0:
            return None
        return 100.0 * (self.counts["killed"] + self.counts["timeout"]) / tested

    def as_json(self) -> dict[str, object]:
        return {
            "module": self.target.path,
            "tests": list(self.target.tests),
            **{k.replace(" ", "_"): v for k, v in self.counts.items()},
            "total": self.total,
            "score": None if self.score is None else round(self.score, 1),
            "seconds": round(self.seconds, 1),
            "error": self.error,
            "survivors": self.survivors,
            "untested": self.untested,
        }


def _mutmut() -> str:
    exe = Path(sys.executable).with_name("mutmut")
    if exe.exists():
        return str(exe)
    found = shutil.which("mutmut")
    if not found:
        sys.exit("mutmut is not installed: pip install -e '.[dev]'")
    return found


def _tool_config(target: Target, tests: list[str]) -> str:
    """The ``[tool.mutmut]`` table for one module (TOML: the strings are JSON-quoted)."""

    def arr(items: list[str]) -> str:
        return "[" + ", ".join(json.dumps(i) for i in items) + "]"

    return "\n".join(
        [
            "[tool.mutmut]",
            # The whole package goes into mutants/ (its imports must resolve there), one file of
            # it is mutated.
            f"source_paths = {arr(['app'])}",
            f"only_mutate = {arr([target.path])}",
            f"also_copy = {arr(['resources', 'native'])}",
            f"pytest_add_cli_args_test_selection = {arr(tests)}",
            f"pytest_add_cli_args = {arr(['-p', 'no:cacheprovider'])}",
            # A mutant that makes a test loop is stopped after 5x the tests' own time (CPU
            # seconds, so a busy machine does not turn slow tests into timeouts).
            "timeout_multiplier = 5.0",
            "use_git_change_detection = false",
            "",
        ]
    )


def _prepare(target: Target, workdir: Path) -> list[str]:
    """A fresh copy of the repository's sources and tests with the module's mutmut settings."""
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in COPIED:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, workdir / name, ignore=ignore)
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    tests = [t for t in target.tests if (REPO / t.split("::")[0]).exists()]
    selection = [*tests, "-k", target.keyword] if target.keyword and tests else tests
    pyproject = _TOOL_TABLE.sub("", pyproject).rstrip() + "\n\n" + _tool_config(target, selection)
    (workdir / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    return tests


def _run_one(target: Target, workdir: Path, jobs: int) -> Outcome:
    outcome = Outcome(target)
    tests = _prepare(target, workdir)
    if not tests:
        outcome.error = "none of its tests exist"
        return outcome
    mutmut = _mutmut()
    log = workdir / "mutmut.log"
    start = time.monotonic()
    with log.open("w") as out:
        # In a session of its own, so that stopping this script stops mutmut's workers too.
        proc = subprocess.Popen(
            [mutmut, "run", "--max-children", str(jobs)],
            cwd=workdir,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=os.environ.copy(),
            start_new_session=True,
        )
        try:
            proc.wait()
        except BaseException:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait()
            raise
    outcome.seconds = time.monotonic() - start
    if proc.returncode != 0:
        tail = log.read_text(errors="replace").splitlines()[-15:]
        outcome.error = f"mutmut run exited with {proc.returncode}: " + " | ".join(tail)
        return outcome
    results = subprocess.run(
        [mutmut, "results", "--all", "true"], cwd=workdir, capture_output=True, text=True
    )
    for line in results.stdout.splitlines():
        m = _RESULT_LINE.match(line)
        if not m:
            continue
        name, status = m.group(1), m.group(2).strip()
        if status == "caught by type check":
            status = "killed"
        outcome.counts[status if status in outcome.counts else "other"] += 1
        if status == "survived":
            diff = subprocess.run(
                [mutmut, "show", name], cwd=workdir, capture_output=True, text=True
            ).stdout
            outcome.survivors.append({"name": name, "status": status, "diff": diff.strip()})
        elif status in ("no tests", "suspicious"):
            outcome.untested.append(name)
    if outcome.total == 0:
        outcome.error = "no mutants found: " + results.stderr.strip()[-300:]
    return outcome


def _table(outcomes: list[Outcome]) -> str:
    head = ("module", "mutants", "killed", "timeout", "survived", "no tests", "score", "time")
    rows = [head]
    for o in outcomes:
        if o.error:
            rows.append((o.target.name, "-", "-", "-", "-", "-", "error", f"{o.seconds:.0f} s"))
            continue
        c = o.counts
        score = "-" if o.score is None else f"{o.score:.1f} %"
        rows.append(
            (
                o.target.name,
                str(o.total),
                str(c["killed"]),
                str(c["timeout"]),
                str(c["survived"]),
                str(c["no tests"]),
                score,
                f"{o.seconds:.0f} s",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = []
    for n, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        lines.append("| " + " | ".join(cells) + " |")
        if n == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def _select(names: list[str]) -> list[Target]:
    if not names:
        return list(TARGETS)
    chosen: list[Target] = []
    for name in names:
        key = name.removesuffix(".py").replace("/", ".")
        hits = [t for t in TARGETS if t.name == key or t.name.endswith("." + key)]
        if len(hits) != 1:
            known = ", ".join(t.name for t in TARGETS)
            sys.exit(f"{name!r} names {len(hits)} modules; known: {known}")
        if hits[0] not in chosen:
            chosen.append(hits[0])
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help="modules (end of the dotted name); default all")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--workdir", type=Path, help="keep the working copies in this folder")
    parser.add_argument("--show-survivors", action="store_true", help="print surviving diffs")
    parser.add_argument("--json", type=Path, help="write the results to this file")
    parser.add_argument("--list", action="store_true", help="list the modules and their tests")
    args = parser.parse_args()

    # Stopped with SIGTERM as with Ctrl+C: mutmut and its workers go too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    targets = _select(args.modules)
    if args.list:
        for t in targets:
            print(f"{t.name}  ({t.note})")
            for test in t.tests:
                mark = "" if (REPO / test.split("::")[0]).exists() else "  (missing)"
                print(f"    {test}{mark}")
        return

    base = args.workdir.resolve() if args.workdir else Path(tempfile.mkdtemp(prefix="mutation-"))
    if REPO in (base, *base.parents):
        # Inside the checkout mutmut's copy would sit in the repository's own tree and git.
        sys.exit("--workdir must be outside the repository")
    outcomes: list[Outcome] = []
    try:
        for target in targets:
            print(f"== {target.name}: {', '.join(target.tests)}", flush=True)
            outcome = _run_one(target, base / target.name, args.jobs)
            outcomes.append(outcome)
            if outcome.error:
                print(f"   error: {outcome.error}", flush=True)
            else:
                c = outcome.counts
                print(
                    f"   {outcome.total} mutants: {c['killed']} killed, {c['timeout']} timeout,"
                    f" {c['survived']} survived, {c['no tests']} without tests"
                    f" ({outcome.seconds:.0f} s)",
                    flush=True,
                )
            if args.show_survivors:
                for s in outcome.survivors:
                    print(f"\n-- {s['status']}: {s['name']}\n{s['diff']}\n", flush=True)
            if args.json:
                _write_json(args.json, outcomes, args.jobs)
    finally:
        if not args.workdir:
            shutil.rmtree(base, ignore_errors=True)
    print()
    print(_table(outcomes))
    if any(o.error for o in outcomes):
        sys.exit(1)


def _write_json(path: Path, outcomes: list[Outcome], jobs: int) -> None:
    data = {
        "tool": "mutmut " + _mutmut_version(),
        "jobs": jobs,
        "cpus": os.cpu_count(),
        "modules": [o.as_json() for o in outcomes],
    }
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def _mutmut_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mutmut")
    except PackageNotFoundError:
        return "?"


if __name__ == "__main__":
    main()
