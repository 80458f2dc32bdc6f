"""A student folder name that would forge a naive grades CSV: "mallory,,,,18.0,0.0,18.0,18.0"
submits the untouched notebook (0 points). Written without quoting (as nbgrader's
CsvExportPlugin does), the commas would shift the columns and the row would read 18 points; a
newline would add whole rows. kd grade writes its CSV files with the csv module (quoted fields):
checked by test_grades_csv_matches_the_report, for out/grades/<assignment>.csv and its Canvas
import.
"""

from tests.grading.hostile import Case

NAME = "mallory,,,,18.0,0.0,18.0,18.0"


def make(nb, ctx):
    return nb


CASE = Case(__doc__, make, base="untouched", relation="zero", student=NAME)
