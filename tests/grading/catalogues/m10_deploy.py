"""Typical mistakes in 10_deploy (export_onnx, check_onnx), and what each must be told."""

from tests.grading.catalogues import Catalogue, Mistake

# Not in the catalogue: exporting without model.eval() — torch.onnx.export (dynamo=False) traces
# in eval mode by default (training=TrainingMode.EVAL), so the file is right all the same.
CATALOGUE = Catalogue(
    "10_deploy",
    {
        "mode_not_restored": Mistake(
            "export_onnx leaves the model in eval mode",
            (("        model.train(was_training)\n", "        pass\n"),),
            {"test_export_onnx": "restore its mode with model.train(was_training)"},
        ),
        "no_dynamic_axes": Mistake(
            "no dynamic_axes: the batch size 1 of the example is frozen into the file",
            (('            dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}},\n', ""),),
            {"test_export_onnx": "a batch of 7 was rejected: pass dynamic_axes"},
        ),
        "signed_difference": Mistake(
            "check_onnx returns the largest signed difference, not the largest absolute one",
            (
                (
                    "float(np.abs(onnx_logits - predict_logits(model, x)).max())",
                    "float((onnx_logits - predict_logits(model, x)).max())",
                ),
            ),
            {"test_check_onnx": "return the max absolute difference"},
        ),
        "check_in_train_mode": Mistake(
            "check_onnx runs the torch model as it is (training mode)",
            (("predict_logits(model, x)).max())", "model(torch.from_numpy(np.asarray(x))).detach().numpy()).max())"),),
            {"test_check_onnx": "run the model in eval mode"},
        ),
        "returns_nothing": Mistake(
            "export_onnx returns None instead of the path (new: not in the old catalogue)",
            (("    return path", ""),),
            {"test_export_onnx": "export_onnx should return the path, got None"},
        ),
        "imports_kdlib_answer": Mistake(
            "export_onnx imported from kdlib instead of written (the answer key is hidden when graded)",
            edit=lambda nb: _import_answer(nb),
            shows={
                "export_onnx": "kdlib.deploy is not available while a notebook is graded: it "
                "implements what this assignment grades"
            },
            lost={"test_export_onnx": "export_onnx is not defined"},
        ),
    },
    drop=(
        "export-student",
        "export-student-code",
        "tflite-intro",
        "tflite",
        "compare-intro",
        "benchmark",
        "discussion",
    ),
    cell_timeout=120,
    memory_mb=4096,
)


def _import_answer(nb) -> None:
    for cell in nb.cells:
        if cell.id == "export_onnx":
            cell.source = "from kdlib.deploy import export_onnx"
