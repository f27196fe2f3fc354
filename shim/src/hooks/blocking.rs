//! Blocking socket calls: try under the stack lock; on EAGAIN sleep in `Engine::wait` (a real
//! syscall, so no spinning and signals interrupt it) until the stack's generation moves, then
//! try again.
//!
//! The kernel rules copied here (net/core/sock.c, net/core/datagram.c):
//! - the call does not wait at all with O_NONBLOCK on the file or MSG_DONTWAIT
//!   (sock_rcvtimeo / sock_sndtimeo with `noblock`);
//! - SO_RCVTIMEO / SO_SNDTIMEO, read once when the call starts to wait, bound the wait; when it
//!   runs out the call answers EAGAIN;
//! - a signal: sock_intr_errno() gives -ERESTARTSYS when no timeout is set (the call restarts
//!   if the handler has SA_RESTART, otherwise EINTR) and EINTR when one is set. Which handler
//!   ran is learnt from `signals` (see there).

use std::time::{Duration, Instant as MonotonicInstant};

use stack::{Errno, Instant, SocketId, Stack};

use crate::engine::{Engine, WaitOutcome};
use crate::hooks::signals;

/// Which timeout applies: SO_RCVTIMEO or SO_SNDTIMEO.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Receive,
    Send,
}

/// What one attempt under the lock decided.
enum Step<T> {
    Finished(Result<T, Errno>),
    /// EAGAIN on a blocking call: wait for the stack to move past `generation`.
    Wait {
        generation: u64,
        timeout: Option<Duration>,
    },
}

/// Runs `attempt` until it answers something other than EAGAIN, or, if the call may not
/// block (`nonblocking`: O_NONBLOCK or MSG_DONTWAIT), once.
pub fn run<T>(
    engine: &Engine,
    id: SocketId,
    direction: Direction,
    nonblocking: bool,
    mut attempt: impl FnMut(&mut Stack, Instant) -> Result<T, Errno>,
) -> Result<T, Errno> {
    // The deadline is fixed when the call first has to wait, from the timeout in force then.
    let mut deadline: Option<Option<MonotonicInstant>> = None;
    loop {
        let step = engine.with_stack(|stack, now| match attempt(stack, now) {
            // A send refused with EAGAIN while the socket is writable is not waiting for
            // buffer space: inet_autobind found no free port (inet_send_prepare answers EAGAIN
            // at once, blocking or not).
            Err(Errno::EAGAIN)
                if direction == Direction::Send
                    && stack.poll(id) & stack::socket::poll_bits::POLLOUT != 0 =>
            {
                Step::Finished(Err(Errno::EAGAIN))
            }
            Err(Errno::EAGAIN) if !nonblocking => {
                // Reading the generation under the same lock as the failed attempt means no
                // event between the two can be missed.
                let timeout = match stack.timeouts(id) {
                    Ok((receive, send)) => match direction {
                        Direction::Receive => receive,
                        Direction::Send => send,
                    },
                    Err(error) => return Step::Finished(Err(error)),
                };
                Step::Wait {
                    generation: stack.generation(),
                    timeout,
                }
            }
            result => Step::Finished(result),
        });
        let (generation, timeout) = match step {
            Step::Finished(result) => return result,
            Step::Wait {
                generation,
                timeout,
            } => (generation, timeout),
        };
        let deadline =
            *deadline.get_or_insert_with(|| timeout.map(|t| MonotonicInstant::now() + t));
        let remaining = match deadline {
            Some(deadline) => {
                let now = MonotonicInstant::now();
                if now >= deadline {
                    return Err(Errno::EAGAIN);
                }
                Some(deadline - now)
            }
            None => None,
        };
        signals::arm();
        match engine.wait(&mut [], remaining, None, generation) {
            Ok(WaitOutcome::Woken) | Ok(WaitOutcome::TimedOut) => continue,
            Err(Errno::EINTR) => {
                if deadline.is_some() || !signals::interrupted_call_restarts() {
                    return Err(Errno::EINTR);
                }
                // -ERESTARTSYS with SA_RESTART: the kernel re-enters the call from the start.
            }
            Err(error) => return Err(error),
        }
    }
}
