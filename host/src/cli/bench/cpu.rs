//! CPU time per process, for `millwright bench`: read from `/proc/<pid>/stat` before and after each phase, so the
//! report can say what a document cost this process and nats-server, and whether the cores were the limit.
//! Linux only; where `/proc` cannot be read the readings are `None` and the report leaves CPU out.

use std::time::{Duration, Instant};

/// User + system CPU time `pid` has used so far: every thread's, those that have ended included.
pub fn process_cpu(pid: u32) -> Option<Duration> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let ticks = stat_ticks(&text)?;
    Some(ticks_to_duration(
        ticks,
        rustix::param::clock_ticks_per_second(),
    ))
}

/// utime + stime, in clock ticks, from the text of a `/proc/<pid>/stat`.
fn stat_ticks(text: &str) -> Option<u64> {
    // The second field is the command name in parentheses, which may itself hold spaces and parentheses: the
    // fields are counted from the last `)`. After it come state (field 3) … utime (14) and stime (15).
    let (_, rest) = text.rsplit_once(')')?;
    let mut fields = rest.split_ascii_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

fn ticks_to_duration(ticks: u64, per_second: u64) -> Duration {
    Duration::from_nanos(ticks.saturating_mul(1_000_000_000) / per_second.max(1))
}

/// The CPU clock's resolution: one tick.
pub fn resolution() -> Duration {
    ticks_to_duration(1, rustix::param::clock_ticks_per_second())
}

/// The cores this process may run on (its affinity and cgroup quota taken into account).
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// Both processes' CPU time at one moment.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    at: Instant,
    host: Option<Duration>,
    /// The server's pid with its reading: a server restarted between two samples is a different process.
    server: Option<(u32, Duration)>,
}

impl Sample {
    /// Reads this process and, if its pid is known, the server.
    pub fn take(server_pid: Option<u32>) -> Self {
        Self {
            at: Instant::now(),
            host: process_cpu(std::process::id()),
            server: server_pid.and_then(|pid| Some((pid, process_cpu(pid)?))),
        }
    }

    /// What was used from `self` to `later`.
    pub fn until(&self, later: &Sample) -> Usage {
        Usage {
            wall: later.at.saturating_duration_since(self.at),
            host: self
                .host
                .zip(later.host)
                .map(|(before, after)| after.saturating_sub(before)),
            server: match (self.server, later.server) {
                (Some((pid, before)), Some((same, after))) if pid == same => {
                    Some(after.saturating_sub(before))
                }
                _ => None,
            },
        }
    }
}

/// CPU used over one stretch of wall time.
#[derive(Debug, Clone, Copy)]
pub struct Usage {
    /// The wall time between the samples.
    pub wall: Duration,
    /// This process.
    pub host: Option<Duration>,
    /// The server, when its pid was known and it ran throughout.
    pub server: Option<Duration>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utime_and_stime_are_read_past_a_command_name_with_spaces_and_parentheses() {
        let line =
            "4242 (nats (x) y) S 1 4242 4242 0 -1 4194560 300 0 0 0 1250 375 0 0 20 0 9 0 100 0 0";
        assert_eq!(stat_ticks(line), Some(1625));
    }

    #[test]
    fn a_truncated_stat_line_gives_no_reading() {
        assert_eq!(stat_ticks("4242 (nats-server) S 1 4242"), None);
    }

    #[test]
    fn this_process_reading_grows_while_it_computes() {
        let before = process_cpu(std::process::id()).expect("/proc/self/stat is readable on Linux");
        // Spin until the reading moves: a reading of the wrong fields (or of a constant) never does.
        let start = Instant::now();
        let mut spin = 0u64;
        let mut after = before;
        while after <= before && start.elapsed() < Duration::from_secs(10) {
            for _ in 0..100_000 {
                spin = std::hint::black_box(spin.wrapping_add(1));
            }
            after = process_cpu(std::process::id()).expect("/proc/self/stat is readable on Linux");
        }
        assert!(after > before, "still {after:?} after 10 s of computing");
    }

    #[test]
    fn ticks_convert_at_the_clock_rate() {
        assert_eq!(ticks_to_duration(250, 100), Duration::from_millis(2500));
    }
}
