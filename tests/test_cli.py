"""Options the CLI checks before any work: a bad value is one line naming the option, exit 2, and
nothing is written."""

from __future__ import annotations

import signal
import sys
import warnings

import pytest

from sedbench.cli import main

BAD = [
    # (arguments, what the line says); "FILE" and "DIR" are a file and a folder that exist
    (["table", "--out", "DIR"], "'--out': DIR is a folder; give a file name, e.g. DIR/table.md"),  # IsADirectoryError
    (["report", "--out", "FILE/report.html"], "FILE is a file, not a folder"),  # FileExistsError
    (["plot", "ranked", "--out", "ranked.xyz"], "ending in one of avif, eps,"),  # matplotlib's ValueError
    (["plot", "ranked", "--out", "ranked"], "ending in one of avif, eps,"),  # wrote ranked.png, said "wrote ranked"
    (["doctor", "--results", "FILE"], "'--results': Directory 'FILE' is a file"),  # said "ok"
    (["run", "--profile", "tiny", "--methods", ",", "--dry-run"], "--methods ',': names no method"),  # exit 0
    (["run", "--profile", "tiny", "--seeds", "99999999999999999999", "--dry-run"], "--seeds"),  # OverflowError
    (["run", "--profile", "tiny", "--seeds", "1000000", "--dry-run"], "a count from 1 to 1000"),
    (["run", "--profile", "tiny", "--plugin", "FILE", "--dry-run"], "--plugin FILE: not a .py file"),
    (["run", "--profile", "tiny", "--executor", "ray", "--gpus-per-run", "-1", "--dry-run"],
     "-1.0 is not in the range"),
    (["data", "synth", "--seed", "-1"], "'--seed': -1 is not in the range"),
    (["table", "--effect", "nan"], "'--effect': nan is not a finite non-zero number"),  # NaN MDE columns
    (["table", "--metric", ","], "'--metric': ',' names no metric"),  # exit 0; an IndexError with --format json
    (["profile", "se-crnn", "--n-mels", "0"], "'--n-mels': 0 is not in the range"),  # torch RuntimeError
]


@pytest.mark.parametrize("args, said", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_a_bad_option_is_one_line_and_writes_nothing(tmp_path, monkeypatch, capsys, args, said):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "FILE").write_text("x")
    (tmp_path / "DIR").mkdir()
    monkeypatch.setattr(sys, "argv", ["sedbench", *args])  # main(), as the console script runs it
    monkeypatch.setattr(warnings, "showwarning", warnings.showwarning)  # main() sets both for the process
    monkeypatch.setattr(signal, "signal", lambda *a: None)
    with pytest.raises(SystemExit) as exit_:
        main()
    out = capsys.readouterr()
    lines = (out.out + out.err).strip().splitlines()
    assert exit_.value.code == 2 and len(lines) == 1 and said in lines[0], lines
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["DIR", "FILE"]


@pytest.mark.parametrize("command", [["table"], ["plot", "forest"], ["plot", "ranked"], ["report"]])
def test_a_typed_reference_without_runs_is_one_line(tmp_path, monkeypatch, capsys, command):
    """`--reference scrach` gave a table without deltas and a footnote; the default reference may be absent."""
    from sedbench.evaluation.synthetic import fake_record
    from sedbench.results import run_dir, write_record

    for method in ("scratch", "vanilla"):
        write_record(run_dir(tmp_path / "results", "quick", method, 0), fake_record(method, 0, 0.3))
    monkeypatch.setattr(sys, "argv", ["sedbench", *command, "--results", str(tmp_path / "results"),
                                      "--reference", "scrach"])
    monkeypatch.setattr(warnings, "showwarning", warnings.showwarning)
    monkeypatch.setattr(signal, "signal", lambda *a: None)
    with pytest.raises(SystemExit) as exit_:
        main()
    out = capsys.readouterr()
    lines = (out.out + out.err).strip().splitlines()
    assert exit_.value.code == 2 and len(lines) == 1, lines
    assert "'--reference': 'scrach' has no runs in" in lines[0] and "did you mean 'scratch'?" in lines[0]


def test_a_typed_reference_with_runs_is_taken(tmp_path):
    from click.testing import CliRunner

    from sedbench.cli import cli
    from sedbench.evaluation.synthetic import fake_record
    from sedbench.results import run_dir, write_record

    for method in ("scratch", "vanilla"):
        for seed in (0, 1):
            write_record(run_dir(tmp_path, "quick", method, seed), fake_record(method, seed, 0.3 + seed / 10))
    result = CliRunner().invoke(cli, ["table", "--results", str(tmp_path), "--reference", "vanilla",
                                      "--format", "markdown"])
    assert result.exit_code == 0, result.output
    assert "Δ vs vanilla" in result.output


def test_an_interrupted_command_says_how_to_go_on(monkeypatch, capsys):
    """Ctrl-C: the same command resumes, except under --force, which would start from step 0 again."""
    from sedbench import cli as cli_module

    for argv, said in ((["sedbench", "run", "--methods", "all"], "the same command resumes"),
                       (["sedbench", "run", "--force"], "starts from step 0 again (--force); without --force")):
        monkeypatch.setattr("sys.argv", argv)
        with pytest.raises(SystemExit) as stop:
            cli_module._exit_interrupted(None)
        assert stop.value.code == 130 and said in " ".join(capsys.readouterr().err.split())
