"""Hidden checks of 07_compression, decided outside the student's kernel (see kdlib.grading.judge).

``measure`` is observed on small models built in the sandbox by ``probe.py`` (a hand-made
Linear, a dropout model left in training mode, a quantized copy, a model with BatchNorm buffers,
a model whose every call takes 20 ms); the judge builds the same models here and computes the
expected accuracy, non-zero count and saved size itself. ``compare`` is pure data: the judge
sends the results dicts and checks the rows. No kdlib module implements ``measure`` or
``compare`` (``kdlib.metrics.latency`` is a tool the learner is given), so the answer key is empty.
"""

from __future__ import annotations

import copy
import io

from kdlib.grading.judge import Judge, expect

judge = Judge("07_compression", answer_key=[], demos=["experiment", "table", "plot"])

KEYS = ("accuracy", "nonzero_params", "size_bytes", "ms_batch1", "ms_per_sample")


def _saved_bytes(obj) -> int:
    import torch

    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getbuffer().nbytes


def _models() -> dict:
    """The models of the probe's measure_cases, built here the same way (sizes only)."""
    import torch
    from torch import nn
    from torch.ao.quantization import quantize_dynamic

    def known():
        m = nn.Linear(2, 2)
        with torch.no_grad():
            m.weight.copy_(torch.tensor([[1.0, 0.0], [0.5, 1.0]]))
            m.bias.copy_(torch.tensor([0.25, -0.5]))
        return m

    torch.manual_seed(0)
    k = known()
    q = quantize_dynamic(copy.deepcopy(known()), {nn.Linear}, dtype=torch.qint8)
    torch.manual_seed(0)
    bn = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    return {"known": k, "quantized": q, "batchnorm": bn}


def _dict(obs: dict, what: str) -> dict:
    """The observed measure dict's values; fails if the call raised or returned no full dict."""
    expect("error" not in obs, f"calling measure on {what} raised {obs.get('error')}")
    expect(obs.get("type") == "dict", f"measure must return a dict, got {obs.get('type')}")
    missing = sorted(set(KEYS) - set(obs["keys"]))
    expect(not missing, f"measure's dict lacks the keys {missing}")
    for k, v in obs["values"].items():
        expect(not isinstance(v, str), f"{k} of measure's dict must be a number, got {v}")
    return obs["values"]


@judge.check("test_measure")
def measure(ask):
    (obs,) = yield [ask.scenario("measure_cases")]
    sizes = {name: _saved_bytes(m.state_dict()) for name, m in _models().items()}
    m = _dict(obs["known"], "the hand-made Linear model")
    expect(
        obs["known"]["is_float"]["accuracy"] and abs(m["accuracy"] - 0.5) < 1e-9,
        f"accuracy should be 0.5 (2 of 4 argmax predictions right), got {m['accuracy']!r}"
        + ("" if obs["known"]["is_float"]["accuracy"] else " (not a Python float)"),
    )
    expect(
        m["nonzero_params"] == 5,
        f"nonzero_params should be 5 (6 parameters, one weight is 0), got {m['nonzero_params']!r}: "
        "count the entries != 0 over weight_tensors(model)",
    )
    expect(
        m["size_bytes"] == sizes["known"],
        f"size_bytes should be saved_bytes(model.state_dict()) = {sizes['known']}, got {m['size_bytes']!r}",
    )
    for key in ("ms_batch1", "ms_per_sample"):
        expect(obs["known"]["is_float"][key] and 0 < m[key] < 1000, f"{key} should be a float in ms, got {m[key]!r}")
    acc = _dict(obs["dropout"], "a dropout model")["accuracy"]
    expect(acc == 1.0, f"accuracy of a dropout model is {acc:.2f}, not 1.0: call model.eval() before predicting")
    mq = _dict(obs["quantized"], "a dynamically quantized Linear")
    expect(
        mq["nonzero_params"] == 5,
        f"nonzero_params of the quantized Linear should be 5, got {mq['nonzero_params']}: count the entries "
        "!= 0 over weight_tensors(model) (a quantized Linear has no .parameters())",
    )
    expect(
        mq["size_bytes"] == sizes["quantized"],
        f"size_bytes of the quantized Linear should be {sizes['quantized']}, got {mq['size_bytes']!r}: "
        "size_bytes must be saved_bytes(model.state_dict())",
    )
    bn = _dict(obs["batchnorm"], "a Linear + BatchNorm1d model")
    expect(
        bn["size_bytes"] == sizes["batchnorm"],
        f"size_bytes of a Linear + BatchNorm1d model should be {sizes['batchnorm']}, got {bn['size_bytes']!r}: "
        "count the whole state_dict (buffers too), via saved_bytes(model.state_dict())",
    )
    ms = _dict(obs["slow"], "a model whose every call takes 20 ms")
    expect(
        15 < ms["ms_batch1"] < 500,
        f"ms_batch1 should be the time of one call on 1 example (about 20 ms here), got {ms['ms_batch1']:.3g}",
    )
    expect(
        1.0 < ms["ms_per_sample"] < 10,
        "ms_per_sample should be one call on all of x_test divided by its length (about 2 ms for 10 rows "
        f"at 20 ms a call), got {ms['ms_per_sample']:.3g}",
    )


def fake(acc, nz, size, ms) -> dict:
    return {"accuracy": acc, "nonzero_params": nz, "size_bytes": size, "ms_batch1": ms, "ms_per_sample": ms / 10}


def _rows(got: dict, what: str) -> list:
    expect("error" not in got, f"calling {what} raised {got.get('error')}")
    rows = got["ok"]
    expect(
        isinstance(rows, list) and all(isinstance(r, dict) for r in rows),
        f"{what} must return a list of dicts (rows), got {type(rows).__name__}",
    )
    return rows


def _near(row: dict, key: str, want: float) -> bool:
    v = row.get(key)
    return isinstance(v, (int, float)) and not isinstance(v, bool) and abs(v - want) < 1e-9


@judge.check("test_compare")
def compare(ask):
    res = {
        "teacher": fake(0.9, 1000, 4000, 2.0),
        "small": fake(0.8, 250, 1000, 0.5),
        "pruned": fake(0.85, 500, 4000, 2.5),
    }
    only = {"only": fake(0.5, 10, 10, 1.0)}
    obs, one = yield [
        ask.scenario("compare_calls", results=res, calls=[{}, {"baseline": "nope"}, {"baseline": "small"}]),
        ask.scenario("compare_calls", results=only, calls=[{"baseline": "only"}]),
    ]
    rows = _rows(obs["calls"][0], "compare(results)")
    expect(len(rows) == 3, f"compare must return a list of 3 rows, got {len(rows)}")
    order = [r.get("model") for r in rows]
    expect(
        order == ["small", "teacher", "pruned"],
        f"rows must be sorted by size_bytes, smallest first, ties in input order; got {order}",
    )
    small = rows[0]
    for key, want in [
        ("size_ratio", 0.25),
        ("params_ratio", 0.25),
        ("accuracy_change", -0.1),
        ("speedup", 4.0),
        ("accuracy", 0.8),
        ("ms_per_sample", 0.05),
    ]:
        expect(key in small, f"the row lacks {key!r}")
        expect(_near(small, key, want), f"{key} of 'small' should be {want}, got {small[key]!r}")
    expect(_near(rows[2], "speedup", 0.8), "speedup = baseline ms_batch1 / ms_batch1 (0.8: slower)")
    nope = obs["calls"][1]
    expect("error" in nope, "compare(res, baseline='nope') should raise ValueError")
    expect(
        nope["error"].startswith("ValueError"),
        f"compare(res, baseline='nope') should raise ValueError, got {nope['error']}",
    )
    expect("nope" in nope["error"], f"the ValueError should name the missing baseline, got {nope['error']}")
    base = {r.get("model"): r for r in _rows(obs["calls"][2], "compare(results, baseline='small')")}
    expect(
        set(base) == set(res), f"compare(results, baseline='small') must return one row per model, got {sorted(base)}"
    )
    expect(
        _near(base["teacher"], "size_ratio", 4.0) and _near(base["teacher"], "speedup", 0.25),
        "ratios must be relative to the baseline argument, not to 'teacher'",
    )
    expect(
        _near(base["pruned"], "accuracy_change", 0.05),
        "accuracy_change = accuracy - the baseline's accuracy (0.05 for 'pruned' against 'small')",
    )
    expect(
        _near(base["small"], "size_ratio", 1.0) and _near(base["small"], "accuracy_change", 0.0),
        "the baseline's own row must have size_ratio 1.0 and accuracy_change 0.0",
    )
    expect(obs["results_after"] == res, "compare must not modify the input dicts")
    rows = _rows(one["calls"][0], "compare({'only': ...}, baseline='only')")
    expect(
        len(rows) == 1 and rows[0].get("model") == "only",
        "compare of a single model (its own baseline) must return its one row",
    )
