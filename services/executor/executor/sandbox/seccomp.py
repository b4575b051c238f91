"""The seccomp filter of the bwrap backend: an ALLOWLIST built with libseccomp (the ``pyseccomp`` binding).

In the spirit of Docker's default profile: every system call that is not listed below answers EPERM. What user code
needs (files in its scratch, memory, threads, time, signals within its own sandbox, pipes, sockets that can reach
nothing) is listed; what is left out includes

- process creation: ``fork``, ``vfork``, ``clone`` without ``CLONE_THREAD`` or with a namespace flag (``clone3``
  answers ENOSYS, so libc falls back to ``clone`` where the flags can be checked). Threads stay allowed: numpy, torch,
  spaCy and the Python ``threading`` module use them; a worker is one process with any number of threads, under one
  memory limit, so a fork bomb or a child that outlives a record cannot exist;
- io_uring (``io_uring_setup``/``_enter``/``_register``: the kernel interface behind a long run of privilege
  escalations), ``bpf``, ``perf_event_open``, the kernel keyrings (``keyctl``, ``add_key``, ``request_key``),
  ``userfaultfd``;
- mounts and namespaces (``mount``, ``umount2``, ``pivot_root``, ``chroot``, the new mount API, ``unshare``,
  ``setns``), ``ptrace`` and ``process_vm_readv``/``writev``, ``pidfd_getfd``, ``kcmp``;
- modules, ``kexec``, ``reboot``, swap, clock setting, ``acct``, quotas, ``syslog``, ``personality`` other than the
  default, ``socket(AF_VSOCK)``.

A system call of another ABI (x32, 32-bit) kills the process. Where libseccomp is missing the bwrap backend is
unusable (:class:`SeccompUnavailable`): the executor never runs user code without its filter.
"""

from __future__ import annotations

import errno
import os
from typing import Any

CLONE_THREAD = 0x00010000
# CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET (| TIME)
CLONE_NAMESPACES = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000 | 0x00000080
AF_VSOCK = 40

ALLOWED: tuple[str, ...] = (
    # files and folders (the sandbox's mounts decide what is there and what is writable)
    "access", "chdir", "chmod", "close", "close_range", "copy_file_range", "creat", "dup", "dup2", "dup3",
    "faccessat", "faccessat2", "fadvise64", "fallocate", "fchdir", "fchmod", "fchmodat", "fchown", "fchownat",
    "fcntl", "fdatasync", "fgetxattr", "flistxattr", "flock", "fremovexattr", "fsetxattr", "fstat", "fstatfs",
    "fsync", "ftruncate", "futimesat", "getcwd", "getdents", "getdents64", "getxattr", "inotify_add_watch",
    "inotify_init", "inotify_init1", "inotify_rm_watch", "lchown", "lgetxattr", "link", "linkat", "listxattr",
    "llistxattr", "lremovexattr", "lseek", "lsetxattr", "lstat", "mkdir", "mkdirat", "newfstatat", "open",
    "openat", "openat2", "pread64", "preadv", "preadv2", "pwrite64", "pwritev", "pwritev2", "read", "readahead",
    "readlink", "readlinkat", "readv", "removexattr", "rename", "renameat", "renameat2", "rmdir", "sendfile",
    "setxattr", "splice", "stat", "statfs", "statx", "symlink", "symlinkat", "sync", "sync_file_range", "syncfs",
    "tee", "truncate", "umask", "unlink", "unlinkat", "utime", "utimensat", "utimes", "vmsplice", "write",
    "writev", "chown",
    # memory
    "brk", "madvise", "membarrier", "memfd_create", "mincore", "mlock", "mlock2", "mlockall", "mmap", "mprotect",
    "mremap", "msync", "munlock", "munlockall", "munmap", "pkey_alloc", "pkey_free", "pkey_mprotect",
    "remap_file_pages", "get_mempolicy",
    # threads, scheduling, futexes (clone is allowed for threads only: see below)
    "arch_prctl", "exit", "exit_group", "futex", "futex_waitv", "get_robust_list", "set_robust_list",
    "get_thread_area", "set_thread_area", "set_tid_address", "gettid", "rseq", "sched_getaffinity",
    "sched_getattr", "sched_getparam", "sched_get_priority_max", "sched_get_priority_min", "sched_getscheduler",
    "sched_rr_get_interval", "sched_setaffinity", "sched_setattr", "sched_setparam", "sched_setscheduler",
    "sched_yield", "getcpu", "prctl", "seccomp", "landlock_add_rule", "landlock_create_ruleset",
    "landlock_restrict_self", "restart_syscall",
    # the worker's own process: ids, limits, the one exec of bwrap into Python
    "execve", "execveat", "capget", "capset", "getegid", "geteuid", "getgid", "getgroups", "getpgid", "getpgrp",
    "getpid", "getppid", "getpriority", "getresgid", "getresuid", "getrlimit", "getrusage", "getsid", "getuid",
    "prlimit64", "setfsgid", "setfsuid", "setgid", "setgroups", "setpgid", "setpriority", "setregid", "setresgid",
    "setresuid", "setreuid", "setrlimit", "setsid", "setuid", "uname", "sysinfo", "times", "getrandom",
    "ioprio_get", "ioprio_set", "wait4", "waitid",
    # time and timers
    "alarm", "clock_getres", "clock_gettime", "clock_nanosleep", "getitimer", "gettimeofday", "nanosleep",
    "setitimer", "time", "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime", "timer_settime",
    "timerfd_create", "timerfd_gettime", "timerfd_settime",
    # signals (the sandbox has its own pid namespace: nothing outside can be signalled)
    "kill", "tgkill", "tkill", "pause", "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo",
    "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait", "rt_tgsigqueueinfo", "sigaltstack", "signalfd",
    "signalfd4",
    # waiting on descriptors, pipes, events, classic AIO
    "epoll_create", "epoll_create1", "epoll_ctl", "epoll_pwait", "epoll_pwait2", "epoll_wait", "eventfd",
    "eventfd2", "pipe", "pipe2", "poll", "ppoll", "pselect6", "select", "ioctl", "io_cancel", "io_destroy",
    "io_getevents", "io_pgetevents", "io_setup", "io_submit",
    # sockets (the network namespace is empty: they reach nothing but each other)
    "accept", "accept4", "bind", "connect", "getpeername", "getsockname", "getsockopt", "listen", "recvfrom",
    "recvmmsg", "recvmsg", "sendmmsg", "sendmsg", "sendto", "setsockopt", "shutdown", "socketpair",
    # System V / POSIX IPC within the sandbox's own IPC namespace (multiprocessing's locks, shared memory)
    "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive", "mq_timedsend", "mq_unlink", "msgctl", "msgget",
    "msgrcv", "msgsnd", "semctl", "semget", "semop", "semtimedop", "shmat", "shmctl", "shmdt", "shmget",
)  # fmt: skip

# Never allowed, whatever the list above says (checked by a test): the calls the issue names and their relatives.
DENIED: tuple[str, ...] = (
    "fork", "vfork", "clone3", "io_uring_setup", "io_uring_enter", "io_uring_register", "bpf", "perf_event_open",
    "keyctl", "add_key", "request_key", "userfaultfd", "mount", "umount2", "pivot_root", "chroot", "fsopen",
    "fsmount", "fsconfig", "fspick", "move_mount", "open_tree", "mount_setattr", "unshare", "setns", "ptrace",
    "process_vm_readv", "process_vm_writev", "pidfd_getfd", "kcmp", "init_module", "finit_module",
    "delete_module", "kexec_load", "kexec_file_load", "reboot", "swapon", "swapoff", "acct", "quotactl",
    "syslog", "open_by_handle_at", "name_to_handle_at", "settimeofday", "clock_settime", "clock_adjtime",
    "adjtimex", "sethostname", "setdomainname", "iopl", "ioperm", "lookup_dcookie", "fanotify_init", "mknod",
    "mknodat", "memfd_secret", "process_madvise", "pidfd_open", "pidfd_send_signal", "vhangup", "modify_ldt",
)  # fmt: skip


class SeccompUnavailable(RuntimeError):
    """libseccomp (``libseccomp.so.2``, Debian package ``libseccomp2``) cannot be loaded or cannot build the filter."""


def _library() -> Any:
    try:
        import pyseccomp
    except (ImportError, RuntimeError, OSError) as exc:  # pyseccomp raises RuntimeError without libseccomp.so.2
        raise SeccompUnavailable(f"libseccomp cannot be loaded ({exc}); install it with `apt-get install libseccomp2`") from exc
    return pyseccomp


def build_filter() -> bytes:
    """The compiled BPF program for this machine's architecture (the allowlist above; EPERM for the rest)."""
    sc = _library()
    flt = sc.SyscallFilter(sc.ERRNO(errno.EPERM))
    try:
        flt.set_attr(sc.Attr.ACT_BADARCH, sc.KILL_PROCESS)
        native = sc.system_arch()
        for name in ALLOWED:
            number = sc.resolve_syscall(native, name)
            if number < 0:  # unknown to this libseccomp, or not a system call of this architecture
                continue
            flt.add_rule(sc.ALLOW, number)
        # Threads only: CLONE_THREAD set and no namespace flag. (s390 passes the flags as the second argument.)
        index = 1 if native in (getattr(sc.Arch, "S390", -1), getattr(sc.Arch, "S390X", -1)) else 0
        flt.add_rule(sc.ALLOW, "clone", sc.Arg(index, sc.MASKED_EQ, CLONE_THREAD | CLONE_NAMESPACES, CLONE_THREAD))
        flt.add_rule(sc.ALLOW, "socket", sc.Arg(0, sc.NE, AF_VSOCK))
        flt.add_rule(sc.ALLOW, "personality", sc.Arg(0, sc.EQ, 0))
        flt.add_rule(sc.ALLOW, "personality", sc.Arg(0, sc.EQ, 0xFFFFFFFF))  # a query of the current persona
        flt.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")  # libc falls back to clone, whose flags the rule above checks
        fd = os.memfd_create("refinery-seccomp-build", 0)
        try:
            with os.fdopen(fd, "w+b", closefd=False) as sink:
                flt.export_bpf(sink)
            os.lseek(fd, 0, os.SEEK_SET)
            chunks = []
            while chunk := os.read(fd, 65536):
                chunks.append(chunk)
            return b"".join(chunks)
        finally:
            os.close(fd)
    except OSError as exc:
        raise SeccompUnavailable(f"libseccomp could not build the sandbox's filter: {exc}") from exc


_PROGRAM: bytes | None = None


def program() -> bytes:
    """:func:`build_filter`, built once per process."""
    global _PROGRAM
    if _PROGRAM is None:
        _PROGRAM = build_filter()
    return _PROGRAM


def filter_fd() -> int:
    """A memfd holding the filter (offset 0), to pass to ``bwrap --seccomp``; raises :class:`SeccompUnavailable`."""
    data = program()
    fd = os.memfd_create("refinery-seccomp", 0)
    os.write(fd, data)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd
