"""The trusted side of grading: runs in the instructor's processes, never in a student's kernel."""
