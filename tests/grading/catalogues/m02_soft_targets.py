"""Typical mistakes in 02_soft_targets (softmax with T, entropy, the T² answers), and what each must be told."""

from tests.grading.catalogues import Catalogue, Mistake

DIVIDE = "z = np.asarray(logits, dtype=np.float64) / T  # a new array: the input is not modified"
SHIFT = "z = z - z.max(axis=1, keepdims=True)  # each row's own maximum: exponents <= 0"
NORMALISE = "return e / e.sum(axis=1, keepdims=True)"
ENTROPY = "return -(p * np.log(np.where(p > 0, p, 1.0))).sum(axis=1)"
LIMIT = "limit_grad = ((_s - _s.mean()) - (_t - _t.mean())) / 4"

SOFTMAX_TESTS = ("test_softmax_rows", "test_softmax_reference", "test_softmax_stable", "test_softmax_limits")

CATALOGUE = Catalogue(
    "02_soft_targets",
    {
        "no_temperature": Mistake(
            "the logits are not divided by T (plain softmax whatever T)",
            ((DIVIDE, "z = np.asarray(logits, dtype=np.float64).copy()"),),
            {
                "test_softmax_reference": "you return softmax(logits): divide the logits by T",
                "test_softmax_stable": "you return softmax(logits): divide the logits by T",
                "test_softmax_limits": "you return softmax(logits): divide the logits by T",
            },
        ),
        "multiplies_by_t": Mistake(
            "the logits are multiplied by T instead of divided",
            ((DIVIDE, "z = np.asarray(logits, dtype=np.float64) * T"),),
            {
                "test_softmax_reference": "divide by T, do not multiply",
                "test_softmax_stable": "divide by T, do not multiply",
                "test_softmax_limits": "divide by T, do not multiply",
            },
        ),
        "no_max_shift": Mistake(
            "no maximum subtracted before np.exp: inf / inf = NaN for large logits",
            ((SHIFT, "pass"),),
            {
                "test_softmax_stable": "subtract each row's maximum before np.exp",
                "test_softmax_limits": "the output is not finite at T = 0.001",
            },
        ),
        "global_max_shift": Mistake(
            "the maximum of the whole array subtracted instead of each row's: rows far below it underflow to 0 / 0",
            ((SHIFT, "z = z - z.max()"),),
            {
                "test_softmax_stable": "not the maximum of the whole array",
                "test_softmax_limits": "the output is not finite at T = 0.001",
            },
        ),
        "normalise_columns": Mistake(
            "the probabilities normalised along the batch axis (columns sum to 1)",
            ((NORMALISE, "return e / e.sum(axis=0, keepdims=True)"),),
            {
                "test_softmax_rows": "the columns sum to 1",
                "test_softmax_reference": "the columns sum to 1",
                "test_softmax_stable": "softmax_with_temperature for logits of ±1e4 at T = 1",
                "test_softmax_limits": "the columns sum to 1",
            },
        ),
        "divides_in_place": Mistake(
            "the input array is divided in place (z /= T on the caller's float64 array)",
            ((DIVIDE, "z = np.asarray(logits, dtype=np.float64)\n    z /= T"),),
            {"test_softmax_reference": "softmax_with_temperature changed its input array"},
        ),
        "calls_reference": Mistake(
            "softmax_with_temperature calls ref.soft_targets (hidden while graded)",
            ((DIVIDE, "return ref.soft_targets(logits, T)"),),
            {
                gid: "kdlib.reference and kdlib's losses are not available while a notebook is graded"
                for gid in SOFTMAX_TESTS
            },
        ),
        "imports_kdlib_answer": Mistake(
            "softmax_with_temperature imported from kdlib instead of written (the answer key is hidden when graded)",
            edit=lambda nb: _import_answer(nb),
            shows={
                "softmax_with_temperature": "kdlib.reference is not available while a notebook is graded: it "
                "implements what this assignment grades"
            },
            lost={gid: "softmax_with_temperature is not defined" for gid in SOFTMAX_TESTS},
        ),
        "entropy_in_bits": Mistake(
            "the entropy in bits (np.log2) instead of nats",
            ((ENTROPY, "return -(p * np.log2(np.where(p > 0, p, 1.0))).sum(axis=1)"),),
            {"test_entropy_extremes": "that is bits; use np.log", "test_entropy_reference": "the entropy is in bits"},
        ),
        "entropy_log_of_zero": Mistake(
            "np.log(p) on exact zeros: 0 · log 0 = NaN",
            ((ENTROPY, "return -(p * np.log(p)).sum(axis=1)"),),
            {
                "test_entropy_extremes": "the entropy of a one-hot row is NaN",
                "test_entropy_reference": "0 · log 0 must count as 0",
            },
        ),
        "entropy_summed_over_batch": Mistake(
            "the entropy summed over the whole array instead of per row",
            ((ENTROPY, "return -(p * np.log(np.where(p > 0, p, 1.0))).sum()"),),
            {
                "test_entropy_extremes": "one value per row, shape (2,), got shape ()",
                "test_entropy_reference": "one value per row, shape (4,), got shape ()",
            },
        ),
        "exponent_minus_one": Mistake(
            "t2_exponent = −1 (only the explicit 1/T of (q − p)/T)",
            (("t2_exponent = -2", "t2_exponent = -1"),),
            {"test_t2_exponent": "q − p itself shrinks like 1/T"},
        ),
        "kl_direction_swapped": Mistake(
            "section 4: forward and reverse KL swapped (forward taken to lock onto one mode)",
            (('kl_direction = "c"', 'kl_direction = "b"'),),
            {"test_kl_direction": "the directions are swapped: the forward KL(p ‖ q) weighs by the teacher's p"},
        ),
        "kl_direction_symmetric": Mistake(
            "section 4: KL taken to be symmetric",
            (('kl_direction = "c"', 'kl_direction = "a"'),),
            {"test_kl_direction": "KL is not symmetric"},
        ),
        "limit_grad_without_c": Mistake(
            "limit_grad not divided by C = 4",
            ((LIMIT, "limit_grad = ((_s - _s.mean()) - (_t - _t.mean()))"),),
            {"test_limit_grad": "missing the division by C = 4"},
        ),
        "limit_grad_uncentred": Mistake(
            "limit_grad from the raw logits, not centred: (s − t) / C",
            ((LIMIT, "limit_grad = (_s - _t) / 4"),),
            {"test_limit_grad": "the entries of the gradient sum to 0"},
        ),
    },
    # the teacher's training (30 epochs) and the demos that use it: ungraded
    drop=("teacher-train", "soft-plot", "dark-plot", "entropy-curve", "t2-check", "kl-direction-demo"),
    cell_timeout=60,
    memory_mb=3072,
)


def _import_answer(nb) -> None:
    for cell in nb.cells:
        if cell.id == "softmax_with_temperature":
            cell.source = "from kdlib.reference import soft_targets as softmax_with_temperature"
