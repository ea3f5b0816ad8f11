// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The daemon's sandbox (docs/host.md, "Sandbox"): once its sockets are open
 * and the codec plugin is loaded and initialised, the daemon
 *   1. drops to an unprivileged user (--user NAME) when it runs as root,
 *   2. sets no_new_privs,
 *   3. installs a seccomp allow-list (libseccomp) of the system calls the
 *      daemon, libavcodec and GStreamer (threads, lazily loaded elements,
 *      eventfds, timerfds, memfd mappings of new memory tables) need.
 * A system call outside the list raises SIGSYS (SCMP_ACT_TRAP): the handler
 * writes its number to stderr and the daemon dies with exit status 159, so
 * a missing entry is diagnosable (scmp_sys_resolver NUMBER names it).
 */
#define _GNU_SOURCE
#include "sandbox.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"

#ifdef VV_HAVE_SECCOMP
#include <seccomp.h>
#endif

#define SIGSYS_EXIT 159

/*
 * Async-signal-safe: formats the number by hand, write(2), _exit(2). The
 * fault is the guest's or a codec's, never to be resumed.
 */
static void on_sigsys(int sig, siginfo_t *info, void *ctx)
{
	static const char head[] = "vhost-user-video error: seccomp: system call ";
	static const char tail[] = " is not in the sandbox's allow-list (scmp_sys_resolver "
				   "names it; --no-sandbox to debug)\n";
	char num[16];
	int n = info->si_syscall, len = 0;
	char digits[16];

	(void)sig;
	(void)ctx;
	if (n < 0)
		n = 0;
	do {
		digits[len++] = (char)('0' + n % 10);
		n /= 10;
	} while (n && len < (int)sizeof(digits));
	for (int i = 0; i < len; i++)
		num[i] = digits[len - 1 - i];
	if (write(STDERR_FILENO, head, sizeof(head) - 1) < 0 ||
	    write(STDERR_FILENO, num, (size_t)len) < 0 ||
	    write(STDERR_FILENO, tail, sizeof(tail) - 1) < 0)
		_exit(SIGSYS_EXIT);
	_exit(SIGSYS_EXIT);
}

static int drop_user(const char *user, const char *const *owned, unsigned int nowned)
{
	struct passwd *pw;

	if (getuid() != 0 && geteuid() != 0) {
		if (user)
			log_info("sandbox: not root, --user %s ignored", user);
		return 0;
	}
	if (!user) {
		log_warn("sandbox: running as root; --user NAME drops to an unprivileged user");
		return 0;
	}
	errno = 0;
	pw = getpwnam(user);
	if (!pw) {
		log_error("sandbox: no user '%s'%s%s", user, errno ? ": " : "",
			  errno ? strerror(errno) : "");
		return -1;
	}
	if (pw->pw_uid == 0) {
		log_error("sandbox: --user %s is root", user);
		return -1;
	}
	/* Our sockets stay removable by us (unlink at exit). */
	for (unsigned int i = 0; i < nowned; i++)
		if (owned[i] && chown(owned[i], pw->pw_uid, pw->pw_gid) < 0)
			log_warn("sandbox: chown %s: %s", owned[i], strerror(errno));
	if (setgroups(0, NULL) < 0 || setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0) {
		log_error("sandbox: cannot become %s: %s", user, strerror(errno));
		return -1;
	}
	if (setuid(0) == 0) {
		log_error("sandbox: still able to become root after dropping to %s", user);
		return -1;
	}
	log_info("sandbox: running as %s (uid %u, gid %u)", user, (unsigned int)pw->pw_uid,
		 (unsigned int)pw->pw_gid);
	return 0;
}

#ifdef VV_HAVE_SECCOMP
/*
 * What the daemon and the codec libraries call while serving. Grouped by
 * who needs them; docs/host.md lists the same groups.
 */
static const int allowed[] = {
	/* memory: heaps, thread stacks, guest memory tables, views */
	SCMP_SYS(brk), SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap),
	SCMP_SYS(mprotect), SCMP_SYS(madvise), SCMP_SYS(mlock), SCMP_SYS(munlock),
	SCMP_SYS(membarrier),
	/* fds: the front-ends' fds, eventfds, kick/call fds, logs */
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
	SCMP_SYS(pread64), SCMP_SYS(pwrite64), SCMP_SYS(close), SCMP_SYS(dup),
	SCMP_SYS(dup3), SCMP_SYS(fcntl), SCMP_SYS(lseek), SCMP_SYS(fstat),
	SCMP_SYS(newfstatat), SCMP_SYS(statx), SCMP_SYS(fstatfs), SCMP_SYS(statfs),
	SCMP_SYS(ioctl), SCMP_SYS(eventfd2), SCMP_SYS(pipe2),
	SCMP_SYS(timerfd_create), SCMP_SYS(timerfd_settime), SCMP_SYS(timerfd_gettime),
	/* the vhost-user sockets (already open: accept, messages with fds) */
	SCMP_SYS(accept4), SCMP_SYS(recvmsg), SCMP_SYS(sendmsg), SCMP_SYS(recvfrom),
	SCMP_SYS(sendto), SCMP_SYS(shutdown), SCMP_SYS(getsockopt), SCMP_SYS(setsockopt),
	SCMP_SYS(getsockname), SCMP_SYS(getpeername), SCMP_SYS(socketpair),
	/* the poll loop and the codecs' waits */
	SCMP_SYS(ppoll), SCMP_SYS(poll), SCMP_SYS(select), SCMP_SYS(pselect6),
	SCMP_SYS(epoll_create1), SCMP_SYS(epoll_ctl), SCMP_SYS(epoll_wait),
	SCMP_SYS(epoll_pwait), SCMP_SYS(futex), SCMP_SYS(nanosleep),
	SCMP_SYS(clock_nanosleep), SCMP_SYS(clock_gettime), SCMP_SYS(clock_getres),
	SCMP_SYS(gettimeofday), SCMP_SYS(sched_yield),
	/* threads: libavcodec frame threads, the ffmpeg worker, GStreamer */
	SCMP_SYS(clone), SCMP_SYS(clone3), SCMP_SYS(set_robust_list),
	SCMP_SYS(get_robust_list), SCMP_SYS(rseq), SCMP_SYS(set_tid_address),
	SCMP_SYS(gettid), SCMP_SYS(getpid), SCMP_SYS(tgkill), SCMP_SYS(exit),
	SCMP_SYS(exit_group), SCMP_SYS(sched_getaffinity), SCMP_SYS(sched_setaffinity),
	SCMP_SYS(sched_getparam), SCMP_SYS(sched_setscheduler),
	SCMP_SYS(sched_getscheduler), SCMP_SYS(sched_get_priority_min),
	SCMP_SYS(sched_get_priority_max), SCMP_SYS(getpriority), SCMP_SYS(setpriority),
	SCMP_SYS(prctl), SCMP_SYS(arch_prctl), SCMP_SYS(getcpu),
	/* GLib copies the creator's scheduling into new threads; x265's NUMA */
	SCMP_SYS(sched_getattr), SCMP_SYS(sched_setattr), SCMP_SYS(get_mempolicy),
	SCMP_SYS(set_mempolicy), SCMP_SYS(mbind),
	/* ORC (GStreamer's SIMD JIT) may back its code with a temporary file */
	SCMP_SYS(umask), SCMP_SYS(ftruncate), SCMP_SYS(fallocate),
	/* signals: SIGTERM/SIGINT in ppoll, sanitizers' and GLib's handlers */
	SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn),
	SCMP_SYS(sigaltstack), SCMP_SYS(rt_sigtimedwait),
	/* lazily loaded GStreamer elements and their libraries (read-only use) */
	SCMP_SYS(openat), SCMP_SYS(open), SCMP_SYS(access), SCMP_SYS(faccessat),
	SCMP_SYS(faccessat2), SCMP_SYS(readlink), SCMP_SYS(readlinkat),
	SCMP_SYS(getdents64), SCMP_SYS(getcwd), SCMP_SYS(stat), SCMP_SYS(lstat),
	/* identity and system facts the libraries ask */
	SCMP_SYS(getuid), SCMP_SYS(geteuid), SCMP_SYS(getgid), SCMP_SYS(getegid),
	SCMP_SYS(getresuid), SCMP_SYS(getresgid), SCMP_SYS(getgroups), SCMP_SYS(uname),
	SCMP_SYS(sysinfo), SCMP_SYS(getrusage), SCMP_SYS(getrlimit), SCMP_SYS(prlimit64),
	SCMP_SYS(getrandom), SCMP_SYS(times),
	/* exit: the listening sockets are removed */
	SCMP_SYS(unlink), SCMP_SYS(unlinkat),
#ifdef __SANITIZE_ADDRESS__
	/*
	 * ASan/LSan builds (make SAN=1) keep the sandbox with what the
	 * sanitizers need: LeakSanitizer stops the world at exit with a
	 * ptrace()ing tracer (which lists /proc/self/task with the old
	 * getdents, and blocks SIGSYS: a call missing here kills it silently
	 * and the daemon then spins at exit), and a report runs
	 * llvm-symbolizer. A test build only: the release daemon never gets
	 * these.
	 */
	SCMP_SYS(ptrace), SCMP_SYS(wait4), SCMP_SYS(waitid), SCMP_SYS(getppid),
	SCMP_SYS(kill), SCMP_SYS(mincore), SCMP_SYS(pipe), SCMP_SYS(fork),
	SCMP_SYS(vfork), SCMP_SYS(execve), SCMP_SYS(dup2), SCMP_SYS(getpgid),
	SCMP_SYS(setpgid), SCMP_SYS(getdents),
#endif
};

static int install_filter(void)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
	int ret = 0;

	if (!ctx) {
		log_error("sandbox: seccomp_init failed");
		return -1;
	}
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]) && !ret; i++) {
		/* A name this architecture lacks is negative: nothing to allow. */
		if (allowed[i] >= 0)
			ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0);
	}
	if (!ret)
		ret = seccomp_load(ctx);
	seccomp_release(ctx);
	if (ret) {
		log_error("sandbox: seccomp filter not installed: %s", strerror(-ret));
		return -1;
	}
	return 0;
}
#endif

int vv_sandbox_enter(const struct vv_sandbox_opts *o)
{
	struct sigaction sa = { .sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO };

	if (drop_user(o->user, o->owned, o->nowned) < 0)
		return -1;
	if (!o->enabled) {
		log_warn("sandbox: off (--no-sandbox): no seccomp filter, no no_new_privs");
		return 0;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		log_error("sandbox: no_new_privs: %s", strerror(errno));
		return -1;
	}
#ifdef VV_HAVE_SECCOMP
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0 || install_filter() < 0)
		return -1;
	log_info("sandbox: no_new_privs, seccomp allow-list of %zu system calls",
		 sizeof(allowed) / sizeof(allowed[0]));
#else
	(void)sa;
	log_warn("sandbox: built without libseccomp: no_new_privs only");
#endif
	return 0;
}

/* --sandbox-selftest (tests/native/sandbox.sh): a call outside the list. */
void vv_sandbox_selftest(void)
{
	log_info("sandbox: self-test: calling socket(), which the filter forbids");
	long fd = syscall(SYS_socket, 1, 1, 0);

	if (fd >= 0) {
		close((int)fd);
		log_error("sandbox: self-test: socket() was allowed");
	}
}
