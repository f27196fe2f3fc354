//! Logging: a tracing subscriber filtered by IPSHIM_LOG (default "warn"), writing to stderr.
//!
//! Installed once, lazily, when the engine starts (or earlier if a hook calls `init`). Until
//! then, and for every event the filter rejects, `tracing` macros cost one relaxed load of the
//! global max level: cheap enough for hook paths. Lines go to fd 2 with a raw write(2),
//! because inside the library `write` is our own hook.

use std::io;
use std::sync::Once;

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

use crate::sys;

static INIT: Once = Once::new();

/// Install the subscriber (idempotent; a subscriber the program installed itself wins).
pub fn init() {
    INIT.call_once(|| {
        let directives = std::env::var("IPSHIM_LOG").unwrap_or_default();
        let directives = if directives.trim().is_empty() {
            "warn".to_string()
        } else {
            directives
        };
        let filter = EnvFilter::try_new(&directives).unwrap_or_else(|_| {
            let _ = sys::write_all(
                libc::STDERR_FILENO,
                format!(
                    "ipshim: IPSHIM_LOG={directives:?} is not a valid filter; using \"warn\"\n"
                )
                .as_bytes(),
            );
            EnvFilter::new("warn")
        });
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(RawStderr)
            .with_ansi(false)
            .with_target(true)
            .try_init();
        remember_info_enabled();
    });
}

/// stderr through raw write(2). Each event is formatted into one buffer and written with a
/// single `write_all`, so lines from different threads do not interleave.
#[derive(Clone, Copy)]
pub struct RawStderr;

impl io::Write for RawStderr {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        // A closed or broken stderr must not disturb the program: the line is dropped.
        let _ = sys::write_all(libc::STDERR_FILENO, bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for RawStderr {
    type Writer = RawStderr;
    fn make_writer(&'a self) -> RawStderr {
        RawStderr
    }
}

/// Whether info-level events of the shim pass the filter, decided once at `init`.
static INFO_ENABLED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Record, at init, whether info lines should be written at exit (see `info_at_exit`).
fn remember_info_enabled() {
    let enabled = tracing::enabled!(target: "ipshim::engine", tracing::Level::INFO);
    INFO_ENABLED.store(enabled, std::sync::atomic::Ordering::Relaxed);
}

/// An info line written during process exit. By then glibc has run the thread-local
/// destructors of the exiting thread (exit → __call_tls_dtors before atexit handlers), and the
/// fmt layer's thread-local buffer would panic on access; so the line is formatted here, in
/// the fmt layer's default layout, and written with one raw write.
pub fn info_at_exit(target: &str, message: &str) {
    if !INFO_ENABLED.load(std::sync::atomic::Ordering::Relaxed) {
        return;
    }
    let (sec, nsec) = sys::realtime();
    let line = format!("{}  INFO {target}: {message}\n", format_utc(sec, nsec));
    let _ = sys::write_all(libc::STDERR_FILENO, line.as_bytes());
}

/// RFC 3339 UTC with microseconds, as tracing-subscriber prints its timestamps.
fn format_utc(sec: i64, nsec: i64) -> String {
    let days = sec.div_euclid(86_400);
    let second_of_day = sec.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's days_from_civil inverse).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60,
        nsec / 1000
    )
}

#[cfg(test)]
mod tests {
    use super::format_utc;

    #[test]
    fn utc_formatting() {
        assert_eq!(format_utc(0, 0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(
            format_utc(1_795_651_200, 123_456_789),
            "2026-11-26T00:00:00.123456Z"
        );
        assert_eq!(format_utc(951_825_600, 0), "2000-02-29T12:00:00.000000Z");
    }
}
