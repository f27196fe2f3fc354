//! sigaction / signal / bsd_signal / sysv_signal: learn which signal interrupted a blocking call.
//!
//! Linux decides whether a blocking socket call interrupted by a signal is restarted from the
//! handler of *that* signal: sock_intr_errno() answers -ERESTARTSYS when no SO_RCVTIMEO /
//! SO_SNDTIMEO is set, and the signal delivery code turns ERESTARTSYS into a transparent
//! restart only if the handler was installed with SA_RESTART (arch/x86/kernel/signal.c,
//! handle_signal). A shim call blocked in `Engine::wait` only sees EINTR from ppoll, not which
//! handler ran.
//!
//! So the program's handlers are wrapped: our `sigaction` installs a trampoline that records
//! the signal number in a thread-local (the first one since the blocking call armed it) and
//! then calls the program's handler with the arguments it expects. After EINTR the blocking
//! loop asks the kernel for that signal's current flags (`real::sigaction(sig, NULL, &old)`),
//! so flags changed behind our back (glibc's `siginterrupt` calls its internal sigaction)
//! still count. `oldact` always shows the program its own handler and flags.
//!
//! Limits: a handler installed with a raw `rt_sigaction` syscall, or by glibc functions that
//! call its internal sigaction (sigset, sigvec), is not wrapped; an interruption whose signal
//! is unknown answers EINTR (never a silent restart).
//! While the handler runs, the thread is still inside the shim's hook: a shim socket call made
//! from the handler reaches the kernel identity socket, not the stack (making it reentrant
//! would deadlock when the signal lands while the stack lock is held).

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use libc::{c_int, c_void, sighandler_t, siginfo_t};

use crate::hook;
use crate::hooks::{real_result, Outcome};
use crate::real;
use stack::Errno;

/// Signals 1..=64 (index 0 unused).
const SIGNAL_COUNT: usize = 65;

/// The program's handler for each signal, and whether it asked for SA_SIGINFO (3 arguments).
/// 0: not wrapped.
static PROGRAM_HANDLERS: [AtomicUsize; SIGNAL_COUNT] =
    [const { AtomicUsize::new(0) }; SIGNAL_COUNT];
static PROGRAM_WANTS_SIGINFO: [AtomicUsize; SIGNAL_COUNT] =
    [const { AtomicUsize::new(0) }; SIGNAL_COUNT];

thread_local! {
    /// The first signal handled on this thread since `arm()`; 0: none.
    static FIRST_SIGNAL: Cell<c_int> = const { Cell::new(0) };
}

/// Called before a blocking wait: forget earlier signals.
pub fn arm() {
    let _ = FIRST_SIGNAL.try_with(|first| first.set(0));
}

/// After a wait ended with EINTR: would Linux restart the call (the interrupting handler has
/// SA_RESTART)? False when the signal is unknown.
pub fn interrupted_call_restarts() -> bool {
    let signal = FIRST_SIGNAL.try_with(|first| first.get()).unwrap_or(0);
    if signal <= 0 {
        return false;
    }
    let mut current = std::mem::MaybeUninit::<libc::sigaction>::zeroed();
    // SAFETY: query only (act NULL); the kernel fills `current`.
    let result = unsafe { real::sigaction(signal, std::ptr::null(), current.as_mut_ptr()) };
    result == 0 && unsafe { current.assume_init() }.sa_flags & libc::SA_RESTART != 0
}

/// The handler the kernel calls for every wrapped signal.
extern "C" fn trampoline(signal: c_int, info: *mut siginfo_t, context: *mut c_void) {
    let _ = FIRST_SIGNAL.try_with(|first| {
        if first.get() == 0 {
            first.set(signal);
        }
    });
    let Some(index) = signal_index(signal) else {
        return;
    };
    let handler = PROGRAM_HANDLERS[index].load(Ordering::Acquire);
    if handler == 0 || handler == libc::SIG_IGN || handler == libc::SIG_DFL {
        return;
    }
    // SAFETY: the program registered this address as a handler of the stated arity.
    unsafe {
        if PROGRAM_WANTS_SIGINFO[index].load(Ordering::Acquire) != 0 {
            let handler: extern "C" fn(c_int, *mut siginfo_t, *mut c_void) =
                std::mem::transmute(handler);
            handler(signal, info, context);
        } else {
            let handler: extern "C" fn(c_int) = std::mem::transmute(handler);
            handler(signal);
        }
    }
}

fn signal_index(signal: c_int) -> Option<usize> {
    usize::try_from(signal)
        .ok()
        .filter(|&index| (1..SIGNAL_COUNT).contains(&index))
}

fn is_real_handler(handler: sighandler_t) -> bool {
    handler != libc::SIG_DFL && handler != libc::SIG_IGN && handler != libc::SIG_ERR
}

/// Our sigaction: wrap a program handler, unwrap what we report back. -1 with errno set by
/// glibc on failure.
unsafe fn wrapped_sigaction(
    signal: c_int,
    act: *const libc::sigaction,
    oldact: *mut libc::sigaction,
) -> c_int {
    let index = signal_index(signal);
    let previous_handler = index
        .map(|i| PROGRAM_HANDLERS[i].load(Ordering::Acquire))
        .unwrap_or(0);
    let previous_siginfo = index
        .map(|i| PROGRAM_WANTS_SIGINFO[i].load(Ordering::Acquire))
        .unwrap_or(0);

    let mut installed: libc::sigaction;
    let mut act_pointer = act;
    if !act.is_null() {
        if let Some(index) = index {
            // The program's struct is read here (a bad pointer faults in the program, as it
            // would inside glibc's own sigaction, which reads it the same way).
            installed = *act;
            if is_real_handler(installed.sa_sigaction) {
                PROGRAM_WANTS_SIGINFO[index].store(
                    (installed.sa_flags & libc::SA_SIGINFO != 0) as usize,
                    Ordering::Release,
                );
                PROGRAM_HANDLERS[index].store(installed.sa_sigaction, Ordering::Release);
                installed.sa_sigaction = trampoline as *const () as usize;
                installed.sa_flags |= libc::SA_SIGINFO;
                act_pointer = &installed;
            } else {
                PROGRAM_HANDLERS[index].store(0, Ordering::Release);
            }
        }
    }
    let result = real::sigaction(signal, act_pointer, oldact);
    if result != 0 {
        // Refused (bad signal number, SIGKILL, glibc's internal signals): nothing changed.
        if let Some(index) = index {
            PROGRAM_HANDLERS[index].store(previous_handler, Ordering::Release);
            PROGRAM_WANTS_SIGINFO[index].store(previous_siginfo, Ordering::Release);
        }
        return result;
    }
    if !oldact.is_null() {
        let trampoline_address = trampoline as *const () as usize;
        if (*oldact).sa_sigaction == trampoline_address {
            (*oldact).sa_flags &= !libc::SA_SIGINFO;
            (*oldact).sa_sigaction = previous_handler;
            if previous_siginfo != 0 {
                (*oldact).sa_flags |= libc::SA_SIGINFO;
            }
        } else if previous_handler != 0 && (*oldact).sa_flags & libc::SA_RESETHAND != 0 {
            // An SA_RESETHAND handler ran: the kernel put SIG_DFL back (get_signal's
            // SA_ONESHOT reset) but kept the flags, including the SA_SIGINFO we added for the
            // trampoline. Report the program's own flags, and forget the stale wrapping.
            if previous_siginfo == 0 {
                (*oldact).sa_flags &= !libc::SA_SIGINFO;
            }
            if act.is_null() {
                if let Some(index) = index {
                    PROGRAM_HANDLERS[index].store(0, Ordering::Release);
                }
            }
        }
    }
    result
}

/// signal(2) / bsd_signal as glibc implements them (sysdeps/posix/signal.c __bsd_signal):
/// the signal itself blocked during the handler, SA_RESTART unless siginterrupt() said
/// otherwise. glibc calls its internal sigaction, bypassing our hook, so we rebuild it here on
/// top of ours; the SA_RESTART choice is glibc's, read back from what it would install.
unsafe fn bsd_signal_impl(
    signal: c_int,
    handler: sighandler_t,
    restart: bool,
    reset: bool,
) -> Result<sighandler_t, Errno> {
    if handler == libc::SIG_ERR || signal_index(signal).is_none() {
        return Err(Errno::EINVAL);
    }
    let mut act: libc::sigaction = std::mem::zeroed();
    act.sa_sigaction = handler;
    libc::sigemptyset(&mut act.sa_mask);
    if reset {
        // sysv_signal: SA_ONESHOT | SA_NOMASK (sysdeps/posix/sysv_signal.c).
        act.sa_flags = libc::SA_RESETHAND | libc::SA_NODEFER;
    } else {
        libc::sigaddset(&mut act.sa_mask, signal);
        act.sa_flags = if restart { libc::SA_RESTART } else { 0 };
    }
    let mut old: libc::sigaction = std::mem::zeroed();
    real_result(wrapped_sigaction(signal, &act, &mut old))?;
    Ok(old.sa_sigaction)
}

/// Signals siginterrupt(sig, 1) marked: glibc's signal() installs them without SA_RESTART
/// (its `_sigintr` set, which we cannot read, so we keep our own copy).
static INTERRUPTING_SIGNALS: AtomicU64 = AtomicU64::new(0);

fn signal_restarts(signal: c_int) -> bool {
    signal_index(signal)
        .is_some_and(|index| INTERRUPTING_SIGNALS.load(Ordering::Relaxed) & (1 << (index - 1)) == 0)
}

hook! {
    /// Wraps program handlers so a blocking shim call knows which signal interrupted it.
    fn sigaction(signum: c_int, act: *const libc::sigaction, oldact: *mut libc::sigaction) -> c_int {
        Outcome::Done(real_result(wrapped_sigaction(signum, act, oldact)))
    }
}

hook! {
    /// signal(): BSD semantics, as glibc's default.
    fn signal(signum: c_int, handler: sighandler_t) -> sighandler_t {
        Outcome::Done(bsd_signal_impl(signum, handler, signal_restarts(signum), false))
    }
}

hook! {
    fn bsd_signal(signum: c_int, handler: sighandler_t) -> sighandler_t {
        Outcome::Done(bsd_signal_impl(signum, handler, signal_restarts(signum), false))
    }
}

hook! {
    /// System V semantics: one-shot, not blocked during the handler, no restart.
    fn sysv_signal(signum: c_int, handler: sighandler_t) -> sighandler_t {
        Outcome::Done(bsd_signal_impl(signum, handler, false, true))
    }
}

hook! {
    /// What `signal` resolves to in a program compiled for strict ISO C (glibc's signal.h
    /// redirects it): System V semantics.
    fn __sysv_signal(signum: c_int, handler: sighandler_t) -> sighandler_t {
        Outcome::Done(bsd_signal_impl(signum, handler, false, true))
    }
}

hook! {
    /// Records the program's choice for signal(), then lets glibc change the installed flags.
    fn siginterrupt(signum: c_int, interrupt: c_int) -> c_int {
        let result = real::siginterrupt(signum, interrupt);
        if result == 0 {
            if let Some(index) = signal_index(signum) {
                let bit = 1u64 << (index - 1);
                if interrupt != 0 {
                    INTERRUPTING_SIGNALS.fetch_or(bit, Ordering::Relaxed);
                } else {
                    INTERRUPTING_SIGNALS.fetch_and(!bit, Ordering::Relaxed);
                }
            }
        }
        Outcome::Done(real_result(result))
    }
}
