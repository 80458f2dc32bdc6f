"""Observations of the learner's Keras ``Distiller`` for the judge of 06 (runs in the graded kernel).

Each scenario builds models and data with the notebook's own seeded helpers (``small_batch``,
``make_models``, ``bn_teacher``, ``copy_model``, ``SpySGD`` from the locked setup cell), runs
the learner's ``Distiller`` (``fit`` or one ``train_step``) and returns what happened: logs,
weights before and after, the variables handed to the optimiser. No expected values here: the
judge recomputes the reference step itself from the initial weights returned.
"""

from __future__ import annotations

import numpy as np


def _get(ns, name: str):
    """The notebook's object ``name``; NameError (as the notebook would raise) if it was never defined."""
    if name not in ns:
        raise NameError(f"{name} is not defined: run the cell that defines it (and keep its name)")
    return ns[name]


def _weights(variables) -> list:
    return [np.array(v.numpy(), copy=True) for v in variables]


def _logs(logs):
    """The logs train_step returned, as plain data (a dict of numbers/arrays if it is one)."""
    if isinstance(logs, dict):
        return {str(k): v for k, v in logs.items()}
    return logs


def fit_run(ns, *, seed, n, data_seed, model_seed, temperature, alpha, lr, batch_size, epochs, shuffle=True):
    """fit() the learner's Distiller (Adam) on a small batch: its history and evaluate()'s accuracy."""
    import keras

    keras.utils.set_random_seed(seed)
    x, y = _get(ns, "small_batch")(n, seed=data_seed)
    teacher, student = _get(ns, "make_models")(seed=model_seed)
    distiller = _get(ns, "Distiller")(student, teacher, temperature=temperature, alpha=alpha)
    distiller.compile(optimizer=keras.optimizers.Adam(lr))
    history = distiller.fit(x, y, batch_size=batch_size, epochs=epochs, shuffle=shuffle, verbose=0).history
    out = {"history": {str(k): list(v) for k, v in history.items()}, "accuracy": None}
    result = distiller.evaluate(x, y, verbose=0, return_dict=True)
    out["accuracy"] = result.get("accuracy") if isinstance(result, dict) else None
    return out


def frozen_run(
    ns, *, seed, n, model_seed, temperature=None, alpha=None, optimizer="spy", lr=0.1, batch_size=64, epochs=1
):
    """fit() with a batch-norm/dropout teacher: its weights before and after, what the optimiser updated."""
    import keras

    keras.utils.set_random_seed(seed)
    x, y = _get(ns, "small_batch")(n, seed=seed)
    teacher = _get(ns, "bn_teacher")(seed=seed)
    _, student = _get(ns, "make_models")(seed=model_seed)
    before = _weights(teacher.weights)
    kwargs = {k: v for k, v in (("temperature", temperature), ("alpha", alpha)) if v is not None}
    distiller = _get(ns, "Distiller")(student, teacher, **kwargs)
    opt = _get(ns, "SpySGD")(learning_rate=lr) if optimizer == "spy" else keras.optimizers.Adam(lr)
    distiller.compile(optimizer=opt)
    distiller.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=0)
    return {
        "teacher_before": before,
        "teacher_after": _weights(teacher.weights),
        "teacher_paths": [w.path for w in teacher.weights],
        "student_trainable": sorted(v.path for v in student.trainable_variables),
        "teacher_trainable": sorted(v.path for v in teacher.trainable_variables),
        "updated": getattr(distiller.optimizer, "updated", None),
    }


def one_step(ns, *, data_seed, n, model_seed, temperature, alpha, lr, teacher_seed=None, twin=False):
    """One train_step with plain SGD on one batch: the weights before/after and the logs.

    The teacher is make_models(model_seed)'s, or make_models(teacher_seed)'s, or (twin) a copy
    of the student.
    """
    import keras
    import tensorflow as tf

    x, y = _get(ns, "small_batch")(n, seed=data_seed)
    teacher, student = _get(ns, "make_models")(seed=model_seed)
    if twin:
        teacher = _get(ns, "copy_model")(student)
    elif teacher_seed is not None:
        teacher, _ = _get(ns, "make_models")(seed=teacher_seed)
    student_before, teacher_before = _weights(student.weights), _weights(teacher.weights)
    distiller = _get(ns, "Distiller")(student, teacher, temperature=temperature, alpha=alpha)
    distiller.compile(optimizer=keras.optimizers.SGD(learning_rate=lr))
    logs = distiller.train_step((tf.constant(x), tf.constant(y)))
    return {
        "x": x,
        "y": y,
        "student_before": student_before,
        "teacher_weights": teacher_before,
        "student_after": _weights(student.weights),
        "teacher_after": _weights(teacher.weights),
        "logs": _logs(logs),
    }
