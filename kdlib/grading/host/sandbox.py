"""Jupyter kernels inside a bubblewrap sandbox, for grading untrusted notebooks.

:class:`SandboxKernelManager` is a jupyter_client kernel manager whose kernel runs under
``bwrap`` (https://github.com/containers/bubblewrap, Debian package ``bubblewrap``):

- new user, PID, IPC, UTS, cgroup and network namespaces; no network at all; all capabilities
  dropped; no nested user namespaces; killed when the grading process dies;
- a file system made of read-only binds of exactly what Python needs (``/usr``, the Python
  install, the virtual environment, the ``kdlib`` package) and nothing else: no home folder, no
  course folder, no gradebook, no other student's files;
- writable: size-limited in-memory ``/tmp``, ``/dev/shm`` and working directory (which starts
  as a copy of the student's own files), plus the folder of the kernel's unix sockets (the
  kernel talks over ``ipc``, not TCP, because it has no network); everything else read-only;
- limits per process: address space (memory), file size, no core dumps;
- an environment built from scratch (the instructor's variables, tokens included, stay out).

kdlib.grading.host.worker uses it; it does not depend on nbgrader.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import stat
import subprocess
import sys
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.connect import channel_socket_types
from jupyter_client.manager import AsyncKernelManager
from traitlets import Dict, Integer, List, Unicode

__all__ = [
    "INSTALL_HINT",
    "Limits",
    "SandboxError",
    "SandboxKernelClient",
    "SandboxKernelManager",
    "bwrap_command",
    "check_sandbox",
    "data_view",
    "find_bwrap",
    "kill_all",
]

#: what to tell an instructor whose machine has no bubblewrap
INSTALL_HINT = "sudo apt-get install bubblewrap   (Debian/Ubuntu; `apt-get install -y bubblewrap` as root)"
#: the kernel's working directory inside the sandbox (a copy of the student's files)
WORKDIR = "/submission"
#: where the student's files (read-only) and the host's matplotlib cache appear in the sandbox
INBOX, MPL_CACHE = "/kd/in", "/kd/mpl"
#: where the judge's requests for the probes appear in the sandbox (read-only)
PROBE_DIR = "/kd/probe"
#: where the generated arrays of the embedded data sets appear in the sandbox (read-only; KDLIB_CACHE)
DATA_DIR = "/kd/data"
#: user and group ids inside the sandbox ("nobody")
SANDBOX_UID = 65534
#: environment variables passed from the grading process to the kernel, if set
PASS_ENV = ("LANG", "LC_ALL", "TZ", "PYTHONHASHSEED", "TF_CPP_MIN_LOG_LEVEL", "TF_ENABLE_ONEDNN_OPTS")
#: /etc entries the dynamic linker, time zones and fonts need (nothing secret)
ETC_FILES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "fonts", "mime.types", "nsswitch.conf")
#: top-level system folders: bound read-only, or re-created as the same symlinks (merged /usr)
SYSTEM_DIRS = ("usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32")

# Copy the student's files into the in-memory working directory, then become the kernel.
_START = (
    f"cp -R {INBOX}/. {WORKDIR}/ 2>/dev/null; "
    f'if [ -d {MPL_CACHE} ]; then mkdir -p "$MPLCONFIGDIR" && cp -R {MPL_CACHE}/. "$MPLCONFIGDIR"/ 2>/dev/null; fi; '
    f'cd {WORKDIR} && exec "$@"'
)


class SandboxError(RuntimeError):
    """The sandbox cannot run here: bubblewrap is missing or does not work on this machine."""


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandboxed kernel."""

    #: address space of each process (RLIMIT_AS), MiB; TensorFlow alone maps about 3 GiB
    memory_mb: int = 6144
    #: largest file a process may write (RLIMIT_FSIZE), MiB
    file_mb: int = 256
    #: size of each in-memory writable folder (/tmp, /dev/shm, the working directory), MiB
    tmp_mb: int = 512
    #: OMP/MKL/OpenBLAS threads per kernel (1 when several kernels share the cores)
    threads: int = 1


def find_bwrap() -> str:
    """Path of the ``bwrap`` executable; :class:`SandboxError` with the install command if missing."""
    path = shutil.which("bwrap") or next(
        (p for p in ("/usr/bin/bwrap", "/usr/local/bin/bwrap") if os.access(p, os.X_OK)), None
    )
    if path is None:
        raise SandboxError(
            "bubblewrap (bwrap) is not installed. kd grade runs every student's notebook inside a "
            f"bubblewrap sandbox and will not grade without it. Install it with:\n    {INSTALL_HINT}"
        )
    return path


def _kdlib_dir() -> Path:
    return Path(__file__).resolve().parents[2]


def read_only_paths(extra: tuple[str | os.PathLike, ...] = ()) -> list[Path]:
    """Host folders the kernel sees read-only: the Python install, the environment, kdlib, ``extra``."""
    paths = [Path(sys.base_prefix), Path(sys.prefix), _kdlib_dir(), *(Path(p) for p in extra)]
    # a venv's python is a symlink into the base install: bind where it really lives too
    paths.append(Path(os.path.realpath(sys.executable)).parent.parent)
    out: list[Path] = []
    for p in paths:
        p = Path(os.path.abspath(p))
        if p.exists() and not any(p == q or q in p.parents for q in out):
            out = [q for q in out if p not in q.parents] + [p]
    return out


def _system_args() -> list[str]:
    args: list[str] = []
    for name in SYSTEM_DIRS:
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    for name in ETC_FILES:
        path = Path("/etc") / name
        if path.exists():
            args += ["--ro-bind", str(path), str(path)]
    return args


def kernel_env(limits: Limits, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The kernel's whole environment (nothing else from the grading process gets in)."""
    home = "/tmp/home"
    env = {
        "PATH": f"{sys.prefix}/bin:/usr/local/bin:/usr/bin:/bin",
        "HOME": home,
        "USER": "student",
        "LOGNAME": "student",
        "MPLCONFIGDIR": f"{home}/.config/matplotlib",
        "KERAS_HOME": f"{home}/.keras",
        "MPLBACKEND": "agg",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[var] = str(max(1, limits.threads))
    env.update({k: os.environ[k] for k in PASS_ENV if k in os.environ})
    env.update(extra or {})
    return env


def bwrap_command(
    argv: list[str],
    *,
    limits: Limits,
    inbox: str | os.PathLike | None = None,
    ipc_dir: str | os.PathLike | None = None,
    env: dict[str, str] | None = None,
    extra_ro: tuple[str | os.PathLike, ...] = (),
    probe_dir: str | os.PathLike | None = None,
    kdlib_view: str | os.PathLike | None = None,
    data_dir: str | os.PathLike | None = None,
) -> list[str]:
    """``argv`` wrapped in bwrap: read-only system and Python, writable in-memory /tmp and workdir.

    ``inbox`` (read-only) is copied into the working directory :data:`WORKDIR` before ``argv``
    starts; ``ipc_dir`` is bound read-write at its own path (the kernel's unix sockets);
    ``probe_dir`` appears read-only at :data:`PROBE_DIR`; ``kdlib_view`` (a copy of kdlib with
    the answer key stubbed out, :func:`kdlib.grading.answer_key.kdlib_view`) is shown in place
    of the real kdlib package; ``data_dir`` (:func:`data_view`) appears read-only at :data:`DATA_DIR`.
    """
    mb = 1024 * 1024
    args = [
        find_bwrap(),
        "--unshare-all",  # user, ipc, pid, net, uts, cgroup: no network at all
        "--unshare-user",
        "--uid",
        str(SANDBOX_UID),
        "--gid",
        str(SANDBOX_UID),
        "--disable-userns",  # no nested user namespaces (fewer kernel interfaces to attack)
        "--cap-drop",
        "ALL",
        "--die-with-parent",
        "--hostname",
        "sandbox",
        *_system_args(),
    ]
    args += ["--proc", "/proc", "--dev", "/dev"]
    for folder in ("/tmp", WORKDIR, "/dev/shm"):  # the only writable places, each size-limited
        args += ["--size", str(limits.tmp_mb * mb), "--tmpfs", folder]
    # After the tmpfs mounts, so that a venv or checkout living under /tmp (as in CI) stays visible.
    for path in read_only_paths(extra_ro):
        args += ["--ro-bind", str(path), str(path)]
    if kdlib_view is not None:  # after the binds above: it hides the real package wherever it lives
        args += ["--ro-bind", str(kdlib_view), str(_kdlib_dir())]
    if probe_dir is not None:
        args += ["--ro-bind", str(probe_dir), PROBE_DIR]
    if data_dir is not None:
        args += ["--ro-bind", str(data_dir), DATA_DIR]
    if inbox is not None:
        args += ["--ro-bind", str(inbox), INBOX]
    mpl = os.environ.get("MPLCONFIGDIR")
    if mpl and Path(mpl).is_dir():
        args += ["--ro-bind", mpl, MPL_CACHE]
    if ipc_dir is not None:
        args += ["--bind", str(ipc_dir), str(ipc_dir)]
    # bwrap's own root and /dev are (unlimited) tmpfs: make them read-only once everything is mounted
    args += ["--remount-ro", "/dev", "--remount-ro", "/", "--chdir", "/", "--clearenv"]
    for key, value in (env if env is not None else kernel_env(limits)).items():
        args += ["--setenv", key, value]
    return [*args, "--", "/bin/sh", "-c", _START, "kd-kernel", *argv]


def _rlimits(limits: Limits):
    """A ``preexec_fn`` setting the limits in the child before bwrap starts (inherited by all)."""
    mb = 1024 * 1024
    memory, fsize = limits.memory_mb * mb, limits.file_mb * mb

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return apply


def check_sandbox(limits: Limits | None = None, timeout: float = 120) -> None:
    """Start Python with ipykernel in the sandbox once; :class:`SandboxError` saying why if it fails."""
    limits = limits or Limits()
    code = (
        "import ipykernel, socket, os\n"
        "try:\n"
        "    socket.create_connection(('1.1.1.1', 53), timeout=2)\n"
        "    print('NETWORK')\n"
        "except OSError:\n"
        "    pass\n"
        "print('OK', os.getuid())\n"
    )
    cmd = bwrap_command([sys.executable, "-c", code], limits=limits)
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, preexec_fn=_rlimits(limits), check=False
        )
    except subprocess.TimeoutExpired as err:
        raise SandboxError(f"the sandbox did not start within {timeout:g} s") from err
    out = proc.stdout.split()
    if proc.returncode != 0 or "OK" not in out:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-8:])
        raise SandboxError(
            f"bubblewrap is installed but the sandbox does not start (exit {proc.returncode}):\n{tail}\n"
            "bwrap needs user namespaces: run as root, or enable them for users "
            "(sysctl kernel.unprivileged_userns_clone=1; on Ubuntu 24.04 also "
            "kernel.apparmor_restrict_unprivileged_userns=0 or an AppArmor profile for bwrap)."
        )
    if "NETWORK" in out:
        raise SandboxError("the sandbox reached the network: bwrap --unshare-net did not take effect")


# --- kernel manager --------------------------------------------------------------------------

_LIVE: weakref.WeakSet[SandboxKernelManager] = weakref.WeakSet()
_LIVE_LOCK = threading.Lock()


def kill_all() -> int:
    """SIGKILL every sandboxed kernel this process started that is still running; return how many."""
    with _LIVE_LOCK:
        managers = list(_LIVE)
    killed = 0
    for km in managers:
        proc = getattr(km.provisioner, "process", None) if km.provisioner else None
        if proc is not None and proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                proc.kill()
            killed += 1
    return killed


class SandboxKernelClient(AsyncKernelClient):
    """A kernel client that drops (disconnects) any single message larger than the manager's cap."""

    def _create_connected_socket(self, channel: str, identity: bytes | None = None):  # type: ignore[override]
        import zmq

        sock = self.context.socket(channel_socket_types[channel])
        sock.linger = 1000
        if identity:
            sock.identity = identity
        cap = int(getattr(self.parent, "max_message_bytes", 0) or 0)
        if cap > 0:
            sock.setsockopt(zmq.MAXMSGSIZE, cap)
        sock.connect(self._make_url(channel))
        return sock


#: the generated arrays a graded kernel may load (kdlib.data's cache files); nothing else is shown
DATA_FILES = ("mnist1d-*.npz",)
#: a data file larger than this is not shown to kernels (they would generate it themselves)
MAX_DATA_FILE_BYTES = 200_000_000


def data_view(dest: str | os.PathLike) -> Path:
    """A folder with the generated arrays of the embedded data sets, for kernels to read (``dest``).

    MNIST-1D is generated, not downloaded: ≈2–4 s of CPU per kernel that loads it, and a
    sandboxed kernel has no cache of its own (its home is an empty in-memory folder). The
    grading process makes the default split once (kdlib's own cache, once per machine) and
    copies the cache files — public data, no answers — into ``dest``; kernels see it read-only
    at :data:`DATA_DIR` through ``KDLIB_CACHE``. Best effort: whatever fails, kernels generate.
    """
    from kdlib import data

    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    try:
        data.load_dataset("mnist1d")  # writes the cache entry if this machine has none yet
    except Exception:  # a broken generator must not stop grading: the kernels will say what fails
        return dest
    for pattern in DATA_FILES:
        for path in sorted(data.cache_dir().glob(pattern)):
            st = os.lstat(path)
            if stat.S_ISREG(st.st_mode) and st.st_size <= MAX_DATA_FILE_BYTES:
                shutil.copyfile(path, dest / path.name)
    return dest


class SandboxKernelManager(AsyncKernelManager):
    """An AsyncKernelManager whose kernel runs in bubblewrap and talks over unix sockets.

    Configure ``ipc_dir`` (an empty folder, short path: unix socket paths are limited to 107
    bytes); the kernel's working directory starts as a copy of the ``cwd`` nbclient passes.
    """

    ipc_dir = Unicode("", config=True, help="folder for the connection file and the unix sockets")
    memory_mb = Integer(Limits.memory_mb, config=True, help="address-space limit per process, MiB")
    file_mb = Integer(Limits.file_mb, config=True, help="file-size limit, MiB")
    tmp_mb = Integer(Limits.tmp_mb, config=True, help="size of the in-memory /tmp and working directory, MiB")
    threads = Integer(Limits.threads, config=True, help="BLAS/OpenMP threads of the kernel")
    max_message_bytes = Integer(0, config=True, help="largest kernel message accepted (0: no cap)")
    extra_env = Dict(config=True, help="more environment variables for the kernel")
    extra_ro = List(Unicode(), config=True, help="more host folders the kernel may read")
    probe_dir = Unicode("", config=True, help="host folder of the judge's requests, seen at /kd/probe")
    kdlib_view = Unicode("", config=True, help="a copy of kdlib shown in place of the real one")
    data_dir = Unicode("", config=True, help="host folder of generated data-set arrays, seen at /kd/data")
    cgroup = Unicode("", config=True, help="cgroup spec for the whole sandbox (kdlib.grading.host.cgroups)")
    log_file = Unicode("", config=True, help="where the kernel's own stdout/stderr go (default: discarded)")

    client_class = Unicode("kdlib.grading.host.sandbox.SandboxKernelClient")  # type: ignore[assignment]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not self.ipc_dir:
            raise SandboxError("SandboxKernelManager needs ipc_dir")
        os.makedirs(self.ipc_dir, exist_ok=True)
        self.transport = "ipc"
        self.ip = os.path.join(self.ipc_dir, "k")
        self.connection_file = os.path.join(self.ipc_dir, "kernel.json")
        with _LIVE_LOCK:
            _LIVE.add(self)

    @property
    def limits(self) -> Limits:
        """The limits this manager applies."""
        return Limits(self.memory_mb, self.file_mb, self.tmp_mb, self.threads)

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        # Signals cannot reach the kernel through bwrap (SIGINT would kill bwrap itself):
        # interrupt with a message on the control channel (ipykernel supports it).
        if self.kernel_spec is not None:
            self.kernel_spec.interrupt_mode = "message"
        inbox = self._inbox(kw.pop("cwd", None))
        extra = {str(k): str(v) for k, v in self.extra_env.items()}
        if self.data_dir:
            extra.setdefault("KDLIB_CACHE", DATA_DIR)
        env = kernel_env(self.limits, extra)
        cmd = bwrap_command(
            list(kernel_cmd),
            limits=self.limits,
            inbox=inbox,
            ipc_dir=self.ipc_dir,
            env=env,
            extra_ro=tuple(self.extra_ro),
            probe_dir=self.probe_dir or None,
            kdlib_view=self.kdlib_view or None,
            data_dir=self.data_dir or None,
        )
        if self.cgroup:
            from kdlib.grading.host import cgroups

            cmd = cgroups.wrap(self.cgroup, cmd)
        out = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL  # noqa: SIM115
        kw.update(
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
            cwd=self.ipc_dir,
            stdout=out,
            stderr=out,
            preexec_fn=_rlimits(self.limits),
        )
        try:
            await super()._async_launch_kernel(cmd, **kw)
        finally:
            if out is not subprocess.DEVNULL:
                out.close()

    def _inbox(self, cwd: str | None) -> str | None:
        """A copy of the files in ``cwd`` for the kernel: regular files only, no notebooks."""
        if not cwd or not os.path.isdir(cwd):
            return None
        inbox = os.path.join(os.path.dirname(os.path.abspath(self.ipc_dir)), "inbox")
        shutil.rmtree(inbox, ignore_errors=True)
        for root, dirs, files in os.walk(cwd, followlinks=False):
            rel = os.path.relpath(root, cwd)
            dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(root, d))]
            os.makedirs(os.path.join(inbox, rel), exist_ok=True)
            for name in files:
                path = os.path.join(root, name)
                if name.endswith(".ipynb") or os.path.islink(path) or not os.path.isfile(path):
                    continue
                shutil.copyfile(path, os.path.join(inbox, rel, name))
        return inbox

    @property
    def exit_status(self) -> int | None:
        """bwrap's exit status once the kernel has ended (128 + signal number if it was killed)."""
        proc = getattr(self.provisioner, "process", None) if self.provisioner else None
        if proc is None:
            return None
        code = proc.poll()
        return 128 - code if code is not None and code < 0 else code
