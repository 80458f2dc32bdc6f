"""A correct notebook whose last cell tries to damage the course and read what it should not.

It knows the course's absolute path and the other students' names (a real attacker could
guess them) and tries: delete or overwrite gradebook.db, the solutions (with the judge),
nbgrader_config.py, other students' submissions and a canary file outside the course; write
into the probe folder; walk the whole file system for a gradebook, a judge or a notebook; read
/etc/shadow and /root; reach the network; escape with a new user namespace.
It prints what it managed; the test checks it managed nothing and nothing changed.

Outside kd grade's sandbox it only attacks paths in the test's temporary folders, so grading it
by mistake without the sandbox damages nothing else.
"""

from tests.grading.hostile import Case, add_cell

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
           os.path.join(COURSE, "solutions", "03_loss_torch", "judge.py"),
           os.path.join(COURSE, "nbgrader_config.py"), CANARY]
targets += [os.path.join(COURSE, "submitted", s) for s in OTHERS]
saw += [p for p in targets if os.path.exists(p)]
for path in targets:
    attempt("remove " + path, lambda: os.remove(path))
    attempt("rmtree " + path, lambda: shutil.rmtree(path))
    attempt("overwrite " + path, lambda: overwrite(path))
sandboxed = os.getcwd() == "/submission"
for guess in ["../gradebook.db", "../../gradebook.db", "../../../gradebook.db", "../../../../gradebook.db",
              "/gradebook.db", "/kd/probe/requests.json", "/kd/probe/new.txt",
              os.path.join(os.path.dirname(CANARY), "new_file.txt")]:
    if sandboxed or os.path.abspath(guess).startswith(os.path.dirname(COURSE)):
        attempt("write " + guess, lambda: overwrite(guess))
own = {"/proc", "/sys", "/usr", "/tmp", os.getcwd(), sys.prefix, sys.base_prefix}
for root, dirs, files in os.walk("/"):
    dirs[:] = [d for d in dirs if os.path.join(root, d) not in own]
    for name in files + dirs:
        course_like = name in ("submitted", "autograded", "solutions", "nbgrader_config.py")
        if ("gradebook" in name and not name.endswith(".py")) or course_like or name.endswith(".ipynb"):
            saw.append(os.path.join(root, name))
        if name == "judge.py":  # an assignment's judge (kdlib's own framework module is a stub when graded)
            try:
                with open(os.path.join(root, name), encoding="utf-8", errors="replace") as fh:
                    if "judge.check(" in fh.read():
                        saw.append(os.path.join(root, name))
            except OSError:
                pass
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
    code = (
        VANDAL.replace("@COURSE@", repr(str(ctx.course)))
        .replace("@CANARY@", repr(str(ctx.canary)))
        .replace("@OTHERS@", repr(list(ctx.students)))
    )
    add_cell(nb, code)


CASE = Case(__doc__, make)
