"""Typical mistakes in 13_self_ensemble (ensemble averaging, label smoothing, born-again) and what each is told."""

from tests.grading.catalogues import Catalogue, Mistake

PROB_LOG = "torch.logsumexp(F.log_softmax(z, dim=-1), dim=0) - np.log(len(logits_list))"

CATALOGUE = Catalogue(
    "13_self_ensemble",
    {
        "prob_returns_probabilities": Mistake(
            "probability space: the averaged probabilities are returned, not logits",
            ((PROB_LOG, "F.softmax(z, dim=-1).mean(0)"),),
            {"test_average_prob": "you returned the averaged probabilities"},
        ),
        "prob_geometric_mean": Mistake(
            "probability space: log-probabilities averaged (a geometric mean, i.e. logit averaging)",
            ((PROB_LOG, "F.log_softmax(z, dim=-1).mean(0)"),),
            {"test_average_prob": "a geometric mean"},
        ),
        "prob_naive_log": Mistake(
            "probability space: log(mean(softmax)) underflows to -inf for large logits",
            ((PROB_LOG, "torch.log(F.softmax(z, dim=-1).mean(0))"),),
            {"test_average_prob": "got -inf or nan"},
        ),
        "logit_sum": Mistake(
            "logit space: the logits are summed, not averaged",
            (("        return z.mean(0)", "        return z.sum(0)"),),
            {"test_average_logit": "the logits are summed"},
        ),
        "smoothing_wrong_classes": Mistake(
            "label smoothing spreads eps over the C - 1 wrong classes only",
            (
                (
                    "    uniform = -log_q.mean(dim=-1)",
                    "    uniform = (-log_q.sum(dim=-1) - nll) / (log_q.shape[1] - 1)",
                ),
            ),
            {"test_smoothing": "eps is spread over the C − 1 wrong classes only"},
        ),
        "ban_from_first_teacher": Mistake(
            "born-again: every generation distilled from generation 0 instead of the previous one",
            (("kd.distill(student, models[-1], x, y,", "kd.distill(student, models[0], x, y,"),),
            {"test_born_again": "every generation was distilled from generation 0"},
        ),
    },
    drop=("ensemble-md", "ensemble", "ban-md", "ban", "smooth-md", "smooth", "discussion"),
    cell_timeout=120,
    memory_mb=2048,
)
