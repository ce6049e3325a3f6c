"""Regenerate README.md's results section from a real run (never typed by hand).

Reads the run records of one benchmark, the teacher zoo and the stage timings that `sedbench run`
wrote, renders the comparison tables (PSDS1, PSDS2, intersection F1, clip mAP: seed-level paired
tests, Holm over every comparison of the four tables, a verdict sentence per method), the figures
(methods ranked with their CIs, the forest plot of deltas, PSDS1 against the whole training
cost), the teachers' validation scores, and replaces the text between
`<!-- results:start -->` and `<!-- results:end -->` in README.md. A single-seed clip bootstrap is
never used as evidence here: with fewer than 2 seeds the tables say there is no method-level test.

    python benchmarks/readme_results.py --profile quick [--results results] [--wall-s 1650]
        [--calibration docs/calibration.md]   # `python benchmarks/calibrate.py --markdown` output
        [--data desed-synth-quick-seed1]         # after `sedbench evaluate results --data data/desed-synth/quick-seed1`
"""

from __future__ import annotations

import argparse
import json
import platform
from datetime import datetime
from itertools import pairwise
from pathlib import Path

from sedbench.evaluation.ondata import load_on_data
from sedbench.io import atomic_write_text
from sedbench.report import plots
from sedbench.report.costs import teacher_seconds_from_timings, teachers_table, training_costs
from sedbench.report.tables import comparison_family, comparison_tables, controls_of, render
from sedbench.results import (
    counts_left_out_workers,
    group_stages,
    group_timings,
    load,
    read_timings,
    select_comparable,
    timings_written,
)
from sedbench.stats import format_p, verdict

START, END = "<!-- results:start -->", "<!-- results:end -->"


def markdown_rows(df) -> list[str]:
    def cell(v) -> str:
        if isinstance(v, float) and v.is_integer():
            return f"{int(v):,}"
        return f"{v:,.3f}" if isinstance(v, float) else f"{v:,}" if isinstance(v, int) else str(v)

    rows = ["| " + " | ".join(df.columns) + " |", "|" + "---|" * len(df.columns)]
    return rows + ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.itertuples(index=False)]


def per_class_table(runs, metric: str = "per_class_psds1"):
    """Methods x classes, the metric on eval averaged over seeds (what the headline average hides)."""
    columns = [c for c in runs.columns if c.startswith(metric + ".")]
    table = runs.groupby("method")[columns].mean().reset_index()
    return table.rename(columns={c: c.split(".", 1)[1].split("_")[0] for c in columns})


def _given(v) -> bool:
    return v is not None and v == v  # not None, not NaN


def verdict_rows(family, runs, metric: str = "psds1", alpha: float = 0.05) -> list[str]:
    """Markdown rows: each method against the control that isolates its mechanism (the Holm family's
    row, whatever its kind: a control that is the reference is compared once), with the per-seed
    differences the mean hides and a reading that says what this many seeds can and cannot tell.
    A pair without a comparison keeps its row and says why (a silent gap would read as no method)."""
    rows = ["| method vs control | Δ [95% CI] | per seed | p_adj (Holm) | MDE | reading |",
            "|---|---|---|---|---|---|"]
    values = runs.assign(_v=runs[metric].astype(float)).pivot_table(index="seed", columns="method", values="_v")
    mine = family[family["metric"] == metric]
    for method, control in sorted(controls_of(runs).items()):
        match = mine[(mine["method"] == method) & (mine["baseline"] == control)]
        if match.empty or not _given(match.iloc[0]["delta"]):
            why = verdict(match.iloc[0]) if not match.empty else f"{control} has no complete run: no comparison"
            rows.append(f"| {method} vs {control} | – | – | – | – | {why} |")
            continue
        r = match.iloc[0]
        seeds = [int(s) for s in str(r["seeds"]).split(",") if s]
        per_seed = [float(values.at[s, method] - values.at[s, control]) for s in seeds]
        sign = seed_signs(per_seed)
        has_ci = _given(r["ci_low"]) and _given(r["ci_high"])
        excludes_zero = has_ci and (r["ci_low"] > 0 or r["ci_high"] < 0)
        if _given(r["p_adj"]) and r["p_adj"] < alpha:
            reading = f"finding: {'above' if r['delta'] > 0 else 'below'} its control after Holm"
            if has_ci and not excludes_zero:  # the t-test is over seeds; the CI also resamples clips
                reading += " (its CI, which also resamples eval clips, includes 0)"
            reading += f"; {sign}"
        elif excludes_zero:
            reading = f"per-comparison CI excludes 0, no finding after Holm; {sign}"
        else:
            reading = f"no evidence at {len(seeds)} seeds; {sign}"
        interval = f" [{r['ci_low']:+.3f}, {r['ci_high']:+.3f}]" if has_ci else ""
        rows.append(f"| {method} vs {control} | {r['delta']:+.3f}{interval} | "
                    + ", ".join(f"{d:+.3f}" for d in per_seed)
                    + f" | {format_p(r['p_adj']) if _given(r['p_adj']) else '–'}"
                    + f" | {format(r['mde'], '.3f') if _given(r['mde']) else '–'} | {reading} |")
    return rows


def other_data_rows(own, there, metric: str = "psds1") -> list[str]:
    """Markdown rows: each method's mean on its own eval split and on another data set, over the runs
    scored on both (paired by run folder: ``there``'s ``source_run_dir`` is ``own``'s ``run_dir``, so a
    retrained variant is never set against the evaluation of the one before), the change, and its
    rank on each among these methods (ties at the printed precision share a rank)."""
    own = own.dropna(subset=[metric])
    there = there.dropna(subset=[metric])
    both = own.merge(there, left_on="run_dir", right_on="source_run_dir", suffixes=("_own", "_there"))
    mean = both.groupby("method_own")[[f"{metric}_own", f"{metric}_there"]].mean()
    n = both.groupby("method_own")["run_dir_own"].nunique()
    rank = mean.round(3).rank(ascending=False, method="min").astype(int)
    rows = [f"| method | seeds | {metric.upper()} own eval | there | change | rank own -> there |",
            "|---|---|---|---|---|---|"]
    for method, r in mean.sort_values(f"{metric}_there", ascending=False).iterrows():
        change = r[f"{metric}_there"] - r[f"{metric}_own"]
        rows.append(f"| {method} | {n[method]} | {r[f'{metric}_own']:.3f} | {r[f'{metric}_there']:.3f} | "
                    f"{change:+.3f} | {rank.at[method, f'{metric}_own']} -> {rank.at[method, f'{metric}_there']} |")
    return rows


def other_data_lines(results: str, profile: str, group: str, name: str, runs, against, resamples: int) -> list[str]:
    """The README's check on another data set (`sedbench evaluate RESULTS --data DATA` first): the same
    students scored there, and each method against its control there, in a Holm family of its own."""
    there = load_on_data(results, name, benchmark=profile)
    # the runs the tables above show, and only those: another variant's evaluation is another network
    there = there[there["source_run_dir"].isin(runs["run_dir"])] if not there.empty else there
    scored = there[there["status"] == "complete"] if not there.empty else there
    if scored.empty:
        raise SystemExit(f"no run of group {group} under {results} was evaluated on {name}: run "
                         f"`sedbench evaluate {results} --data DATA` first (DATA: the set named {name})")
    missing = runs[~runs["run_dir"].isin(scored["source_run_dir"])]
    done, notes = select_comparable(scored, profile)
    for note in notes:
        print(f"note ({name}): {note}")
    family = comparison_family(done, ["psds1"], "scratch", against=against, benchmark=profile,
                               n_resamples=resamples)
    not_scored = "; ".join(f"{m} seed(s) {', '.join(str(int(x)) for x in sorted(g['seed']))}"
                           for m, g in missing.groupby("method"))
    return [
        f"The same students on another data set, `{name}` (`sedbench evaluate {results} --data DATA`, then "
        f"`sedbench table --data {name}`): nothing was trained or selected on it. The ranks are among "
        "these methods, with no test behind a change of rank; the rows after the table test which "
        "differences with the controls hold there.",
        "",
        *other_data_rows(runs, done),
        *(["", f"Not evaluated on `{name}`, so left out of both: {not_scored}."] if not_scored else []),
        "",
        f"Each method against its control on `{name}` (PSDS1; p_adj: Holm over the "
        f"{family.attrs.get('family_size', len(family))} comparisons on this set, a family of its own):",
        "",
        *verdict_rows(family, done),
    ]


def coverage_sentence(runs, teachers) -> str:
    """What the tables cover, from the records: methods and controls with their seeds, the teachers read
    (validation PSDS1, who read them) and which control isolates each method's mechanism."""
    seeds = runs.groupby("method")["seed"].nunique()
    controls = set(runs.loc[runs["is_control"].fillna(False).astype(bool), "method"]) if "is_control" in runs else set()
    usual = int(seeds.mode().iloc[0])
    more = [f"{m} {n}" for m, n in seeds.items() if n != usual]
    n_methods = len(seeds) - len(controls)
    text = (f"{n_methods} method{'s' * (n_methods != 1)} and {len(controls)} control{'s' * (len(controls) != 1)}, "
            f"{usual} seeds each"
            + (f" ({', '.join(more)})" if more else "") + ", in one settings group.")
    if not teachers.empty:
        # under teacher_seeds: per_run each run seed has its own teachers: no one score stands for them
        per_run = "teacher_seeds" in runs and (runs["teacher_seeds"] == "per_run").any()
        read = "; ".join(f"{t.teacher} ({'' if per_run or not _given(t.psds1) else f'{t.psds1:.3f}; '}"
                         f"read by {t.used_by})" for t in teachers.itertuples())
        text += (" The teachers, " + ("one trained per run seed (`sedbench teachers list` gives each one's "
                 "validation PSDS1)" if per_run else "trained once and shared by every seed (validation PSDS1)")
                 + f": {read}.")
    by_control: dict[str, list[str]] = {}
    for method, control in sorted(controls_of(runs).items()):
        by_control.setdefault(control, []).append(method)
    if by_control:
        text += (" Each method is compared with the control that isolates its mechanism: "
                 + "; ".join(f"`{c}` for {', '.join(ms)}" for c, ms in by_control.items()) + ".")
    return text


def seed_signs(per_seed: list[float]) -> str:
    """``above on every seed``, ``below on every seed``, ``equal on every seed`` or the counts (a tie is
    neither above nor below: two students that both score 0 are not one below the other)."""
    n, above, below = len(per_seed), sum(d > 0 for d in per_seed), sum(d < 0 for d in per_seed)
    for count, word in ((above, "above"), (below, "below"), (n - above - below, "equal")):
        if count == n:
            return f"{word} on every seed"
    parts = [f"{word} on {count}" for count, word in ((above, "above"), (below, "below")) if count]
    return " and ".join(parts) + f" of {n} seeds"


def shared_costs_sentence(runs) -> str:
    """Which deployment costs every method shares (a plot against those would have one x value)."""
    shared, differ = [], []
    for column, label in (("params", "deployed parameters"), ("params_all_models", "parameters of all deployed "
                          "models"), ("macs", "MACs"), ("latency_cpu_1t_ms", "CPU latency")):
        if column in runs:
            per_method = runs.groupby("method")[column].mean().dropna()
            (shared if plots.single_valued(per_method.tolist()) else differ).append(label)
    text = f"All methods have the same {', '.join(shared)}: no figure is drawn against those. " if shared else ""
    return text + (f"They differ in {', '.join(differ)} (see the report). " if differ else "")


def stage_seconds(timings: dict) -> dict[str, float]:
    """One command's stage name -> seconds."""
    return {s["stage"]: s["seconds"] for s in timings.get("stages", [])}


def what_the_wall_holds(commands: list[dict]) -> str:
    """Whether the wall times of ``commands`` (one command, or one command resumed) include training
    teachers and generating the data (a cached dataset takes 0 s)."""
    trained = [any(k.startswith("teacher ") for k in stage_seconds(t)) for t in commands]
    unknown = [counts_left_out_workers(t) for t in commands]
    if any(trained):
        teachers = "teachers included"
    elif any(unknown):
        teachers = "teachers trained or cached (a stopped command's table does not say)"
    else:
        teachers = "teachers were cached"
    done = [what for stage, what in (("data", "data generation"), ("features", "feature extraction"))
            if any(stage_seconds(t).get(stage, 0.0) > 5.0 for t in commands)]
    if done:
        return f"{', '.join(done)} and {teachers}"
    return f"{teachers}; the data and features were already on disk"


def wall_seconds(timings: dict) -> float | None:
    """One command's wall time from its stages: data, features, then teachers and runs (one stage with
    --jobs > 1, two in sequence otherwise)."""
    seconds = stage_seconds(timings)
    walls = [v for k, v in seconds.items() if k.endswith("(wall)")]
    return sum(walls) + seconds.get("data", 0.0) + seconds.get("features", 0.0) if walls else None


def command_line(timings: dict, profile: str, seeds: str | None = None) -> str:
    """The `sedbench run` command a timings file records (one seed alone is written ``2,``)."""
    if seeds is None:
        listed = [str(s) for s in timings.get("seeds", [])]
        seeds = ",".join(listed) + ("," if len(listed) == 1 else "")
    threads = f" --threads {timings['threads']}" if timings.get("threads") else ""
    return (f"sedbench run --profile {profile} --methods {','.join(timings['methods'])} --seeds {seeds} "
            f"--jobs {timings.get('jobs', 1)}{threads}")


def commands_sentence(all_timings: list[dict], profile: str, fallback: str, wall_s: float | None,
                      finished: list[datetime | None] | None = None) -> str:
    """Which `sedbench run` commands built the group, each with its wall time and what that held.

    A group is often built by several commands (methods added later reuse the cached teachers). Commands
    that differ only in their one seed are said once (``--seeds S, ... for S = 0, 1, 2``). ``finished``
    (each command's end) lets the sentence say when commands overlapped, so that their wall times do not
    add up. ``fallback``/``wall_s`` stand in for a command whose timings predate the recorded methods."""
    groups: dict[str, list[tuple[dict, float | None, str]]] = {}
    for timings in all_timings:
        seed, wall = "", wall_seconds(timings)
        if not timings.get("methods"):
            key, wall = fallback, wall_s if wall_s is not None else wall
        elif len(timings.get("seeds", [])) == 1:
            key, seed = command_line(timings, profile, "S,"), str(timings["seeds"][0])
        else:
            key = command_line(timings, profile)
        groups.setdefault(key, []).append((timings, wall, seed))
    parts = []
    for command, members in groups.items():
        stopped = sum(1 for t, _, _ in members if t.get("stopped"))
        if len(members) > 1 and all(seed for _, _, seed in members):  # one sentence for the seeds
            label = f"`{command}` for S = {', '.join(seed for _, _, seed in members)} ({len(members)} commands)"
            parts.append(label + _stopped_clause(stopped, len(members)) + _wall_clause(members))
        elif len(members) > 1:  # one command resumed after a stop: said once, with each wall time
            clause = _stopped_clause(stopped, len(members)).replace(" (", ", ", 1)
            parts.append(f"`{command}` ({len(members)} times{clause}" + _wall_clause(members))
        else:
            parts += [f"`{command.replace('S,', seed + ',') if seed else command}`"
                      + _stopped_clause(stopped, 1) + _wall_clause([m]) for m in members]
    if not parts:
        return f"`{fallback}`."
    text = "; ".join(parts) + "."
    ends = finished if finished is not None else [None] * len(all_timings)
    spans = sorted((end.timestamp() - w, end.timestamp()) for end, t in zip(ends, all_timings, strict=True)
                   if end and (w := wall_seconds(t)))
    if any(later[0] < earlier[1] for earlier, later in pairwise(spans)):
        text += (" Some of these commands ran at the same time and shared the cores, so their wall times "
                 "overlap and do not add up, and each one's training was slower than it would be alone.")
    return text


def _stopped_clause(stopped: int, commands: int) -> str:
    """`` (stopped before the end and resumed)``: a stopped command's wall time is only part of its work."""
    if not stopped:
        return ""
    if commands == 1:
        return " (stopped before the end)"
    return f" ({stopped} of them stopped before the end and resumed by the next)"


def uncovered_runs_sentence(runs, all_timings: list[dict]) -> str:
    """Which runs no stage table covers: trained by commands stopped before sedbench wrote a table for a
    stopped command (older versions wrote none), so the commands above do not account for them."""
    covered = {s["stage"].removesuffix(" train") for t in all_timings for s in t.get("stages", [])
               if s["stage"].endswith(" train")}
    own = runs[runs["lender_config_hash"].isna()] if "lender_config_hash" in runs else runs
    missing: dict[str, list[int]] = {}
    for method, seed in sorted(zip(own["method"], own["seed"], strict=True)):
        if f"{method} seed {seed}" not in covered:
            missing.setdefault(method, []).append(int(seed))
    if not missing:
        return ""
    n = sum(len(seeds) for seeds in missing.values())
    named = "; ".join(f"{m} seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))}"
                      for m, seeds in missing.items())
    subject = f"1 run ({named}) was" if n == 1 else f"{n} runs ({named}) were"
    return (f" {subject} trained by commands that were stopped, whose stage tables do not list them (earlier "
            "versions wrote no table for a stopped command, or one without what its worker processes had "
            "finished); their training times are in the tables' Train time column.")


def _wall_clause(members: list[tuple[dict, float | None, str]]) -> str:
    """``: 25.4, 25.2 and 21.0 minutes wall, teachers were cached; ...`` for one or more commands."""
    each = [f"{w / 60:.1f}" for _, w, _ in members if w]
    if not each:
        return ""
    minutes = ", ".join(each[:-1]) + " and " + each[-1] if len(each) > 1 else each[0]
    held = what_the_wall_holds([t for t, w, _ in members if w])
    return f": {minutes} minutes wall, {held}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--results", default="results")
    parser.add_argument("--hash", default=None, help="settings hash (prefix) of the group [default: the newest]")
    parser.add_argument("--readme", default="README.md")
    parser.add_argument("--wall-s", type=float, default=None,
                        help="wall time of a command whose timings do not record it (older versions)")
    parser.add_argument("--command", default="sedbench run --methods all --jobs 2",
                        help="the command, where its timings do not record methods and seeds (older versions)")
    parser.add_argument("--resamples", type=int, default=10_000, help="hierarchical bootstrap resamples")
    parser.add_argument("--data", action="append", default=[], metavar="NAME",
                        help="also show the students on this data set (`sedbench evaluate RESULTS --data`), "
                             "e.g. desed-synth-quick-seed1; repeatable")
    parser.add_argument("--calibration", type=Path, default=None,
                        help="markdown from `python benchmarks/calibrate.py --markdown` to include")
    args = parser.parse_args()

    # one settings group (the newest with complete runs, or --hash): records of other settings
    # coexist in the folder and are never mixed into the README's tables
    everything = load(args.results, benchmark=args.profile)
    runs, notes = select_comparable(everything, args.profile, args.hash)
    for note in notes:
        print(f"note: {note}")
    group = runs["benchmark_hash"].iloc[0]
    df = everything[everything["benchmark_hash"] == group]
    n_seeds = int(runs.groupby("method")["seed"].nunique().min())
    # the four tables are rendered together: one Holm family over all their comparisons
    against = ("reference", "control") if controls_of(runs) else ("reference",)
    metrics = ["psds1", "psds2", "intersection_f1", "weak_map"]
    family = comparison_family(df, metrics, "scratch", against=against, benchmark=args.profile,
                               n_resamples=args.resamples)
    psds1, psds2, inter, weak_map = comparison_tables(df, metrics, "scratch", against=against,
                                                      benchmark=args.profile, family=family)
    root = Path(args.readme).parent  # the figures go beside the README they are linked from
    img = root / "docs" / "img"
    figures = [
        ("Methods ranked by PSDS1: every seed, the mean with its 95 % CI over seeds",
         plots.ranked(df, img / f"{args.profile}-ranked-psds1.png", "psds1", benchmark=args.profile)),
    ]
    if not family[family["metric"] == "psds1"].empty:
        figures.append(("Each PSDS1 difference (vs scratch and vs the method's control) with its 95 % CI",
                        plots.forest(family[family["metric"] == "psds1"], img / f"{args.profile}-forest-psds1.png",
                                     family_note=f"p_adj: paired t-test over seeds, Holm over the "
                                     f"{family.attrs['family_size']} comparisons of the four results tables")))
    timings_paths = group_timings(args.results, args.profile, group)
    if not timings_paths:
        raise SystemExit(f"no stage timings of group {group} under {args.results}: `sedbench run` writes them")
    all_timings = read_timings(timings_paths)
    if not all_timings:
        raise SystemExit(f"the stage timings of group {group} under {args.results} are unreadable: run `sedbench run`")
    teacher_s = teacher_seconds_from_timings(all_timings)
    costs = training_costs(runs, teacher_s).groupby("method")["train_total_s"].mean().dropna()
    if len(costs) > 1 and not plots.single_valued(costs.tolist()):
        figures.append(("PSDS1 against the whole training cost (the student plus the teachers it reads)",
                        plots.pareto(df, img / f"{args.profile}-psds1-training-cost.png", "psds1", "train",
                                     benchmark=args.profile, teacher_seconds=teacher_s)))
    timings = all_timings[-1]
    # the teachers these runs read, from their records (not the zoo of today's profile and code)
    teachers = teachers_table(runs, teacher_s)
    env = json.loads((Path(runs.iloc[0]["run_dir"]) / "run.json").read_text())["environment"]
    # the slowest stages over every command of the group (each command's wall row says which)
    stages = sorted(group_stages(all_timings), key=lambda r: -r["seconds"])[: 8 + len(all_timings)]

    lines = [
        START,
        f"## Results: profile `{args.profile}` (generated by `benchmarks/readme_results.py`)",
        "",
        f"On {env.get('cpu_count', '?')} CPU cores ({platform.machine()}, torch {env.get('torch')}, device "
        f"{timings['device']}), "
        + (f"built by {len(all_timings)} commands: " if len(all_timings) > 1 else "")
        + commands_sentence(all_timings, args.profile, args.command, args.wall_s,
                            [timings_written(p) for p in timings_paths])
        + uncovered_runs_sentence(runs, all_timings),
        "",
        "The tables cover " + coverage_sentence(runs, teachers),
        "",
        f"Seeds are the replicates: {n_seeds} or more per method. Each delta is the mean paired difference "
        "over seeds (method minus `scratch`, or minus the method's control), with its 95 % CI from a "
        "hierarchical bootstrap (seeds, then eval clips); p is the paired t-test over seeds and p_adj its "
        f"Holm adjustment over all {psds1.attrs['family_size']} comparisons of the four tables below. MDE is the "
        "smallest difference the test detects with 80 % power at these seeds: 'no evidence' reads 'no "
        "evidence at this many seeds', not 'equal'. See [Statistics](#statistics).",
        "",
        f"Each method against the control that isolates its mechanism, {metrics[0].upper()} on eval (the rows "
        "of the tables below, with each seed's difference):",
        "",
        *verdict_rows(family, runs, metrics[0]),
        "",
        "PSDS1 on the eval split (shifted domain).",
        "",
        render(psds1, "markdown"),
        "",
        "PSDS2:",
        "",
        render(psds2, "markdown"),
        "",
        "Intersection-based F1 (dtc = gtc = 0.5, threshold 0.5) and clip-level mAP (no spread penalty, one "
        "operating point; they can rank methods differently from PSDS):",
        "",
        render(inter, "markdown"),
        "",
        render(weak_map, "markdown"),
        "",
        "Per-class PSDS1 on eval (class names shortened). PSDS1's alpha_st = 1 subtracts the spread across "
        "these from their mean, so the short and tonal classes (Alarm, Cat, Dishes, Dog, Speech), which a "
        "student learns last, set the headline number:",
        "",
        *markdown_rows(per_class_table(runs)),
        "",
        "Teachers the runs read (validation split, trained once and cached by the teacher zoo):",
        "",
        *markdown_rows(teachers),
        "",
        *[f"![{alt}]({Path(png).relative_to(root).as_posix()})\n" for alt, png in figures],
        shared_costs_sentence(runs) + "`sedbench report` writes all of this, and every other table and figure, "
        "into one HTML file (`results/report.html` after `make benchmark`).",
        *[line for name in args.data for line in
          ["", *other_data_lines(args.results, args.profile, group, name, runs, against, args.resamples)]],
        *(
            ["", "A/A calibration (`benchmarks/calibrate.py`): seeds of one method split into two pseudo-methods:", "",
             args.calibration.read_text().strip()]
            if args.calibration
            else []
        ),
        "",
        "Slowest stages (seconds, from `results/<profile>/<hash>/timings/`; `python benchmarks/stages.py "
        "--from-results` prints all):",
        "",
        "| stage | seconds |",
        "|---|---|",
        *[f"| {s['stage']} | {s['seconds']:.0f} |" for s in stages],
        END,
    ]
    readme = Path(args.readme).read_text()
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    atomic_write_text(args.readme, head + "\n".join(lines) + tail)
    print(f"updated {args.readme} and {', '.join(str(png) for _, png in figures)}")


if __name__ == "__main__":
    main()
