//! Runs the engine alone (no LD_PRELOAD, no sockets) for a while, so the device, the progress
//! thread and the waiting protocol can be measured from a peer with `ping`:
//!
//! ```text
//! ip netns exec <shim-ns> env IPSHIM_IFACE=eth0 IPSHIM_ADDR=198.18.0.2/24 \
//!     target/release/examples/engine_responder 10 [waiters]
//! ```
//! The first argument is how many seconds to run. With `waiters`, one program thread sits in
//! `Engine::wait` the whole time (as a thread blocked in recv would), so frames are processed
//! by that thread instead of the progress thread. Prints the counters and the CPU time used.

use std::time::Duration;

fn cpu_time() -> Duration {
    // SAFETY: rusage is plain data, valid for writes.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let time = |tv: libc::timeval| Duration::new(tv.tv_sec as u64, tv.tv_usec as u32 * 1000);
    time(usage.ru_utime) + time(usage.ru_stime)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let seconds: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(10);
    let with_waiter = args.next().as_deref() == Some("waiters");
    let engine = match ipshim::engine::get_or_init() {
        Ok(engine) => engine,
        Err(errno) => {
            eprintln!("engine did not start: {errno}");
            std::process::exit(1);
        }
    };
    if with_waiter {
        std::thread::spawn(move || loop {
            let generation = engine.with_stack(|stack, _| stack.generation());
            let _ = engine.wait(&mut [], None, None, generation);
        });
    }
    std::thread::sleep(Duration::from_secs(seconds));
    eprintln!("cpu {:?} in {seconds} s", cpu_time());
    eprintln!(
        "{}",
        engine
            .counters_summary(Duration::from_secs(1))
            .unwrap_or_default()
    );
}
