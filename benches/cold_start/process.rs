//! Child processes that die with the benchmark, and what /proc says about them.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command};
use std::time::Duration;

/// Spawns `command` so that it is killed if the benchmark dies first.
pub fn spawn_tied(command: &mut Command) -> std::io::Result<Child> {
    // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    command.spawn()
}

/// User + system CPU time of the whole process (all its threads, live or
/// exited), from `/proc/<pid>/stat`. The kernel reports it in clock ticks
/// (usually 10 ms), so differences are taken over many invocations.
pub fn cpu_time(pid: u32) -> Result<Duration, String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).map_err(|e| format!("/proc/{pid}/stat: {e}"))?;
    // The command name may hold spaces; fields are counted after its ')'.
    let after = &stat[stat.rfind(')').ok_or("malformed /proc/<pid>/stat")? + 1..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // After ')', field 3 (state) is index 0, so utime (14) and stime (15) are 11 and 12.
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .ok_or("malformed /proc/<pid>/stat")
    };
    let total = ticks(11)? + ticks(12)?;
    // SAFETY: sysconf has no preconditions.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as u64;
    Ok(Duration::from_nanos(total * 1_000_000_000 / per_second))
}

/// The clock tick /proc reports CPU time in.
pub fn clock_tick() -> Duration {
    // SAFETY: sysconf has no preconditions.
    Duration::from_nanos(1_000_000_000 / unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as u64)
}

/// Peak resident set size (`VmHWM`), in bytes.
pub fn peak_rss(pid: u32) -> Result<u64, String> {
    let status =
        std::fs::read_to_string(format!("/proc/{pid}/status")).map_err(|e| format!("/proc/{pid}/status: {e}"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kib| kib * 1024)
        .ok_or_else(|| format!("no VmHWM in /proc/{pid}/status"))
}

/// CPU time of the whole process so far, in nanoseconds: the sum of the time on
/// a CPU of each of its live threads (`/proc/<pid>/task/*/schedstat`). Unlike
/// `cpu_time`, precise enough for one cold start.
pub fn cpu_time_precise(pid: u32) -> Result<Duration, String> {
    let dir = format!("/proc/{pid}/task");
    let tasks = std::fs::read_dir(&dir).map_err(|e| format!("{dir}: {e}"))?;
    let mut total = 0u64;
    for task in tasks {
        let path = task.map_err(|e| format!("{dir}: {e}"))?.path().join("schedstat");
        // A thread that ended meanwhile has no file any more; its time is lost,
        // and none of the binaries measured here ends a thread before its first
        // invocation is answered.
        let Ok(stat) = std::fs::read_to_string(&path) else {
            continue;
        };
        total += stat
            .split_whitespace()
            .next()
            .and_then(|ns| ns.parse::<u64>().ok())
            .ok_or_else(|| format!("malformed {}", path.display()))?;
    }
    Ok(Duration::from_nanos(total))
}

/// Runs `command` to its end and returns its CPU time, user + system, all
/// threads (`wait4`'s resource usage), and whether it exited with status 0.
/// No core dump is written if it aborts.
pub fn cpu_to_exit(command: &mut Command) -> std::io::Result<(Duration, bool)> {
    // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        command.pre_exec(|| {
            let none = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            libc::setrlimit(libc::RLIMIT_CORE, &none);
            Ok(())
        });
    }
    let child = spawn_tied(command)?;
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value; wait4 fills it in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `child` is our child and not yet reaped (it is never waited for elsewhere).
    if unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    let exited_zero = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    Ok((time(usage.ru_utime) + time(usage.ru_stime), exited_zero))
}
