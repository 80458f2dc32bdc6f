"""Typical mistakes in 05_loops_torch (PyTorch train_one_epoch / distill_one_epoch), and what each must be told."""

from tests.grading.catalogues import Catalogue, Mistake

T_LOSS = "loss = F.cross_entropy(logits, y[idx])\n"
D_TEACHER = (
    "        with torch.no_grad():  # no graph through the teacher: it cannot be updated\n"
    "            teacher_logits = teacher(x[idx])\n"
)
D_LOSS = "loss = kd_loss(student_logits, teacher_logits, y[idx], temperature, alpha)\n"
STEP = "        optimizer.zero_grad()\n        loss.backward()\n        optimizer.step()\n"

ZERO_GRAD = "optimizer.zero_grad() in every step"
STEPS = "call optimizer.zero_grad(), loss.backward() and optimizer.step() in every step"
RAISED = "distill_one_epoch raised RuntimeError"
TEST_CELLS = (
    "test_train_one_epoch",
    "test_train_memorise",
    "test_distill_loss_falls",
    "test_distill_teacher_frozen",
    "test_distill_one_step",
    "test_distill_zero_grad",
)

CATALOGUE = Catalogue(
    "05_loops_torch",
    {
        "train_no_zero_grad": Mistake(
            "train_one_epoch never zeroes the gradients",
            ((T_LOSS + STEP, T_LOSS + "        loss.backward()\n        optimizer.step()\n"),),
            {"test_train_one_epoch": ZERO_GRAD, "test_train_memorise": STEPS},
        ),
        "train_no_step": Mistake(
            "train_one_epoch forgets optimizer.step()",
            ((T_LOSS + STEP, T_LOSS + "        optimizer.zero_grad()\n        loss.backward()\n"),),
            {"test_train_one_epoch": "optimizer.step()", "test_train_memorise": "optimizer.step()"},
        ),
        "teacher_not_eval": Mistake(
            "the teacher is left in training mode (no teacher.eval())",
            (("    teacher.eval()  # inference behaviour: dropout off, batch-norm running statistics\n", ""),),
            {"test_distill_teacher_frozen": "call teacher.eval()"},
        ),
        "teacher_logits_with_grad": Mistake(
            "the teacher's logits are computed with gradients (no torch.no_grad())",
            ((D_TEACHER, "        teacher_logits = teacher(x[idx])\n"),),
            {"test_distill_teacher_frozen": "compute them under torch.no_grad()"},
        ),
        "teacher_trained_too": Mistake(
            "the teacher is trained along with the student: its logits carry gradients and a "
            "cross-entropy on them joins the loss (and the returned loss)",
            (
                (D_TEACHER, "        teacher_logits = teacher(x[idx])\n"),
                (D_LOSS, D_LOSS.rstrip("\n") + " + F.cross_entropy(teacher_logits, y[idx])\n"),
            ),
            {
                "test_distill_loss_falls": "kd_loss over the 100 examples",
                "test_distill_teacher_frozen": "torch.no_grad()",
                "test_distill_one_step": "the loss must be 0",
            },
        ),
        "distill_no_zero_grad": Mistake(
            "distill_one_epoch never zeroes the gradients",
            ((D_LOSS + STEP, D_LOSS + "        loss.backward()\n        optimizer.step()\n"),),
            {"test_distill_loss_falls": ZERO_GRAD, "test_distill_zero_grad": ZERO_GRAD},
        ),
        "zero_grad_once_per_epoch": Mistake(
            "optimizer.zero_grad() once before the loop instead of in every step",
            (
                (
                    "    student.train()\n    total = 0.0\n",
                    "    student.train()\n    optimizer.zero_grad()\n    total = 0.0\n",
                ),
                (D_LOSS + STEP, D_LOSS + "        loss.backward()\n        optimizer.step()\n"),
            ),
            {"test_distill_zero_grad": ZERO_GRAD},
        ),
        "distill_no_step": Mistake(
            "distill_one_epoch forgets optimizer.step()",
            ((D_LOSS + STEP, D_LOSS + "        optimizer.zero_grad()\n        loss.backward()\n"),),
            {"test_distill_loss_falls": "optimizer.step()", "test_distill_one_step": "optimizer.step()"},
        ),
        "alpha_swapped": Mistake(
            "alpha weighs the hard term (kd_loss called with 1 - alpha, the Keras example's convention)",
            ((D_LOSS, D_LOSS.replace("alpha)", "1 - alpha)")),),
            {"test_distill_one_step": "alpha weighs the soft term"},
        ),
        "teacher_first": Mistake(
            "kd_loss(teacher_logits, student_logits, ...): the loss is taken on the wrong logits, so it "
            "has no gradient and loss.backward() raises",
            ((D_LOSS, "loss = kd_loss(teacher_logits, student_logits, y[idx], temperature, alpha)\n"),),
            {
                "test_distill_loss_falls": RAISED,
                "test_distill_teacher_frozen": RAISED,
                "test_distill_one_step": RAISED,
                "test_distill_zero_grad": RAISED,
            },
        ),
        "imports_kdlib_answer": Mistake(
            "both loops built on kdlib.torch's fit/distill instead of written (the answer key is hidden "
            "when graded, so neither function gets defined)",
            edit=lambda nb: _import_answer(nb),
            shows={
                "train_one_epoch": "kdlib.torch.train is not available while a notebook is graded: it "
                "implements what this assignment grades"
            },
            lost={gid: "is not defined" for gid in TEST_CELLS},
        ),
    },
    drop=(
        "compare-intro",
        "train-teacher",
        "train-students",
        "run-scratch",
        "run-kd-09",
        "run-kd-05",
        "results",
        "plots",
        "discussion",
        "4ebabb08",
        "d2deb702",
        "df5ce45d",
    ),
    cell_timeout=120,
    memory_mb=3072,
)


def _import_answer(nb) -> None:
    for cell in nb.cells:
        if cell.id == "train_one_epoch":
            cell.source = (
                "from kdlib.torch import fit\n\n\n"
                "def train_one_epoch(model, optimizer, x, y, batch_size, generator):\n"
                "    return fit(model, x, y, epochs=1, batch_size=batch_size, progress=False).loss[-1]\n"
            )
        elif cell.id == "distill_one_epoch":
            cell.source = (
                "from kdlib.torch import distill\n\n\n"
                "def distill_one_epoch(student, teacher, optimizer, x, y, temperature, alpha, batch_size, generator):\n"
                "    return distill(student, teacher, x, y, temperature=temperature, alpha=alpha, epochs=1,\n"
                "                   batch_size=batch_size, progress=False).loss[-1]\n"
            )
