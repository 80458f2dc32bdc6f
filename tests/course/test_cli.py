"""The kd command: a small demo end to end, its JSON, and wrong input."""

import json
import subprocess
import sys

import pytest


def kd(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "kdlib.cli", *args], capture_output=True, text=True, cwd=cwd)


def test_demo_small_end_to_end(tmp_path):
    out = tmp_path / "r.json"
    fig = tmp_path / "demo.png"
    r = kd(
        "demo",
        "--seeds",
        "2",
        "--epochs-scale",
        "0.05",
        "--pool-size",
        "1000",
        "--json",
        str(out),
        "--figure",
        str(fig),
        "--no-progress",
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert "student (KD + pool)" in r.stdout and "gap closed" in r.stdout
    table_lines = r.stdout.split("framework model")[1].splitlines()
    for fw in ("torch", "tf"):  # the control arm has its own row, per framework
        assert any(ln.split()[:5] == [fw, "student", "(pool,", "teacher", "argmax)"] for ln in table_lines), r.stdout
    data = json.loads(out.read_text())
    assert data["frameworks"] == ["torch", "tf"] and data["seeds"] == 2
    assert data["recipe"]["temperature"] == 4.0 and data["recipe"]["pool_size"] == 1000
    rows = {(t["framework"], t["model"]) for t in data["summary"]}
    for fw in ("torch", "tf"):
        for model in (
            "teacher",
            "student (scratch)",
            "student (KD)",
            "student (KD + pool)",
            "student (pool, teacher argmax)",
            "student (pool, labels)",
        ):
            assert (fw, model) in rows
    for t in data["summary"]:
        assert 0 <= t["accuracy_mean"] <= 1 and t["accuracy_std"] >= 0
        assert t["parameters"] > 0 and t["size_bytes"] == 4 * t["parameters"]
        assert t["latency_ms_per_sample_mean"] > 0
        assert "gap_closed" in t
    assert [t["model"] for t in data["summary"] if t["framework"] == "tf"][3:5] == [
        "student (KD + pool)",
        "student (pool, teacher argmax)",
    ]
    assert len(data["runs"]) == 2 * 2 * 6
    assert fig.stat().st_size > 10_000


def test_demo_without_pool_has_no_pool_rows_and_function_matching_on_request(tmp_path):
    out = tmp_path / "r.json"
    r = kd(
        "demo",
        "--framework",
        "torch",
        "--dataset",
        "digits",
        "--seeds",
        "1",
        "--epochs-scale",
        "0.05",
        "--pool-size",
        "0",
        "--function-matching",
        "--json",
        str(out),
        "--figure",
        "",
        "--no-progress",
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert [t["model"] for t in json.loads(out.read_text())["summary"]] == [
        "teacher",
        "student (scratch)",
        "student (KD)",
        "student (scratch + aug)",  # the fair control of function matching (no pool: no FM + pool)
        "student (function matching)",
    ]
    assert "function matching: 15 epochs" in r.stdout
    assert "±" not in r.stdout.split("framework model")[1], "one seed has no spread to show"
    assert "accuracy: one seed" in r.stdout


def test_help_gives_every_option_with_its_default():
    from kdlib.experiment import Recipe

    demo = " ".join(kd("demo", "--help").stdout.split())
    assert f"(default: {Recipe().pool_size})" in demo
    for option, default in [
        ("--seeds", "2"),
        ("--temperature", "4.0"),
        ("--alpha", "0.9"),
        ("--dataset", "mnist1d"),
        ("--epochs-scale", "1.0"),
        ("--figure", "out/demo.png"),
    ]:
        assert option in demo and f"(default: {default})" in demo, (option, demo)
    grade = " ".join(kd("grade", "--help").stdout.split())
    assert "--timeout" in grade and "(default: 600" in grade and "--memory-mb" in grade and "(default: 6144)" in grade


@pytest.mark.parametrize(
    "args,message",
    [
        (["--seeds", "0"], "argument --seeds: expected a positive integer, got '0'"),
        (["--alpha", "1.5"], "argument --alpha: expected a number in [0, 1], got '1.5'"),
        (["--temperature", "-2"], "argument --temperature: expected a finite number > 0"),
        (["--dataset", "cifar"], "argument --dataset: invalid choice: 'cifar'"),
        (["--framework", "jax"], "argument --framework: invalid choice: 'jax'"),
        (["--pool-size", "-1"], "argument --pool-size: expected an integer >= 0"),
    ],
)
def test_demo_rejects_bad_options(args, message):
    r = kd("demo", *args)
    assert r.returncode == 2 and message in r.stderr, r.stderr


def test_data_lists_datasets():
    r = kd("data")
    assert r.returncode == 0 and "mnist1d" in r.stdout and "digits" in r.stdout
