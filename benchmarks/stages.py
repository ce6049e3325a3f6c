"""Where the time of a benchmark goes: the run matrix timed stage by stage.

Runs `sedbench run` for a profile (or, with --from-results, only reads the timings that an earlier
run wrote to results/<profile>/<hash>/timings/) and prints data, features, each teacher, each
method's training, evaluation and complexity measurement, and the table, slowest first.

    python benchmarks/stages.py --profile quick --seeds 1 --jobs 2
    python benchmarks/stages.py --profile quick --from-results
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from sedbench.results import group_stages, group_timings, read_timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--seeds", default="1")
    parser.add_argument("--jobs", default="2")
    parser.add_argument("--results", default="results")
    parser.add_argument("--from-results", action="store_true", help="only print the stored timings")
    parser.add_argument("--hash", default=None, help="settings group (hash) [default: the newest]")
    args = parser.parse_args()
    table_s = None
    if not args.from_results:
        cmd = [sys.executable, "-m", "sedbench.cli", "run", "--methods", "all", "--profile", args.profile,
               "--seeds", args.seeds, "--jobs", args.jobs, "--results", args.results, "--no-table"]
        start = time.perf_counter()
        subprocess.run(cmd, check=False)
        total = time.perf_counter() - start
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "sedbench.cli", "table", "--results", args.results,
                        "--benchmark", args.profile], check=False)
        table_s = time.perf_counter() - start
        print(f"\nwhole matrix: {total:.0f} s wall; table: {table_s:.1f} s")
    # --from-results: every command that built the group (methods added later are their own command)
    files = group_timings(args.results, args.profile, args.hash)
    if not args.from_results:
        files = files[-1:]
    if not files:
        raise SystemExit(f"no stage timings of profile {args.profile} under {args.results}: `sedbench run` writes them")
    all_timings = read_timings(files)
    if not all_timings:
        raise SystemExit(f"the stage timings under {args.results} are unreadable: run `sedbench run` again")
    timings = all_timings[-1]
    stages = group_stages(all_timings) + ([{"stage": "table", "seconds": table_s}] if table_s is not None else [])
    print(f"\nstages of profile {args.profile} ({timings['jobs']} job(s), {timings['device']}), slowest first:")
    for row in sorted(stages, key=lambda r: -r["seconds"]):
        print(f"  {row['stage']:<45s} {row['seconds']:8.1f} s")


if __name__ == "__main__":
    main()
