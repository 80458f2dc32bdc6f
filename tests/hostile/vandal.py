"""A correct notebook whose last cell tries to damage the course and read what it should not.

It knows the course's absolute path and the other students' names (a real attacker could
guess them) and tries: delete or overwrite gradebook.db, the solutions, nbgrader_config.py,
other students' submissions and a file outside the course; walk the whole file system for a
gradebook or a notebook (the one being graded holds the hidden tests); read /etc/shadow and
/root; reach the network; escape with a new user namespace.
It prints what it managed; the test checks it managed nothing and nothing changed.

Outside kd grade's sandbox it only attacks paths in the test's temporary folders, so grading it
by mistake with plain nbgrader damages nothing else.
"""

from tests.hostile import Case, add_cell

VANDAL = r"""
import json, os, shutil, socket, subprocess, sys
COURSE, CANARY, OTHERS = @COURSE@, @CANARY@, @OTHERS@
saw, did = [], []

def attempt(label, action):
    try:
        action()
        did.append(label)
    except BaseException:
        pass

def overwrite(path):
    with open(path, "w") as fh:
        fh.write("pwned")

targets = [os.path.join(COURSE, "gradebook.db"), os.path.join(COURSE, "solutions"),
           os.path.join(COURSE, "nbgrader_config.py"), CANARY]
targets += [os.path.join(COURSE, "submitted", s) for s in OTHERS]
saw += [p for p in targets if os.path.exists(p)]
for path in targets:
    attempt("remove " + path, lambda: os.remove(path))
    attempt("rmtree " + path, lambda: shutil.rmtree(path))
    attempt("overwrite " + path, lambda: overwrite(path))
# relative guesses, and the root folder; outside kd grade's sandbox (cwd /submission) only paths
# in the test's temporary folder are tried
sandboxed = os.getcwd() == "/submission"
for guess in ["../gradebook.db", "../../gradebook.db", "../../../gradebook.db", "../../../../gradebook.db",
              "/gradebook.db", os.path.join(os.path.dirname(CANARY), "new_file.txt")]:
    if sandboxed or os.path.abspath(guess).startswith(os.path.dirname(COURSE)):
        attempt("write " + guess, lambda: overwrite(guess))
# everything but the system, the Python install and its own scratch folders (/tmp, the cwd)
own = {"/proc", "/sys", "/usr", "/tmp", os.getcwd(), sys.prefix, sys.base_prefix}
for root, dirs, files in os.walk("/"):
    dirs[:] = [d for d in dirs if os.path.join(root, d) not in own]
    for name in files + dirs:
        if "gradebook" in name or name in ("submitted", "autograded", "solutions", "nbgrader_config.py"):
            saw.append(os.path.join(root, name))
        if name.endswith(".ipynb"):  # the notebook being graded holds the hidden tests
            saw.append(os.path.join(root, name))
saw += [name for name in os.listdir(".") if name.endswith(".ipynb")]
for secret in ["/etc/shadow", "/root/.bash_history", "/root/.ssh", "/home"]:
    if os.path.exists(secret):
        saw.append(secret)
saw += [k for k, v in os.environ.items() if COURSE in v or "gradebook" in v]
attempt("network", lambda: socket.create_connection(("1.1.1.1", 53), timeout=3))
attempt("dns", lambda: socket.getaddrinfo("pypi.org", 443))
attempt("user namespace", lambda: subprocess.run(["unshare", "-U", "true"], check=True, capture_output=True))
print("VANDAL SAW:", json.dumps(saw))
print("VANDAL DID:", json.dumps(did))
"""


def make(nb, ctx):
    code = (VANDAL.replace("@COURSE@", repr(str(ctx.course))).replace("@CANARY@", repr(str(ctx.canary)))
            .replace("@OTHERS@", repr(list(ctx.students))))
    add_cell(nb, code)


CASE = Case(__doc__, make)
