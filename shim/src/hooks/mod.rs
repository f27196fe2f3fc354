//! The exported libc symbols. Each hook: reentrancy guard, fd table lookup, not ours → the real
//! function; ours → the stack; errno written last; no panic crosses the boundary.
//!
//! # Declaring a hook
//!
//! ```ignore
//! hook! {
//!     /// What it does and which kernel function it copies.
//!     fn listen(fd: c_int, backlog: c_int) -> c_int {
//!         let Some(file) = fdtable::lookup(fd) else { return Outcome::Real };
//!         Outcome::Done(listen_socket(&file, backlog).map(|()| 0))
//!     }
//! }
//! ```
//!
//! expands to `#[no_mangle] pub unsafe extern "C" fn listen(fd: c_int, backlog: c_int) -> c_int`
//! which:
//! 1. enters the thread-local reentrancy guard (a const-initialised `Cell<bool>`: no allocation,
//!    no TLS destructor). If this thread is already inside a hook (our own code calling `write`
//!    through tracing, the engine opening its packet socket with `socket`, a signal handler that
//!    interrupted a hook), the call goes straight to `real::listen` with the same arguments;
//! 2. runs the body inside `catch_unwind`. A panic is logged and answered -1/EIO;
//! 3. `Outcome::Real` → leaves the guard, then calls `real::listen` with the same arguments (so a
//!    signal handler running during a blocking real call is served normally, and the real
//!    function sets errno itself);
//!    `Outcome::Done(Ok(v))` → returns `v` with errno as the program left it;
//!    `Outcome::Done(Err(e))` → writes errno = e, returns -1 (the one place errno is written);
//!    `Outcome::Raw(v)` → returns `v` and leaves errno as a real function the body called set it.
//!
//! The real function must be declared in `real.rs` under the same name and with the same
//! parameters (variadic C functions such as `fcntl(int, int, ...)` take their one variadic
//! argument as `c_ulong` on both sides: on x86_64 that register holds any pointer or int).
//!
//! Shim sockets are looked up with `fdtable::lookup`, which verifies the fd's identity, so a
//! number glibc closed behind our back is treated as "not ours".

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};

use stack::Errno;

use crate::real::FromMinusOne;

pub mod blocking;
pub mod control;
pub mod dup;
pub mod epoll;
pub mod fortify;
pub mod io;
pub mod poll;
pub mod receive;
pub mod select;
pub mod send;
pub mod sendfile;
pub mod signals;
pub mod socket;
pub mod sockopt;
pub mod stream;

/// What a hook body decided.
pub enum Outcome<T> {
    /// Not a shim file: call the real function with the same arguments.
    Real,
    /// Served by the shim: the value to return, or the errno to set (then -1).
    Done(Result<T, Errno>),
    /// Return this value with errno as the body left it: the answer of a real function the
    /// body called itself (a failed `dup` on the identity fd, say), errno untranslated.
    Raw(T),
}

impl<T> From<Result<T, Errno>> for Outcome<T> {
    fn from(result: Result<T, Errno>) -> Outcome<T> {
        Outcome::Done(result)
    }
}

thread_local! {
    /// True while this thread runs shim code inside a hook. `const` + `Cell<bool>`: reading it
    /// never allocates and works even during thread teardown.
    static IN_SHIM: Cell<bool> = const { Cell::new(false) };
}

/// True while this thread runs a hook body (e.g. when a signal handler interrupted it).
pub fn inside_shim() -> bool {
    IN_SHIM.try_with(Cell::get).unwrap_or(false)
}

/// Held while a hook body runs; nested hooks on this thread go to the real functions.
pub struct ReentrancyGuard(());

impl ReentrancyGuard {
    /// None when this thread is already inside the shim.
    pub fn enter() -> Option<ReentrancyGuard> {
        IN_SHIM
            .try_with(|in_shim| !in_shim.replace(true))
            .unwrap_or(false)
            .then_some(ReentrancyGuard(()))
    }
}

impl Drop for ReentrancyGuard {
    fn drop(&mut self) {
        let _ = IN_SHIM.try_with(|in_shim| in_shim.set(false));
    }
}

/// The thread's errno.
pub fn errno() -> i32 {
    // SAFETY: __errno_location always returns this thread's errno.
    unsafe { *libc::__errno_location() }
}

pub fn set_errno(value: i32) {
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = value };
}

/// A real function's C answer as a Result: a negative value means failure with errno set.
/// Errno values the stack's enum does not list (rare for these calls) become EIO.
pub fn real_result<T: PartialOrd + Default>(value: T) -> Result<T, Errno> {
    if value < T::default() {
        Err(Errno::from_raw(errno()).unwrap_or(Errno::EIO))
    } else {
        Ok(value)
    }
}

/// Everything a hook does around its body (see the module documentation). Not generic over the
/// argument list: the macro captures the arguments in the two closures.
#[inline]
pub fn run_hook<R: FromMinusOne>(
    name: &'static str,
    body: impl FnOnce() -> Outcome<R>,
    real: impl FnOnce() -> R,
) -> R {
    let Some(guard) = ReentrancyGuard::enter() else {
        return real();
    };
    let saved_errno = errno();
    let outcome = catch_unwind(AssertUnwindSafe(body));
    drop(guard);
    // A stream send that failed with EPIPE owes the thread a SIGPIPE: raised now, outside
    // the shim, before errno is written (the kernel delivers it on the way out of the call).
    stream::raise_deferred_signal();
    // SIGURG / O_ASYNC signals another thread saw for this one (async_signals.rs).
    crate::async_signals::collect_mail();
    match outcome {
        Ok(Outcome::Real) => {
            set_errno(saved_errno);
            real()
        }
        Ok(Outcome::Done(Ok(value))) => {
            // Internal syscalls may have touched errno; a successful call leaves the program's.
            set_errno(saved_errno);
            value
        }
        Ok(Outcome::Raw(value)) => value,
        Ok(Outcome::Done(Err(error))) => {
            set_errno(error.raw());
            R::minus_one()
        }
        Err(_) => {
            // The panic hook already printed the message and location.
            tracing::error!(hook = name, "panic inside a hook; answering EIO");
            set_errno(libc::EIO);
            R::minus_one()
        }
    }
}

/// Declares an exported hook; see the module documentation.
#[macro_export]
macro_rules! hook {
    ($(#[$attr:meta])* fn $name:ident($($arg:ident : $ty:ty),* $(,)?) -> $ret:ty $body:block) => {
        $(#[$attr])*
        #[no_mangle]
        #[allow(clippy::missing_safety_doc)]
        pub unsafe extern "C" fn $name($($arg: $ty),*) -> $ret {
            $crate::hooks::run_hook(
                stringify!($name),
                // The body is in the unsafe fn's unsafe context (edition 2021), as C code is.
                || -> $crate::hooks::Outcome<$ret> { $body },
                || $crate::real::$name($($arg),*),
            )
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn real_answer() -> i32 {
        42
    }

    #[test]
    fn errors_become_errno_and_minus_one() {
        set_errno(0);
        let result = run_hook(
            "test",
            || Outcome::<i32>::Done(Err(Errno::ENOTSOCK)),
            real_answer,
        );
        assert_eq!((result, errno()), (-1, libc::ENOTSOCK));
    }

    #[test]
    fn success_keeps_the_programs_errno() {
        set_errno(libc::EINTR);
        let result = run_hook(
            "test",
            || {
                set_errno(libc::EBADF); // an internal syscall failed along the way
                Outcome::Done(Ok(7))
            },
            real_answer,
        );
        assert_eq!((result, errno()), (7, libc::EINTR));
    }

    #[test]
    fn panics_answer_eio() {
        let result = run_hook("test", || -> Outcome<isize> { panic!("deliberate") }, || 0);
        assert_eq!((result, errno()), (-1, libc::EIO));
        // The guard was released: the next hook runs its body again.
        assert_eq!(run_hook("test", || Outcome::Done(Ok(1)), real_answer), 1);
    }

    #[test]
    fn nested_calls_and_real_outcomes_reach_the_real_function() {
        let outer = run_hook(
            "outer",
            || {
                let inner = run_hook("inner", || Outcome::Done(Ok(1)), real_answer);
                Outcome::Done(Ok(inner))
            },
            real_answer,
        );
        assert_eq!(outer, 42, "the nested hook went to the real function");
        assert_eq!(run_hook("test", || Outcome::Real, real_answer), 42);
    }
}
