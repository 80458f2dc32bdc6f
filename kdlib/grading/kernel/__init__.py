"""The sandbox side of grading: the only grading code a student's kernel imports (the probe)."""
