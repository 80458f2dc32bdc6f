"""Typical mistakes in 01_concepts (multiple-choice and numeric answers), and what each must be told.

The answers are values the judge reads from the notebook and compares with its own key; the
written answers (m1, m2, m3) are marked by hand and lose nothing here.
"""

from tests.grading.catalogues import Catalogue, Mistake

CATALOGUE = Catalogue(
    "01_concepts",
    {
        "q1_pruning": Mistake(
            "q1: chooses (a), pruning, as the core goal of KD",
            (('q1_answer = "c"', 'q1_answer = "a"'),),
            {"test_q1": "q1_answer is not the best description"},
        ),
        "q1_not_a_letter": Mistake(
            "q1: the option's number instead of its letter",
            (('q1_answer = "c"', "q1_answer = 3"),),
            {"test_q1": "q1_answer must be a string such as 'a', got int 3"},
        ),
        "q2_teacher_not_first": Mistake(
            "q2: soft labels before the teacher is trained",
            (('q2_order = "BADCE"', 'q2_order = "ABDCE"'),),
            {"test_q2": "the teacher must be trained before"},
        ),
        "q2_step_before_loss": Mistake(
            "q2: the gradient step before the loss",
            (('q2_order = "BADCE"', 'q2_order = "BACDE"'),),
            {"test_q2": "the loss before the gradient step"},
        ),
        "q3_sharper": Mistake(
            "q3a: thinks a higher temperature makes the distribution more peaked",
            (('q3_answer = "d"', 'q3_answer = "b"'),),
            {"test_q3_choice": "keeps their order and flattens the distribution"},
        ),
        "entropy_in_bits": Mistake(
            "q3b and q3c: the entropy in bits (log2) instead of nats",
            (
                ("q3_entropy = float(-(_p * np.log(_p)).sum())", "q3_entropy = float(-(_p * np.log2(_p)).sum())"),
                ("q3_entropy_limit = float(np.log(10))", "q3_entropy_limit = float(np.log2(10))"),
            ),
            {"test_q3_entropy": "in bits", "test_q3_entropy_limit": "in bits"},
        ),
        "entropy_without_temperature": Mistake(
            "q3b: the entropy of softmax(z), the logits not divided by T = 2",
            (("np.array([[2.0, 1.0, 0.0]]), 2.0)[0]", "np.array([[2.0, 1.0, 0.0]]), 1.0)[0]"),),
            {"test_q3_entropy": "the entropy at T = 1"},
        ),
        "entropy_limit_log_c_minus_one": Mistake(
            "q3c: log(C − 1) instead of log C",
            (("q3_entropy_limit = float(np.log(10))", "q3_entropy_limit = float(np.log(9))"),),
            {"test_q3_entropy_limit": "tends to the uniform distribution"},
        ),
        "scale_one_over_t": Mistake(
            "q3d: the gradients taken to shrink like 1/T (factor 20)",
            (("q3_scale = 20.0**2", "q3_scale = 20.0"),),
            {"test_q3_scale": "shrink like 1/T², not 1/T"},
        ),
        "scale_ratio_of_squares": Mistake(
            "q3d: (20 / 10)² = 4, as if the tuned run had no T² factor",
            (("q3_scale = 20.0**2", "q3_scale = (20.0 / 10.0) ** 2"),),
            {"test_q3_scale": "with the T² factor the gradient size does not depend on T"},
        ),
        "q4_student_wins": Mistake(
            "q4a: the student usually beats its teacher",
            (('q4_answer = "a"', 'q4_answer = "b"'),),
            {"test_q4_choice": "look again at the MNIST table"},
        ),
        "gap_remaining": Mistake(
            "q4b: the part of the gap that remains instead of the part closed",
            (("q4_gap_closed = (146 - 74) / (146 - 67)", "q4_gap_closed = (74 - 67) / (146 - 67)"),),
            {"test_q4_gap": "the part of the gap that remains"},
        ),
        "gap_as_percentage": Mistake(
            "q4b: a percentage instead of a fraction",
            (("q4_gap_closed = (146 - 74) / (146 - 67)", "q4_gap_closed = 100 * (146 - 74) / (146 - 67)"),),
            {"test_q4_gap": "Give a fraction between 0 and 1, not a percentage."},
        ),
        "q5_two_wrong": Mistake(
            "q5a: the student beats the teacher (d) and the test set is a good transfer set (g)",
            (('"d": False,', '"d": True,'), ('"g": False,', '"g": True,')),
            {"test_q5": "2 of the 8 statements in q5_answers are answered wrongly"},
        ),
        "q5_strings": Mistake(
            "q5a: the answers as strings 'True'/'False'",
            (('"a": True,', '"a": "True",'),),
            {"test_q5": "every value of q5_answers must be True or False; not so for ['a']"},
        ),
        "ratio_parameters_only": Mistake(
            "q6a: counts the parameters only, not the bytes per weight",
            (("q6_ratio = (25e6 * 4) / (2.5e6 * 1)", "q6_ratio = 25e6 / 2.5e6"),),
            {"test_q6": "counts only the parameters"},
        ),
        "ratio_quantisation_only": Mistake(
            "q6a: counts the quantisation only",
            (("q6_ratio = (25e6 * 4) / (2.5e6 * 1)", "q6_ratio = 4 / 1"),),
            {"test_q6": "counts only the quantisation"},
        ),
        "reads_the_drill_bank": Mistake(
            "q3b read from the drill bank (kdlib.drill and its questions.yaml) instead of computed: hidden when graded",
            (
                (
                    "q3_entropy = float(-(_p * np.log(_p)).sum())",
                    "from kdlib.drill import load_bank\n"
                    "q3_entropy = next(q for q in load_bank() if q.id == 'temperature-entropy').check.answer",
                ),
            ),
            shows={"q3": "kdlib.drill is not available while a notebook is graded"},
            lost={
                # the cell stops at the failed import: q3_entropy and everything after it stay undefined
                "test_q3_entropy": "q3_entropy is not defined",
                "test_q3_entropy_limit": "q3_entropy_limit is not defined",
                "test_q3_scale": "q3_scale is not defined",
            },
        ),
    },
    # the traditional-ML experiment (about 10 s, ungraded) and its plot
    drop=("trad-demo", "trad-plot"),
    cell_timeout=60,
    memory_mb=2048,
)
