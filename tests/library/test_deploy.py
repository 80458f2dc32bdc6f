"""kdlib.deploy: exported ONNX / TFLite models give the framework model's logits (1e-4)."""

import numpy as np
import pytest

from kdlib import deploy

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def x():
    return np.random.default_rng(0).normal(size=(33, 40)).astype(np.float32)


@pytest.mark.parametrize("name", ["student", "teacher"])
def test_onnx_matches_torch(name, x, tmp_path):
    pytest.importorskip("onnxruntime")
    from kdlib.torch import build_model, predict_logits

    model = build_model(name, 40, 10, seed=0)
    model.train()
    path = deploy.export_onnx(model, tmp_path / "m.onnx", 40)
    assert model.training, "export_onnx must restore the model's mode"
    assert path.is_file() and deploy.file_size(path) > 0
    want = predict_logits(model, x)
    sess = deploy.onnx_session(path)
    for batch in (x[:1], x):  # dynamic batch axis
        got = deploy.run_onnx(sess, batch)
        assert got.shape == (len(batch), 10)
        assert deploy.max_abs_diff(got, want[: len(batch)]) < 1e-4
    assert deploy.max_abs_diff(deploy.run_onnx(path, x), want) < 1e-4


@pytest.mark.parametrize("name", ["student", "teacher"])
def test_tflite_matches_keras(name, x, tmp_path):
    from kdlib.tf import build_model, predict_logits

    model = build_model(name, 40, 10, seed=0)
    path = deploy.export_tflite(model, tmp_path / "m.tflite")
    assert deploy.file_size(path) > 0
    want = predict_logits(model, x)
    it = deploy.tflite_interpreter(path)
    for batch in (x[:1], x, x[:5]):  # resized whenever the batch changes
        got = deploy.run_tflite(it, batch)
        assert got.shape == (len(batch), 10)
        assert deploy.max_abs_diff(got, want[: len(batch)]) < 1e-4
    assert deploy.max_abs_diff(deploy.run_tflite(path, x), want) < 1e-4
    small = deploy.export_tflite(model, tmp_path / "q.tflite", quantize=True)
    assert deploy.file_size(small) < deploy.file_size(path)
    assert (deploy.run_tflite(small, x).argmax(1) == want.argmax(1)).mean() > 0.8


def test_bad_arguments(x, tmp_path):
    from kdlib.torch import build_model

    model = build_model("student", 40, 10, seed=0)
    with pytest.raises(ValueError, match="path must end in .onnx"):
        deploy.export_onnx(model, tmp_path / "m.tflite", 40)
    with pytest.raises(ValueError, match="num_features must be a positive integer"):
        deploy.export_onnx(model, tmp_path / "m.onnx", 0)
    with pytest.raises(ValueError, match="model must be a torch.nn.Module"):
        deploy.export_onnx("model", tmp_path / "m.onnx", 40)
    with pytest.raises(ValueError, match="no .onnx file"):
        deploy.run_onnx(tmp_path / "missing.onnx", x)
    with pytest.raises(ValueError, match="model must be a Keras model"):
        deploy.export_tflite(model, tmp_path / "m.tflite")
    import keras

    with pytest.raises(ValueError, match="quantize must be True or False"):
        deploy.export_tflite(keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)]), tmp_path / "m.tflite", "yes")
    with pytest.raises(ValueError, match="no .tflite file"):
        deploy.run_tflite(tmp_path / "missing.tflite", x)
    path = deploy.export_onnx(model, tmp_path / "m.onnx", 40)
    with pytest.raises(ValueError, match="x must have 40 features"):
        deploy.run_onnx(path, x[:, :10])
    with pytest.raises(ValueError, match="x must be a non-empty 2-D array"):
        deploy.run_onnx(path, x[0])
    with pytest.raises(ValueError, match="outputs must have the same shape"):
        deploy.max_abs_diff(x, x[:3])
