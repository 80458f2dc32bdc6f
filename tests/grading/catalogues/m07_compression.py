"""Typical mistakes in 07_compression (measure, compare), and what each must be told."""

from tests.grading.catalogues import Catalogue, Mistake

SORTED = '    return sorted(rows, key=lambda row: row["size_bytes"])'

CATALOGUE = Catalogue(
    "07_compression",
    {
        "measure_train_mode": Mistake(
            "measure predicts in training mode (no model.eval())",
            (("    model.eval()\n\n    def predict", "\n    def predict"),),
            {"test_measure": "call model.eval()"},
        ),
        "numel_not_nonzero": Mistake(
            "nonzero_params counts every parameter, zeros included",
            (("int((w != 0).sum())", "w.numel()"),),
            {"test_measure": "count the entries != 0"},
        ),
        "size_from_numel": Mistake(
            "size_bytes computed as 4 bytes a parameter instead of the saved state_dict",
            (
                (
                    '"size_bytes": saved_bytes(model.state_dict()),',
                    '"size_bytes": 4 * sum(w.numel() for w in weight_tensors(model)),',
                ),
            ),
            {"test_measure": "saved_bytes(model.state_dict())"},
        ),
        "unsorted": Mistake(
            "compare returns the rows in input order",
            ((SORTED, "    return rows"),),
            {"test_compare": "sorted by size_bytes"},
        ),
        "speedup_inverted": Mistake(
            "speedup = ms_batch1 / baseline's ms_batch1 (inverted)",
            (('base["ms_batch1"] / r["ms_batch1"]', 'r["ms_batch1"] / base["ms_batch1"]'),),
            {"test_compare": "speedup of 'small' should be 4.0"},
        ),
    },
    drop=("run-intro", "experiment", "table-intro", "table", "plot-intro", "plot", "discussion"),
    cell_timeout=60,
    memory_mb=2048,
)
