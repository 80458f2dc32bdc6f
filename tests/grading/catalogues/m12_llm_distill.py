"""Typical mistakes in 12_llm_distill (forward_kl, reverse_kl), and what each must be told."""

from tests.grading.catalogues import Catalogue, Mistake

FWD = "return (kl * m).sum() / m.sum() * T**2"
ANSWER_KEY = "is not available while a notebook is graded"

CATALOGUE = Catalogue(
    "12_llm_distill",
    {
        "forward_is_reverse": Mistake(
            "forward_kl computes KL(student ‖ teacher): the KL direction swapped",
            (
                (
                    "kl = (log_p.exp() * (log_p - log_q)).sum(dim=-1)",
                    "kl = (log_q.exp() * (log_q - log_p)).sum(dim=-1)",
                ),
            ),
            {
                "test_forward_values": "this is the reverse KL: the arguments of the KL are swapped",
                "test_forward_grad": "this is the reverse KL",
            },
        ),
        "forward_no_t_squared": Mistake(
            "the forward loss is not multiplied by T²",
            ((FWD, "return (kl * m).sum() / m.sum()"),),
            {"test_forward_values": "the loss is not multiplied by T²"},
        ),
        "forward_no_mask": Mistake(
            "padding positions are averaged in (no mask)",
            ((FWD, "return kl.mean() * T**2"),),
            {"test_forward_values": "padding positions count", "test_forward_grad": "padding positions count"},
        ),
        "reverse_wrong_axis": Mistake(
            "reverse_kl's softmax over the positions (dim=1), not the vocabulary",
            (
                (
                    "log_s = F.log_softmax(student_logits / T, dim=-1)",
                    "log_s = F.log_softmax(student_logits / T, dim=1)",
                ),
                (
                    "log_t = F.log_softmax(teacher_logits.detach() / T, dim=-1)",
                    "log_t = F.log_softmax(teacher_logits.detach() / T, dim=1)",
                ),
            ),
            {
                "test_reverse_values": "the softmax is not over the vocabulary",
                "test_reverse_grad": "the softmax is not over the vocabulary",
            },
        ),
        "reverse_not_detached": Mistake(
            "the teacher is not detached in reverse_kl",
            (
                (
                    "log_t = F.log_softmax(teacher_logits.detach() / T, dim=-1)",
                    "log_t = F.log_softmax(teacher_logits / T, dim=-1)",
                ),
            ),
            {"test_reverse_grad": "a gradient reached teacher_logits: detach the teacher"},
        ),
        "forward_from_kdlib": Mistake(
            "forward_kl delegates to kd.token_kl (the answer key is hidden when graded)",
            edit=lambda nb: _delegate(nb),
            lost={"test_forward_values": ANSWER_KEY, "test_forward_grad": ANSWER_KEY},
        ),
    },
    drop=(
        "bimodal",
        "teacher-md",
        "teacher",
        "compare-md",
        "compare",
        "plot-compare",
        "temperature-md",
        "temperature",
        "topk-md",
        "topk",
        "practice",
        "discussion",
    ),
    cell_timeout=60,
    memory_mb=2048,
)


def _delegate(nb) -> None:
    for cell in nb.cells:
        if cell.id == "forward_kl":
            cell.source = (
                "def forward_kl(student_logits, teacher_logits, mask, temperature=1.0):\n"
                '    return kd.token_kl(student_logits, teacher_logits, mask, "forward", temperature)'
            )
