"""`sedbench evaluate RUN --data`: a finished run scored on other DESED-format data."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from sedbench.benchmark import Benchmark
from sedbench.cli import cli
from sedbench.errors import SedbenchError
from sedbench.evaluation.ondata import evaluate_on_data, evaluate_results, load_on_data
from sedbench.methods import Method, NoParams, Partition, register_method
from sedbench.results import read_record
from sedbench.runner import run_one


@register_method("test-env-scratch")
class EnvScratch(Method):
    """scratch with one student per environment, routed at evaluation (test only, no teacher)."""

    Params = NoParams

    def partitions(self, classes, environments, clip_environments):
        known = np.isin(clip_environments, list(environments))
        return [Partition(name=env, rows=np.flatnonzero(clip_environments == env), classes=tuple(subset),
                          environment=env, share=float(np.mean(clip_environments[known] == env)))
                for env, subset in environments.items()]


@register_method("test-masked-scratch")
class MaskedScratch(Method):
    """scratch's one student deployed behind the oracle environment mask, as environment-mask deploys
    vanilla's (test only, no teacher): one partition, a route per environment."""

    Params = NoParams

    def routes(self, partition, environments):
        return [Partition(name=env, classes=tuple(subset), environment=env, share=partition.share)
                for env, subset in environments.items()]


@pytest.fixture(scope="module")
def runs(tiny_bench, tmp_path_factory):
    """scratch and a routed method, each one tiny run, in results of their own."""
    bench = Benchmark(tiny_bench.config, results_root=tmp_path_factory.mktemp("ondata") / "results",
                      cache_root=tiny_bench.cache_root, device="cpu", progress=False)
    dirs = {}
    for method in ("scratch", "test-env-scratch", "test-masked-scratch"):
        record = run_one(bench, method, 0)
        assert record["status"] == "complete", record.get("error")
        dirs[method] = Path(record["run_dir"])
    return bench, dirs


@pytest.mark.parametrize("method", ["scratch", "test-env-scratch", "test-masked-scratch"])
def test_evaluate_on_the_runs_own_eval_split_reproduces_its_metrics(runs, method):
    # test-masked-scratch: a checkpoint whose routes are not its partitions (one network, a class mask
    # per environment); loading only the partitions dropped the mask
    bench, dirs = runs
    run_dir = dirs[method]
    before = (run_dir / "run.json").read_bytes()
    result = evaluate_on_data(run_dir, bench.dataset_root, "eval", cache_root=bench.cache_root, progress=False)
    stored = read_record(run_dir)["metrics"]
    assert result.metrics == stored  # exactly, per-class values included
    assert stored["weak_map"] > 0
    assert (run_dir / "run.json").read_bytes() == before  # the run's own record is untouched
    assert result.out_dir == run_dir / "evaluations" / bench.dataset.name  # desed-synth-tiny-seed0
    on_disk = json.loads((result.out_dir / "evaluation.json").read_text())
    assert on_disk["metrics"] == stored and on_disk["split"] == "eval"
    assert on_disk["routed_by_environment"] == (method != "scratch")
    # the evaluation folder has a run's layout: recomputing from it gives the same metrics again
    from sedbench.evaluation import evaluate_run

    assert evaluate_run(result.out_dir)["psds1"] == stored["psds1"]


def _copy_without_environments(root, dest):
    shutil.copytree(root, dest)
    (dest / "metadata" / "environments.tsv").unlink()
    return dest


def test_routed_run_on_data_without_environments_says_so(runs, tmp_path):
    bench, dirs = runs
    data = _copy_without_environments(bench.dataset_root, tmp_path / "no-env")
    with pytest.raises(SedbenchError, match="routes clips by environment .* has no environments"):
        evaluate_on_data(dirs["test-env-scratch"], data, name="no-env", cache_root=tmp_path / "cache", progress=False)
    # scratch does not need environments (a name of its own: the copy differs from the data evaluated before)
    evaluate_on_data(dirs["scratch"], data, name="no-env", cache_root=tmp_path / "cache", progress=False)


def test_eval_only_config_with_a_class_subset_gives_one_notice(runs, tmp_path):
    bench, dirs = runs
    root = bench.dataset_root
    events = [line.split("\t") for line in (root / "metadata" / "eval.tsv").read_text().splitlines()[1:]]
    keep = sorted({e[3] for e in events if len(e) > 3 and e[3]})[:2]
    lines = ["filename\tonset\toffset\tevent_label"] + [
        "\t".join(e) for e in events if len(e) > 3 and e[3] in keep]
    (tmp_path / "eval.tsv").write_text("\n".join(lines) + "\n")
    config = {"name": "subset", "root": str(root), "classes": keep,
              "splits": {"eval": {"audio": "audio/eval", "strong": str(tmp_path / "eval.tsv")}}}
    cfg_path = tmp_path / "subset.yaml"
    import yaml

    cfg_path.write_text(yaml.safe_dump(config))
    with _no_warnings():
        result = evaluate_on_data(dirs["scratch"], cfg_path, cache_root=tmp_path / "cache", progress=False)
    # one notice of the absent classes (and one that clips without a row count as clips without events)
    psds_notes = [n for n in result.notes if "left out of PSDS" in n]
    assert len(psds_notes) == 1 and len(result.notes) == 2 and "have no row" in " ".join(result.notes)
    absent = set(bench.classes) - set(keep)
    assert all(c in psds_notes[0] for c in absent)
    per_class = result.metrics["per_class_psds1"]
    assert all(per_class[c] is None for c in absent)
    assert result.out_dir.name == "subset"


class _no_warnings:
    def __enter__(self):
        import warnings

        self._ctx = warnings.catch_warnings(record=True)
        self.caught = self._ctx.__enter__()
        warnings.simplefilter("always")
        return self

    def __exit__(self, *exc):
        self._ctx.__exit__(*exc)
        messages = [str(w.message) for w in self.caught if "left out" in str(w.message)]
        assert not messages, messages


def test_a_second_generation_gives_a_new_table(runs, tmp_path):
    from sedbench.data.synth import generate

    bench, dirs = runs
    other = generate("tiny", 1, out=tmp_path / "tiny-seed1", progress=False)
    folder = evaluate_results(bench.results_root, other, cache_root=tmp_path / "cache", progress=False)
    assert {r.run_dir for r in folder.results} == set(dirs.values()) and not folder.skipped
    name = folder.results[0].name
    assert name == "desed-synth-tiny-seed1"
    df = load_on_data(bench.results_root, name)
    assert set(df["status"]) == {"complete"}
    assert all(f"evaluations/{name}" in d for d in df["run_dir"])
    own = read_record(dirs["scratch"])["metrics"]
    new = df.set_index("method").loc["scratch"]
    assert new["weak_map"] != own["weak_map"]  # other clips, other numbers
    result = CliRunner().invoke(cli, ["table", "--results", str(bench.results_root), "--data", name,
                                      "--metric", "weak_map", "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert "test-env-scratch" in result.output and "scratch" in result.output
    with pytest.raises(SedbenchError, match="was evaluated on 'nothing'"):
        load_on_data(bench.results_root, "nothing")


def test_evaluate_cli_on_data(runs, tmp_path):
    bench, dirs = runs
    result = CliRunner().invoke(cli, ["evaluate", str(dirs["scratch"]), "--data", str(bench.dataset_root),
                                      "--cache", str(bench.cache_root), "--name", "again"])
    assert result.exit_code == 0, result.output
    assert "own eval" in result.output and (dirs["scratch"] / "evaluations" / "again" / "evaluation.json").is_file()
    # a whole results folder: one row per run, named by method and seed, beside its own eval figure
    # in 80 columns (a pipe, a small terminal): every cell whole, the last one too
    result = CliRunner(env={"COLUMNS": "80"}).invoke(cli, ["evaluate", str(bench.results_root), "--data",
                                                           str(bench.dataset_root), "--cache", str(bench.cache_root),
                                                           "--name", "again"])
    assert result.exit_code == 0, result.output
    assert "own eval" in result.output
    rows = [line for line in result.output.splitlines() if line.strip().startswith(tuple(dirs))]
    row = next(line for line in rows if line.strip().startswith("scratch "))
    assert str(read_record(dirs["scratch"])["seed"]) in row
    assert all(r.count("(") == 4 and r.rstrip().endswith(")") and len(r) <= 80 for r in rows), rows
    result = CliRunner().invoke(cli, ["evaluate", str(dirs["scratch"]), "--split", "validation"])
    assert result.exit_code != 0 and "--data" in result.output


def test_other_data_of_the_same_name_does_not_replace_an_evaluation(runs, tmp_path):
    from sedbench.data.synth import generate

    bench, dirs = runs
    first = generate("tiny", 1, out=tmp_path / "a" / "tiny-seed1", progress=False)
    done = evaluate_on_data(dirs["scratch"], first, cache_root=tmp_path / "cache", progress=False)
    again = evaluate_on_data(dirs["scratch"], first, cache_root=tmp_path / "cache", progress=False)  # same data
    assert again.metrics == done.metrics
    edited = tmp_path / "b" / "tiny-seed1"
    shutil.copytree(tmp_path / "a" / "tiny-seed1", edited)
    tsv = edited / "metadata" / "eval.tsv"
    lines = tsv.read_text().splitlines()
    tsv.write_text("\n".join(lines[: len(lines) // 2]) + "\n")  # same name, other labels
    with pytest.raises(SedbenchError, match="other data named 'desed-synth-tiny-seed1'.*--name"):
        evaluate_on_data(dirs["scratch"], edited, cache_root=tmp_path / "cache", progress=False)
    kept = json.loads((done.out_dir / "evaluation.json").read_text())
    assert kept["metrics"] == done.metrics


def test_an_evaluation_name_is_one_plain_folder_name(runs, tmp_path):
    from sedbench.evaluation.ondata import evaluation_dir

    _, dirs = runs
    for bad in ("..", "../..", "a/b", ".hidden", ""):
        with pytest.raises(SedbenchError, match="--name"):
            evaluation_dir(dirs["scratch"], bad)
    assert evaluation_dir(dirs["scratch"], "desed-public_2").name == "desed-public_2"


def test_a_data_sets_name_gives_a_plain_default_evaluation_name():
    """A data config's `name: ../x` or `.x` made the default name refused, blamed on --name the user never gave."""
    from types import SimpleNamespace

    from sedbench.evaluation.ondata import evaluation_name

    for name, split, expected in [("../x", "eval", "_x"), (".x", "eval", "x"), ("DESED public", "validation",
                                                                                  "DESED_public-validation")]:
        assert evaluation_name(SimpleNamespace(name=name), split) == expected


@pytest.mark.parametrize("damage", ["event past the end", "negative onset", "empty audio"])
def test_data_that_data_check_rejects_is_not_scored(runs, tmp_path, damage):
    """What `sedbench run` refuses before training, evaluate refuses before scoring: one line, nothing written."""
    from sedbench.data.synth import generate

    bench, dirs = runs
    root = generate("tiny", 2, out=tmp_path / "tiny-seed2", progress=False)
    tsv = Path(root) / "metadata" / "eval.tsv"
    header, first, *rest = tsv.read_text().splitlines()
    fn, onset, offset, label = first.split("\t")
    if damage == "event past the end":
        first = "\t".join([fn, onset, "60.0", label])
    elif damage == "negative onset":
        first = "\t".join([fn, "-1.0", offset, label])
    else:
        (Path(root) / "audio" / "eval" / fn).write_bytes(b"")
    tsv.write_text("\n".join([header, first, *rest]) + "\n")
    with pytest.raises(SedbenchError) as info:
        evaluate_on_data(dirs["scratch"], root, cache_root=tmp_path / "cache", progress=False)
    # the file, or the labels TSV and its row (a negative onset is refused where the TSV is read)
    named = str(tsv) + " (row 2)" if damage == "negative onset" else fn
    assert "\n" not in str(info.value) and named in str(info.value)
    result = CliRunner().invoke(cli, ["evaluate", str(bench.results_root), "--data", str(root),
                                      "--cache", str(tmp_path / "cache"), "--name", "damaged"])
    assert result.exit_code != 0 and named.replace(" ", "") in "".join(result.output.split()), result.output
    assert not any((d / "evaluations" / "damaged").exists() for d in dirs.values())
    assert not (dirs["scratch"] / "evaluations" / "desed-synth-tiny-seed2").exists()


def test_evaluate_writes_nothing_while_the_run_is_being_trained_again(runs, monkeypatch):
    """`sedbench run --force` holds the run's lock while it trains the new network and swaps it in; an
    evaluate that wrote meanwhile put the replaced network's metrics into the new run's folder."""
    from sedbench.evaluation import evaluate_run
    from sedbench.locks import claim, run_lock

    bench, dirs = runs
    run_dir = dirs["scratch"]
    before = (run_dir / "run.json").read_bytes()
    with claim(run_lock(run_dir)):  # as a re-run holds it
        with pytest.raises(SedbenchError, match="another sedbench process is training this run now"):
            evaluate_run(run_dir, update=True)
        with pytest.raises(SedbenchError, match="another sedbench process is training this run now"):
            evaluate_on_data(run_dir, bench.dataset_root, "eval", cache_root=bench.cache_root, progress=False,
                             name="locked")
        monkeypatch.chdir(run_dir)  # `evaluate . --update` from inside the folder: the same lock
        with pytest.raises(SedbenchError, match="another sedbench process is training this run now"):
            evaluate_run(".", update=True)
    assert (run_dir / "run.json").read_bytes() == before and not (run_dir / "evaluations" / "locked").exists()
    assert sorted(p.name for p in run_dir.iterdir() if p.name.startswith(".")) == []  # no lock file inside it
    from sedbench.locks import holding_run

    with holding_run(run_dir, "evaluate"):  # another evaluation holds it: evaluations do not exclude each other
        assert evaluate_run(run_dir, update=True)["psds1"] == read_record(run_dir)["metrics"]["psds1"]


def test_an_evaluation_done_again_that_fails_keeps_the_earlier_one(runs, monkeypatch):
    import sedbench.evaluation.scores as scores_module

    bench, dirs = runs
    run_dir = dirs["scratch"]
    first = evaluate_on_data(run_dir, bench.dataset_root, "eval", cache_root=bench.cache_root, progress=False,
                             name="kept")
    files = {p.relative_to(first.out_dir): p.read_bytes() for p in first.out_dir.rglob("*") if p.is_file()}

    def disk_full(path, df):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(scores_module, "_write_score_file", disk_full)
    with pytest.raises(OSError):
        evaluate_on_data(run_dir, bench.dataset_root, "eval", cache_root=bench.cache_root, progress=False,
                         name="kept")
    assert {p.relative_to(first.out_dir): p.read_bytes() for p in first.out_dir.rglob("*") if p.is_file()} == files
    assert sorted(p.name for p in first.out_dir.parent.iterdir()) == sorted(
        p.name for p in first.out_dir.parent.iterdir() if not p.name.startswith("."))  # no staging left


def test_a_damaged_evaluation_leaves_its_run_out_of_the_table_with_its_file_named(runs):
    bench, dirs = runs
    out, _ = (evaluate_on_data(dirs[m], bench.dataset_root, "eval", cache_root=bench.cache_root, progress=False,
                               name="damaged").out_dir for m in ("scratch", "test-env-scratch"))
    other = load_on_data(bench.results_root, "damaged").set_index("source_run_dir")
    for damage in ('{"metrics": {"psds', "[1]"):  # truncated; JSON that is not a record
        (out / "evaluation.json").write_text(damage)
        df = load_on_data(bench.results_root, "damaged").set_index("source_run_dir")
        row = df.loc[str(dirs["scratch"])]
        assert "unreadable" in row["status"] and "evaluation.json" in row["status"]
        # in the group of the other evaluations, so the table lists it among those it left out
        assert row["benchmark_hash"] == other.loc[str(dirs["test-env-scratch"]), "benchmark_hash"]


def test_a_runs_own_eval_scores_a_long_clip_as_evaluate_data_does(tiny_bench, tmp_path):
    """A clip longer than the training length: the run's own eval cut it at 10 s (events after it could
    never be found) while `evaluate --data` windowed it, so the two disagreed on the same data."""
    import copy

    import pandas as pd
    import soundfile as sf

    root = tmp_path / "long"
    shutil.copytree(tiny_bench.dataset_root, root)
    first, second = sorted((root / "audio" / "eval").iterdir())[:2]
    a, sr = sf.read(first, dtype="int16")
    b, _ = sf.read(second, dtype="int16")
    sf.write(first, np.concatenate([a, b[: len(b) // 2]]), sr, subtype="PCM_16")  # 15 s
    durations = root / "metadata" / "eval_durations.tsv"
    durations.write_text("".join(f"{first.name}\t15.0\n" if line.startswith(first.name) else line + "\n"
                                 for line in durations.read_text().splitlines()))
    config = copy.deepcopy(tiny_bench.config)
    config["data"] = {"source": "desed", "config": str(root)}
    bench = Benchmark(config, results_root=tmp_path / "results", cache_root=tiny_bench.cache_root, device="cpu",
                      progress=False)
    record = run_one(bench, "scratch", 0)
    assert record["status"] == "complete", record.get("error")
    run_dir = Path(record["run_dir"])
    assert pd.read_csv(run_dir / "scores" / f"{first.stem}.tsv", sep="\t")["offset"].iloc[-1] == 15.0
    assert any("1 clip(s) of eval longer than the training length" in n for n in record["notes"])
    again = evaluate_on_data(run_dir, root, "eval", cache_root=tiny_bench.cache_root, progress=False)
    assert again.metrics == record["metrics"]


def test_a_split_without_strong_labels_is_refused_once_before_any_run(runs, tmp_path):
    bench, _ = runs
    with pytest.raises(SedbenchError, match="--split train_weak: it has no strong labels.*validation, eval"):
        evaluate_results(bench.results_root, bench.dataset_root, "train_weak", cache_root=bench.cache_root,
                         progress=False)


def test_evaluate_data_on_one_split_carries_only_that_splits_notes(runs, tmp_path):
    """A note about validation (a labelled file without audio, left out) is not said of eval."""
    import yaml

    bench, dirs = runs
    root = bench.dataset_root
    lines = (root / "metadata" / "validation.tsv").read_text().splitlines()
    (tmp_path / "validation.tsv").write_text("\n".join([*lines, "gone.wav\t1.0\t2.0\tDog"]) + "\n")
    config = {"name": "noted", "root": str(root), "classes": bench.classes, "missing_audio": "drop",
              "splits": {"eval": {"audio": "audio/eval", "strong": "metadata/eval.tsv",
                                  "durations": "metadata/eval_durations.tsv"},
                         "validation": {"audio": "audio/validation", "strong": str(tmp_path / "validation.tsv"),
                                        "durations": "metadata/validation_durations.tsv"}}}
    cfg_path = tmp_path / "noted.yaml"
    cfg_path.write_text(yaml.safe_dump(config))
    on_eval = evaluate_on_data(dirs["scratch"], cfg_path, cache_root=tmp_path / "cache", progress=False)
    on_validation = evaluate_on_data(dirs["scratch"], cfg_path, split="validation", cache_root=tmp_path / "cache",
                                     progress=False)
    assert not any("gone.wav" in n for n in on_eval.notes), on_eval.notes
    assert any("gone.wav" in n for n in on_validation.notes), on_validation.notes
