"""The config schema: every profile validates; unknown keys, wrong types and out-of-range values are
refused when the config is loaded, with one line naming the key and where it came from."""

from __future__ import annotations

import dataclasses

import pytest
from click.testing import CliRunner

from sedbench import config as cfg
from sedbench.cli import cli
from sedbench.config import load_profile, profile_names, schema_keys, validate_config
from sedbench.errors import ConfigError


@pytest.mark.parametrize("name", profile_names())
def test_every_shipped_profile_validates_and_stays_a_plain_dict(name):
    config = load_profile(name)
    assert type(config) is dict and type(config["training"]) is dict
    assert validate_config(config) == config  # validating twice changes nothing


BAD = {
    # --set value -> what the one-line error must say
    "nosuchsection.x=3": ["nosuchsection: unknown key", "valid keys of the profile:", "training", "features"],
    "training.stepz=3": ["training.stepz: unknown key", "steps", "val_every"],
    "training.batch_size.strongs=2": ["training.batch_size.strongs: unknown key", "strong, unlabeled, weak"],
    "training.steps=abc": ["training.steps: expected an integer, got 'abc'"],
    "training.steps=1.5": ["training.steps: expected an integer"],
    "training.val_every=true": ["training.val_every: expected an integer, got true"],
    "training.steps=0": ["training.steps: 0 is out of range; it must be >= 1"],
    "training.steps=-5": ["training.steps: -5 is out of range; it must be >= 1"],
    "training.mixup_prob=1.5": ["training.mixup_prob: 1.5 is out of range; it must be <= 1"],
    "training.lr=0": ["training.lr: 0 is out of range; it must be > 0"],
    "training.batch_size.strong=-1": ["training.batch_size.strong: -1 is out of range"],
    "teacher_training.freq_mixstyle=2": ["teacher_training.freq_mixstyle: 2 is out of range"],
    "student.dropout=abc": ["student.dropout: expected a number, got 'abc'"],
    "student.model=nope": ["student.model: 'nope' is not one of", "se-crnn"],
    "student.foo=1": ["student.foo: unknown key", "model se-crnn", "skip"],
    "teachers.cnn.width=wide": ["teachers.cnn.width: expected a number"],
    "teachers.cnn.depth=3": ["teachers.cnn.depth: unknown key", "context_layers"],
    "teachers.big={}": ["teachers.big.model: missing", "crnn-large"],
    "teachers.transformer.training.seed=1": ["teachers.transformer.training.seed: unknown key", "steps"],
    "teachers.cnn.training.steps=0": ["teachers.cnn.training.steps: 0 is out of range"],
    "features.win_length=4096": ["features.win_length: 4096 is more than n_fft 1024"],
    "features.n_mels=0": ["features.n_mels: 0 is out of range"],
    "data.source=s3": ["data.source: 's3' is not one of synth, desed"],
    "data.preset=huge": ["data.preset: 'huge' is not one of", "tiny"],
    "seeds=[0,-1]": ["seeds[1]: -1 is out of range; it must be >= 0"],
    "seeds=3": ["seeds: expected a list of integers"],
    "training=3": ["training: expected a mapping"],
}


@pytest.mark.parametrize("override", list(BAD))
def test_bad_values_are_refused_at_load_with_one_line(override):
    with pytest.raises(ConfigError) as info:
        load_profile("tiny", [override])
    message = str(info.value)
    assert "\n" not in message
    for part in BAD[override]:
        assert part in message, message
    assert message.endswith(f"(from --set {override})")


def test_changing_only_the_student_model_says_how_to_replace_the_profiles_student_options():
    # quick (and tiny) set se-crnn's own options (stem_stride, rnn_layers), which crnn does not take
    with pytest.raises(ConfigError) as info:
        load_profile("tiny", ["student.model=crnn"])
    message = str(info.value)
    assert message.startswith("student.stem_stride: unknown key") and "tiny.yaml" in message
    assert message.endswith("replace the section instead: --set 'student={model: crnn, max_params: 370806}')")
    assert load_profile("tiny", ["student={model: crnn, max_params: 370806}"])["student"]["model"] == "crnn"


def test_a_bad_profile_file_names_the_file(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("base: tiny\ntraining:\n  steps: many\n")
    expected = r"training.steps: expected an integer, got 'many' \(in profile .*mine.yaml\)"
    with pytest.raises(ConfigError, match=expected):
        load_profile(str(path))


def test_a_derived_profile_is_named_after_its_own_file(tmp_path):
    # it inherited its base's name, so a `base: quick` variant filed its results under results/quick/
    path = tmp_path / "mine.yaml"
    path.write_text("base: tiny\n")
    assert load_profile(str(path))["name"] == "mine"
    path.write_text("base: tiny\nname: other\n")
    assert load_profile(str(path))["name"] == "other"


def test_quicks_transformer_is_the_measured_glu_teacher():
    # configs/benchmarks/quick.yaml: the transformer docs/datasheet.md measured (0.437-0.473 over 3 seeds)
    from sedbench.config import teacher_model, teacher_recipe
    from sedbench.models import build_model

    quick = load_profile("quick")
    model, options = teacher_model(quick, "transformer")
    net = build_model(model, n_mels=32, n_classes=10, **options)
    assert sum(p.numel() for p in net.parameters()) == 1_028_580  # the datasheet's figure
    assert teacher_recipe(quick, "transformer")["steps"] == 8000
    assert teacher_recipe(quick, "cnn")["steps"] == 5000  # the zoo's schedule: the cnn keeps its cache


def test_a_teacher_defined_anew_replaces_its_bases_definition(tmp_path):
    # tiny (base: quick) had inherited quick's glu stem and 8,000 transformer steps into its tiny teacher
    from sedbench.config import teacher_recipe

    tiny = load_profile("tiny")
    assert "stem" not in tiny["teachers"]["transformer"] and teacher_recipe(tiny, "transformer")["steps"] == 6
    path = tmp_path / "wider.yaml"
    path.write_text("base: quick\nteachers: {transformer: {dim: 256}}\n")  # no model: a tweak of quick's
    wider = load_profile(str(path))["teachers"]["transformer"]
    assert wider["dim"] == 256 and wider["stem"] == "glu" and wider["training"] == {"steps": 8000}


@pytest.mark.parametrize("text, said", [
    ("base: mine.yaml\n", "`base:` goes round in a circle"),  # was a RecursionError
    ("base: nosuch\n", "mine.yaml: base: nosuch: unknown profile"),  # was blamed on --profile
    ("base: tiny\nname: ../../elsewhere\n", "name: '../../elsewhere' is not one folder name"),  # wrote outside
    ("base: tiny\nteachers: {../up: {model: cnn}}\n", "teachers: '../up' is not one folder name"),
    ("base: tiny\nteachers: {a+b: {model: cnn}}\n", "has a +, which joins an ensemble"),
    ("base: tiny\nteachers: [cnn]\n", "teachers: expected a mapping"),  # was an AttributeError
    ("base: tiny\nseeds: []\n", "seeds: empty; list at least one seed"),  # ran nothing and exited 0
    ("base: tiny\nseeds: [4294967296]\n", "seeds[0]: 4294967296 is out of range"),
    ("# nothing yet\n", "mine.yaml: empty profile"),  # said "features: missing"
    ("name: caf\xe9\n".encode("latin-1"), "mine.yaml: not UTF-8 text (byte 9); save it as UTF-8"),
])
def test_a_bad_profile_file_is_one_line_naming_it(tmp_path, monkeypatch, text, said):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "mine.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(ConfigError) as info:
        load_profile("mine.yaml")
    assert said in str(info.value) and "\n" not in str(info.value), str(info.value)


def test_yaml_float_quirk_is_a_number():
    # PyYAML reads 1e-3 (no dot) as text; a float key takes it as the number it means
    assert load_profile("tiny", ["training.lr=1e-3"])["training"]["lr"] == 0.001


def test_the_cli_says_one_line_and_does_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["run", "--profile", "tiny", "--set", "training.steps=abc", "--methods",
                                      "scratch"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "training.steps: expected an integer, got 'abc'" in lines[0], result.output
    assert "Traceback" not in result.output and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("value", ["[/x]", "[a,b]"])
def test_an_error_quoting_brackets_says_them_as_typed(tmp_path, monkeypatch, value):
    """The error printer is rich: unescaped, "[/x]" crashed it (MarkupError) and "[a,b]" vanished as a tag."""
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["run", "--profile", "tiny", "--set", f"seeds={value}", "--methods", "scratch"])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and f"--set seeds={value}" in lines[0], result.output


def test_the_schema_covers_what_the_code_reads():
    """Adding a training or feature option to the code without its schema line fails here."""
    from sedbench.data.features import FeatureConfig
    from sedbench.training.engine import TrainConfig

    training = {f.name for f in dataclasses.fields(cfg.Training)}
    assert {f.name for f in dataclasses.fields(TrainConfig)} <= training, "add the key to config.Training"
    assert {f.name for f in dataclasses.fields(FeatureConfig)} == {f.name for f in dataclasses.fields(cfg.Features)}
    assert {f.name for f in dataclasses.fields(cfg.TeacherTraining)} == training | {"seed", "freq_mixstyle"}
    assert "training.batch_size.unlabeled" in schema_keys()


def test_the_methods_section_is_checked_against_each_methods_params():
    from sedbench.benchmark import Benchmark
    from sedbench.runner import check_method_settings

    def bench_with(*overrides):
        return Benchmark(load_profile("tiny", list(overrides)), progress=False)

    check_method_settings(bench_with("methods.vanilla.tau=4"))
    for override, expected in [("methods.vanilla.tau=abc", "methods.vanilla.tau: expected a number, got 'abc'"),
                               ("methods.vanilla.temperature=3", "methods.vanilla.temperature: unknown key"),
                               ("methods.vanila.tau=3", "methods.vanila: no such method"),
                               ("methods.vanilla.steps=3", "methods.vanilla.steps: unknown key")]:
        with pytest.raises(ConfigError, match=expected.replace(".", r"\.")):
            check_method_settings(bench_with(override))


def test_a_method_gets_its_set_values_as_typed_and_an_equal_value_is_the_same_variant():
    """`--set methods.vanilla.tau=5e-1` reached the method as the text '5e-1' (a TypeError in its loss),
    and `tau=2`, equal to the default 2.0, trained a new variant beside the cached runs."""
    from sedbench.benchmark import Benchmark
    from sedbench.methods import build_method, method_settings
    from sedbench.runner import run_dir_for

    def bench_with(*overrides):
        return Benchmark(load_profile("tiny", list(overrides)), progress=False)

    def params(*overrides):
        return build_method("vanilla", method_settings(bench_with(*overrides).config, "vanilla")).params

    assert params("methods.vanilla.tau=5e-1").tau == 0.5 and isinstance(params("methods.vanilla.tau=5e-1").tau, float)
    assert repr(params("methods.vanilla.tau=2").tau) == "2.0"
    default = run_dir_for(bench_with(), "vanilla", 0)
    assert run_dir_for(bench_with("methods.vanilla.tau=2"), "vanilla", 0) == default
    assert run_dir_for(bench_with("methods.vanilla.tau=2.5"), "vanilla", 0) != default


def test_a_teacher_the_profile_lacks_is_named_with_the_method_that_reads_it(tmp_path):
    result = CliRunner().invoke(cli, ["run", "--profile", "tiny", "--methods", "vanilla", "--dry-run",
                                      "--set", "methods.vanilla.teacher=nope", "--results", str(tmp_path / "r"),
                                      "--cache", str(tmp_path / "c")])
    assert result.exit_code != 0
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "method vanilla reads teacher 'nope', which profile tiny does not define" in lines[0]


@pytest.mark.parametrize("override, said", [("teacher=nope", "teacher: teacher 'nope' is not defined"),
                                            ("teacher_set=[cnn,nope]", "teacher_set: teacher 'nope' is not defined")])
def test_a_default_teacher_the_profile_lacks_is_blamed_on_its_key(tmp_path, override, said):
    """Not on `methods.multi-teacher`, a section the user never wrote."""
    result = CliRunner().invoke(cli, ["run", "--profile", "tiny", "--methods", "vanilla,multi-teacher", "--dry-run",
                                      "--set", override, "--results", str(tmp_path / "r"),
                                      "--cache", str(tmp_path / "c")])
    assert result.exit_code == 2 and said in result.output, result.output


def test_a_teachers_own_freq_mixstyle_wins_over_the_zoos():
    from sedbench.config import teacher_freq_mixstyle

    zoo = load_profile("tiny", ["teacher_training.freq_mixstyle=0.3", "teachers.cnn.freq_mixstyle=0.8"])
    assert (teacher_freq_mixstyle(zoo, "cnn"), teacher_freq_mixstyle(zoo, "transformer")) == (0.8, 0.3)
    assert teacher_freq_mixstyle(load_profile("tiny"), "cnn") == 0.0
