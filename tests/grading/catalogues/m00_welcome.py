"""Typical mistakes in 00_welcome (the warm-up default_num_classes), and what each must be told."""

from tests.grading.catalogues import Catalogue, Mistake

RETURN = "return int(len(np.unique(ds.y_train)))"
TEST = "test_default_num_classes"

CATALOGUE = Catalogue(
    "00_welcome",
    {
        "numpy_integer": Mistake(
            "returns a NumPy integer (the int64 array's max + 1) instead of a Python int",
            ((RETURN, "return ds.y_train.max() + 1"),),
            {TEST: "must return a Python int, got numpy.int64"},
        ),
        "largest_label": Mistake(
            "returns the largest label (9), not the number of classes",
            ((RETURN, "return int(ds.y_train.max())"),),
            {TEST: "the largest label"},
        ),
        "counts_examples": Mistake(
            "counts the training labels instead of the distinct classes",
            ((RETURN, "return len(ds.y_train)"),),
            {TEST: "the number of training examples"},
        ),
        "no_return": Mistake(
            "computes the number but forgets to return it",
            ((RETURN, "n = int(len(np.unique(ds.y_train)))"),),
            {TEST: "returned None"},
        ),
    },
    # the long ungraded demos: the KD picture, the PyTorch check and the data plot
    drop=("picture", "torch-check", "data-plot"),
    cell_timeout=60,
    memory_mb=2048,
)
