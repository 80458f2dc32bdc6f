"""kdlib.metrics against hand-computed values."""

import numpy as np
import pytest

from kdlib import metrics


def test_accuracy_and_agreement():
    logits = np.array([[2.0, 1.0], [0.0, 3.0], [1.0, 0.0]])
    assert metrics.accuracy(logits, [0, 1, 1]) == pytest.approx(2 / 3)
    teacher = np.array([[0.0, 1.0], [0.0, 3.0], [5.0, 0.0]])
    assert metrics.agreement(logits, teacher) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="labels must have shape"):
        metrics.accuracy(logits, [0, 1])
    with pytest.raises(ValueError, match="student_logits and teacher_logits must match"):
        metrics.agreement(logits, teacher[:2])


def test_ece_hand_value():
    # Two samples, both predicted with confidence 0.75 (logits [ln 3, 0]); one right, one wrong:
    # one bin with accuracy 0.5 and confidence 0.75 -> ECE 0.25.
    z = np.array([[np.log(3.0), 0.0], [np.log(3.0), 0.0]])
    assert metrics.expected_calibration_error(z, [0, 1], n_bins=10) == pytest.approx(0.25)
    # A perfectly confident, always right model has ECE ≈ 0.
    assert metrics.expected_calibration_error(np.array([[50.0, 0.0]] * 4), [0] * 4) < 1e-12


def test_sizes_of_torch_and_keras_models():
    import keras
    import torch

    lin = torch.nn.Linear(10, 3)
    assert metrics.num_parameters(lin) == 33 and metrics.size_bytes(lin) == 33 * 4
    km = keras.Sequential([keras.Input((10,)), keras.layers.Dense(3)])
    assert metrics.num_parameters(km) == 33 and metrics.size_bytes(km) == 33 * 4
    with pytest.raises(ValueError, match="model must be a torch nn.Module or a Keras model"):
        metrics.num_parameters(object())


def test_latency_reports_per_sample():
    r = metrics.latency(lambda x: x * 2, np.ones((8, 3)), repeats=3)
    assert r["batch_size"] == 8 and r["ms_per_sample"] == pytest.approx(r["ms_per_batch"] / 8)
    with pytest.raises(ValueError, match="repeats must be a positive integer"):
        metrics.latency(lambda x: x, np.ones((2, 2)), repeats=0)
