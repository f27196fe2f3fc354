//! Stream (TCP) sockets: what send, receive and connect do differently from datagrams.
//!
//! - **send** (tcp_sendmsg_locked): the payload is taken in pieces as the send buffer frees
//!   up; a blocking call returns once every byte is queued, or with the count queued so far
//!   when a signal, SO_SNDTIMEO or an error stops it (an error or EAGAIN is reported only
//!   when nothing was queued). EPIPE raises SIGPIPE in the calling thread unless
//!   MSG_NOSIGNAL (sk_stream_error), after the hook has left the shim.
//! - **receive** (tcp_recvmsg_locked): whatever is queued, up to the buffer; MSG_WAITALL
//!   keeps waiting until the buffer is full, the peer's FIN, an error, a signal or the
//!   timeout (what was copied is returned then).
//! - **connect** (__inet_stream_connect): EINPROGRESS from the stack; a blocking call waits
//!   (SO_SNDTIMEO) while the handshake runs, then asks again for the result. A signal ends
//!   the wait with EINTR, or continues it when the handler has SA_RESTART and no timeout is
//!   set (the restarted call waits again, as the kernel's does for SS_CONNECTING).

use std::cell::{Cell, RefCell};
use std::time::{Duration, Instant as MonotonicInstant};

use libc::{c_int, iovec};
use stack::socket::msg_flags::{
    MSG_DONTWAIT, MSG_ERRQUEUE, MSG_FASTOPEN, MSG_NOSIGNAL, MSG_OOB, MSG_PEEK, MSG_TRUNC,
    MSG_WAITALL,
};
use stack::socket::poll_bits::{POLLERR, POLLHUP, POLLRDHUP};
use stack::{Errno, Instant, RecvArgs, RecvResult, SendArgs, Stack};

use crate::engine::{Engine, WaitOutcome};
use crate::fdtable::SocketRef;
use crate::hooks::blocking::Direction;
use crate::hooks::io::{is_nonblocking, with_buffer};
use crate::hooks::signals;
use crate::hooks::socket::engine;
use crate::usermem;

thread_local! {
    static STREAM_SEND_BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    static STREAM_RECEIVE_BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    /// A SIGPIPE owed to this thread by the call that is returning (raised by `run_hook`
    /// once the thread has left the shim, so the program's handler runs outside it).
    static PENDING_SIGPIPE: Cell<bool> = const { Cell::new(false) };
}

/// The payload taken from the program per attempt: the stack's send buffer rarely holds
/// more, and the copy stays bounded.
const SEND_CHUNK: usize = 256 * 1024;

pub fn is_stream(socket: &SocketRef) -> bool {
    socket.ty == libc::SOCK_STREAM
}

/// Raises the SIGPIPE a stream call owed this thread, if any (see `PENDING_SIGPIPE`).
pub fn raise_deferred_signal() {
    if PENDING_SIGPIPE.try_with(|pending| pending.replace(false)) == Ok(true) {
        // send_sig(SIGPIPE, current, 0): directed at the calling thread.
        // SAFETY: plain syscalls without pointers.
        unsafe {
            let pid = libc::getpid();
            let tid = libc::syscall(libc::SYS_gettid);
            libc::syscall(libc::SYS_tgkill, pid, tid, libc::SIGPIPE);
        }
    }
}

/// sk_stream_error: EPIPE raises SIGPIPE unless MSG_NOSIGNAL.
fn stream_error(error: Errno, flags: c_int) -> Errno {
    if error == Errno::EPIPE && flags & MSG_NOSIGNAL == 0 {
        let _ = PENDING_SIGPIPE.try_with(|pending| pending.set(true));
    }
    error
}

/// One attempt under the stack lock.
enum Step<T> {
    Done(Result<T, Errno>),
    Wait {
        generation: u64,
        timeout: Option<Duration>,
    },
}

/// Why a wait ended without the attempt succeeding.
enum Stop {
    /// SO_RCVTIMEO / SO_SNDTIMEO ran out (EAGAIN, or the partial count).
    TimedOut,
    /// A signal: EINTR, unless the call restarts.
    Interrupted(Errno),
}

/// The blocking machinery for calls that make progress in steps: `attempt` is tried; on
/// EAGAIN a blocking caller sleeps until the stack moves and tries again. `deadline` is
/// fixed at the first wait of the call. `progress` says whether the call already moved
/// bytes: a signal then ends the call (the kernel returns the count instead of
/// restarting).
struct Waiter<'a> {
    engine: &'a Engine,
    socket: &'a SocketRef,
    direction: Direction,
    nonblocking: bool,
    deadline: Option<Option<MonotonicInstant>>,
}

impl<'a> Waiter<'a> {
    fn new(
        engine: &'a Engine,
        socket: &'a SocketRef,
        direction: Direction,
        nonblocking: bool,
    ) -> Self {
        Waiter {
            engine,
            socket,
            direction,
            nonblocking,
            deadline: None,
        }
    }

    /// Runs `attempt` once; Ok(Err(stop)) when it should not be tried again.
    fn attempt<T>(
        &mut self,
        progress: bool,
        mut attempt: impl FnMut(&mut Stack, Instant) -> Result<T, Errno>,
    ) -> Result<Result<T, Stop>, Errno> {
        loop {
            let nonblocking = self.nonblocking;
            let id = self.socket.id;
            let direction = self.direction;
            let step = self
                .engine
                .with_stack(|stack, now| match attempt(stack, now) {
                    Err(Errno::EAGAIN) if !nonblocking => match stack.timeouts(id) {
                        Ok((receive, send)) => Step::Wait {
                            generation: stack.generation(),
                            timeout: if direction == Direction::Receive {
                                receive
                            } else {
                                send
                            },
                        },
                        Err(error) => Step::Done(Err(error)),
                    },
                    result => Step::Done(result),
                });
            let (generation, timeout) = match step {
                Step::Done(result) => return result.map(Ok),
                Step::Wait {
                    generation,
                    timeout,
                } => (generation, timeout),
            };
            let deadline = *self
                .deadline
                .get_or_insert_with(|| timeout.map(|t| MonotonicInstant::now() + t));
            let remaining = match deadline {
                Some(deadline) => {
                    let now = MonotonicInstant::now();
                    if now >= deadline {
                        return Ok(Err(Stop::TimedOut));
                    }
                    Some(deadline - now)
                }
                None => None,
            };
            signals::arm();
            match self.engine.wait(&mut [], remaining, None, generation) {
                Ok(WaitOutcome::Woken) | Ok(WaitOutcome::TimedOut) => continue,
                Err(Errno::EINTR) => {
                    // sock_intr_errno: -ERESTARTSYS without a timeout (restart with
                    // SA_RESTART), EINTR with one; a call that moved bytes returns them.
                    if progress || deadline.is_some() || !signals::interrupted_call_restarts() {
                        return Ok(Err(Stop::Interrupted(Errno::EINTR)));
                    }
                }
                Err(error) => return Err(error),
            }
        }
    }
}

/// The part [offset, offset + len) of the program's iovecs.
fn iovec_window(iovecs: &[iovec], mut offset: usize, mut len: usize) -> Vec<iovec> {
    let mut window = Vec::new();
    for iov in iovecs {
        if len == 0 {
            break;
        }
        if offset >= iov.iov_len {
            offset -= iov.iov_len;
            continue;
        }
        let take = (iov.iov_len - offset).min(len);
        window.push(iovec {
            iov_base: (iov.iov_base as usize + offset) as *mut libc::c_void,
            iov_len: take,
        });
        len -= take;
        offset = 0;
    }
    window
}

/// tcp_sendmsg for the program's iovecs. `flags` already cleared of internal bits.
pub fn send_stream(socket: &SocketRef, iovecs: &[iovec], flags: c_int) -> Result<usize, Errno> {
    send_stream_to(socket, iovecs, None, &[], flags)
}

/// tcp_sendmsg_fastopen's wait in a blocking call (__inet_stream_connect: the handshake
/// started by MSG_FASTOPEN or by TCP_FASTOPEN_CONNECT's first write), then its result: Ok
/// once connected, the connection's error, or None when SO_SNDTIMEO ran out (the call
/// then answers what the SYN carried, or EINPROGRESS).
fn wait_fast_open_connect(engine: &Engine, socket: &SocketRef) -> Result<Option<()>, Errno> {
    let mut waiter = Waiter::new(engine, socket, Direction::Send, false);
    let waited = waiter.attempt(false, |stack, _now| {
        if stack.connecting(socket.id) {
            Err(Errno::EAGAIN)
        } else {
            Ok(())
        }
    })?;
    match waited {
        Ok(()) => engine
            .with_stack(|stack, _now| stack.tcp_connect_result(socket.id))
            .map(Some),
        Err(Stop::TimedOut) => Ok(None),
        Err(Stop::Interrupted(error)) => Err(error),
    }
}

/// send_stream with a destination: sendto/sendmsg's address, which only MSG_FASTOPEN uses,
/// and sendmsg's control messages (sock_cmsg_send: SO_TIMESTAMPING, SO_MARK, ...).
pub fn send_stream_to(
    socket: &SocketRef,
    iovecs: &[iovec],
    dest: Option<&[u8]>,
    control: &[u8],
    flags: c_int,
) -> Result<usize, Errno> {
    let engine = engine()?;
    let nonblocking = is_nonblocking(socket, flags);
    // __sys_sendto / sock_write_iter add MSG_DONTWAIT for an O_NONBLOCK file: the stack's
    // Fast Open path needs to know whether the call will wait for the handshake.
    let mut attempt_flags = if nonblocking {
        flags | MSG_DONTWAIT
    } else {
        flags
    };
    let total = usermem::total_len(iovecs);
    let mut waiter = Waiter::new(engine, socket, Direction::Send, nonblocking);
    with_buffer(&STREAM_SEND_BUFFER, |buffer| {
        let mut sent = 0usize;
        loop {
            let chunk = (total - sent).min(SEND_CHUNK);
            if usermem::gather(&iovec_window(iovecs, sent, chunk), chunk, buffer).is_err() {
                if sent > 0 {
                    return Ok(sent);
                }
                // The copy is the last step: the stack's checks before it answer first.
                let zeros = vec![0u8; chunk.min(65536)];
                let args = SendArgs {
                    data: &zeros,
                    dest: None,
                    control,
                    flags,
                };
                return engine
                    .with_stack(|stack, now| stack.send_unreadable(now, socket.id, args))
                    .map_err(|error| stream_error(error, flags));
            }
            let data: &[u8] = buffer;
            let call_flags = attempt_flags;
            let attempt = waiter.attempt(sent > 0, |stack, now| {
                let args = SendArgs {
                    data,
                    dest,
                    control,
                    flags: call_flags,
                };
                // A later piece of this call continues its timestamp mark and zerocopy id.
                let taken = if sent > 0 {
                    stack.send_continuing(now, socket.id, args)?
                } else {
                    stack.send(now, socket.id, args)?
                };
                // Bytes taken while the handshake still runs rode in a Fast Open SYN.
                Ok((taken, stack.connecting(socket.id)))
            });
            // Only the first attempt may connect (tcp_sendmsg_fastopen).
            attempt_flags &= !(MSG_FASTOPEN | MSG_DONTWAIT);
            // A Fast Open connect: EINPROGRESS (nothing in the SYN) or EALREADY (still
            // connecting), or bytes that rode in the SYN while the handshake runs.
            let fast_open_pending = matches!(attempt, Ok(Ok((_, true))))
                || matches!(attempt, Err(Errno::EINPROGRESS | Errno::EALREADY));
            let attempt = attempt.map(|result| result.map(|(taken, _)| taken));
            if fast_open_pending && sent == 0 {
                let in_syn = match attempt {
                    Ok(Ok(taken)) => taken,
                    _ => 0,
                };
                // tcp_sendmsg_locked: "if (err == -EINPROGRESS && copied_syn > 0) goto
                // out": a call that does not wait answers what the SYN took.
                if nonblocking {
                    return match attempt {
                        Err(error) => Err(error),
                        _ => Ok(in_syn),
                    };
                }
                match wait_fast_open_connect(engine, socket)? {
                    Some(()) => {}
                    None if in_syn > 0 => return Ok(in_syn),
                    None => return Err(Errno::EINPROGRESS),
                }
                sent += in_syn;
                if sent >= total {
                    return Ok(sent);
                }
                continue;
            }
            match attempt {
                Ok(Ok(taken)) => {
                    sent += taken;
                    if sent >= total {
                        return Ok(sent);
                    }
                }
                Ok(Err(_)) if sent > 0 => return Ok(sent),
                Ok(Err(Stop::TimedOut)) => return Err(Errno::EAGAIN),
                Ok(Err(Stop::Interrupted(error))) => return Err(error),
                Err(_) if sent > 0 => return Ok(sent),
                Err(error) => return Err(stream_error(error, flags)),
            }
        }
    })
}

/// tcp_recvmsg into the program's `iovecs`: copies what is queued (MSG_WAITALL: until
/// the iovecs are full, the FIN, an error, a signal or the timeout), then hands the result
/// to `deliver` for the rest of the copy-out (control messages, address, msg_flags). The
/// data is already in the iovecs then: `deliver` gets it as an empty slice.
///
/// The bytes go from the stack to the program in pieces of at most `RECEIVE_CHUNK`
/// through the thread's buffer, under the stack lock (as tcp_recvmsg_locked copies skb
/// after skb under the socket lock), so one call returns as much as the kernel's: all
/// that is queued, up to the iovecs' total.
pub fn receive_stream(
    socket: &SocketRef,
    iovecs: &[iovec],
    control_capacity: usize,
    flags: c_int,
    deliver: impl FnOnce(&RecvResult, &[u8]) -> Result<usize, Errno>,
) -> Result<usize, Errno> {
    let engine = engine()?;
    let nonblocking = is_nonblocking(socket, flags);
    let wait_all = flags & MSG_WAITALL != 0;
    let capacity = usermem::total_len(iovecs);
    // sock_rcvlowat: MSG_WAITALL wants the whole buffer, otherwise SO_RCVLOWAT bytes (at
    // most the buffer); only a call that may wait keeps reading towards it.
    let target = if wait_all {
        capacity
    } else if nonblocking {
        1
    } else {
        receive_low_water(engine, socket).clamp(1, capacity.max(1))
    };
    let copy = StreamCopy {
        id: socket.id,
        iovecs,
        capacity,
        control_capacity,
        flags,
    };
    if flags & MSG_ERRQUEUE != 0 {
        // tcp_recvmsg hands MSG_ERRQUEUE to inet_recv_error: one report from the error
        // queue, never the stream's bytes, never a wait. It must not enter the stream loop,
        // whose peek-then-take would copy queued stream bytes and drop the report.
        return with_buffer(&STREAM_RECEIVE_BUFFER, |buffer| {
            let piece = capacity.clamp(1, RECEIVE_CHUNK);
            if buffer.len() < piece {
                buffer.resize(piece, 0);
            }
            let window = &mut buffer[..piece];
            let args = RecvArgs {
                capacity: piece,
                control_capacity,
                flags,
            };
            let result =
                engine.with_stack(|stack, now| stack.recv(now, socket.id, args, window))?;
            copy.store(0, &window[..result.len.min(piece)])?;
            deliver(&result, &[])
        });
    }
    let mut waiter = Waiter::new(engine, socket, Direction::Receive, nonblocking);
    with_buffer(&STREAM_RECEIVE_BUFFER, |buffer| {
        let piece = capacity.clamp(1, RECEIVE_CHUNK);
        if buffer.len() < piece {
            buffer.resize(piece, 0);
        }
        let result = if flags & MSG_PEEK != 0 {
            peek_stream(engine, &mut waiter, &copy, target, buffer)?
        } else {
            read_stream(&mut waiter, &copy, target, buffer)?
        };
        deliver(&result, &[])
    })
}

/// The most one piece of a receive moves through the shim's buffer.
const RECEIVE_CHUNK: usize = 1024 * 1024;

/// One stream receive's destination and arguments.
struct StreamCopy<'a> {
    id: stack::SocketId,
    iovecs: &'a [iovec],
    capacity: usize,
    control_capacity: usize,
    flags: c_int,
}

impl StreamCopy<'_> {
    fn discards(&self) -> bool {
        // TCP's MSG_TRUNC discards: nothing is copied to the program.
        self.flags & MSG_TRUNC != 0
    }

    /// Copies `data` to the program at `offset` into the iovecs (skb_copy_datagram_msg).
    fn store(&self, offset: usize, data: &[u8]) -> Result<(), Errno> {
        if self.discards() || data.is_empty() {
            return Ok(());
        }
        usermem::scatter(&iovec_window(self.iovecs, offset, data.len()), data)
    }

    /// One piece of at most `piece` bytes into the program's memory at `offset`: Err when
    /// nothing was taken. An ordinary read copies first and takes the bytes from the stack
    /// after (a discarding MSG_TRUNC read of as many), so that a fault leaves them queued as
    /// a failed skb_copy_datagram_msg leaves copied_seq; the urgent byte and MSG_TRUNC
    /// reads go through stack.recv alone.
    fn take_piece(
        &self,
        stack: &mut Stack,
        now: Instant,
        offset: usize,
        piece: usize,
        buffer: &mut [u8],
    ) -> Result<RecvResult, Errno> {
        let args = RecvArgs {
            capacity: piece,
            control_capacity: self.control_capacity,
            flags: self.flags,
        };
        if !self.discards() && self.flags & MSG_OOB == 0 {
            let window = &mut buffer[..piece];
            let count = stack.tcp_copy_for_read(self.id, window);
            if count > 0 {
                self.store(offset, &window[..count])?;
                let take = RecvArgs {
                    capacity: count,
                    flags: self.flags | MSG_TRUNC,
                    ..args
                };
                return stack.recv(now, self.id, take, &mut []);
            }
            // Nothing to copy: the stack answers (the end, an error, EAGAIN).
        }
        let window = if self.discards() {
            &mut buffer[..0]
        } else {
            &mut buffer[..piece]
        };
        let result = stack.recv(now, self.id, args, window)?;
        self.store(offset, &window[..result.len.min(window.len())])?;
        Ok(result)
    }

    /// tcp_recvmsg_locked's copying loop under the stack lock, for a read that has copied
    /// `received` bytes: piece after piece while bytes are queued and the iovecs have room.
    /// A fault ends it (EFAULT when it is the call's first copy; the bytes stay queued).
    /// Returns the bytes moved and the last
    /// piece's result (its control messages and flags); waiting is the caller's choice.
    fn read_pieces(
        &self,
        stack: &mut Stack,
        now: Instant,
        received: usize,
        buffer: &mut [u8],
    ) -> Result<(usize, RecvResult), Errno> {
        let mut moved = 0usize;
        let mut last = RecvResult::default();
        loop {
            let room = self.capacity - received - moved;
            let piece = if self.discards() {
                room
            } else {
                room.min(buffer.len())
            };
            let result = match self.take_piece(stack, now, received + moved, piece, buffer) {
                Ok(result) => result,
                Err(error) if received + moved == 0 => return Err(error),
                Err(_) => return Ok((moved, last)),
            };
            let taken = result.len;
            moved += taken;
            last = result;
            // The urgent byte (MSG_OOB) is read alone (tcp_recv_urg).
            let urgent = self.flags & MSG_OOB != 0;
            if urgent || taken == 0 || taken < piece || received + moved >= self.capacity {
                return Ok((moved, last));
            }
            let ahead = stack.tcp_read_ahead(self.id);
            if ahead.queued == 0 {
                return Ok((moved, last));
            }
        }
    }
}

/// The reading (not peeking) receive: the first piece as the stack answers it (data, EOF,
/// an error or EAGAIN to wait), then more while the kernel's loop would go on.
fn read_stream(
    waiter: &mut Waiter<'_>,
    copy: &StreamCopy<'_>,
    target: usize,
    buffer: &mut [u8],
) -> Result<RecvResult, Errno> {
    let mut received = 0usize;
    // The control messages (TCP_INQ) and msg_flags of the last piece: the kernel builds
    // them once the copying loop is over.
    let mut last = RecvResult::default();
    // Bounded: every pass copies bytes, or waits for the stack to move, or ends the call.
    loop {
        let wants_more = received < target;
        let attempt = waiter.attempt(received > 0, |stack, now| {
            if received > 0 {
                // tcp_recvmsg_locked with "copied" > 0: stop at the urgent mark, at the
                // end or an error (left for the next call), or when the target is met and
                // nothing is queued; otherwise wait (sk_wait_data) for more.
                let ahead = stack.tcp_read_ahead(copy.id);
                if ahead.at_mark || (ahead.queued == 0 && (ahead.ended || !wants_more)) {
                    return Ok(None);
                }
                if ahead.queued == 0 {
                    return Err(Errno::EAGAIN);
                }
            }
            copy.read_pieces(stack, now, received, buffer).map(Some)
        });
        match attempt {
            Ok(Ok(Some((moved, result)))) => {
                // A later pass that took nothing keeps the last piece's control messages.
                if moved > 0 || received == 0 {
                    last = result;
                }
                received += moved;
                if moved == 0 || received >= copy.capacity || copy.flags & MSG_OOB != 0 {
                    break;
                }
            }
            Ok(Ok(None)) => break,
            Ok(Err(_)) | Err(_) if received > 0 => break,
            Ok(Err(Stop::TimedOut)) => return Err(Errno::EAGAIN),
            Ok(Err(Stop::Interrupted(error))) => return Err(error),
            Err(error) => return Err(error),
        }
    }
    Ok(RecvResult {
        len: received,
        ..last
    })
}

/// MSG_PEEK: copies the same bytes again each time. It waits (as tcp_recvmsg's peek_seq
/// loop does) until the target is queued, the stream ends or fails, the timeout or a
/// signal, and then shows what is queued: the first piece through stack.recv (its checks
/// and side effects), the rest through tcp_peek_from, under the same lock.
fn peek_stream(
    engine: &Engine,
    waiter: &mut Waiter<'_>,
    copy: &StreamCopy<'_>,
    target: usize,
    buffer: &mut [u8],
) -> Result<RecvResult, Errno> {
    let ended = POLLRDHUP | POLLHUP | POLLERR;
    let urgent = copy.flags & MSG_OOB != 0;
    let attempt = waiter.attempt(false, |stack, now| {
        let peekable = stack.tcp_read_ahead(copy.id).peekable.min(copy.capacity);
        if !urgent && peekable > 0 && peekable < target && stack.poll(copy.id) & ended == 0 {
            return Err(Errno::EAGAIN);
        }
        peek_pieces(stack, now, copy, buffer)
    });
    match attempt {
        Ok(Ok(result)) => Ok(result),
        Ok(Err(stop)) => {
            let last = engine.with_stack(|stack, now| peek_pieces(stack, now, copy, buffer));
            match (last, stop) {
                (Ok(result), _) if result.len > 0 => Ok(result),
                (_, Stop::TimedOut) => Err(Errno::EAGAIN),
                (_, Stop::Interrupted(error)) => Err(error),
            }
        }
        Err(error) => Err(error),
    }
}

/// The peek's copy: the first piece by stack.recv, the rest by tcp_peek_from.
fn peek_pieces(
    stack: &mut Stack,
    now: Instant,
    copy: &StreamCopy<'_>,
    buffer: &mut [u8],
) -> Result<RecvResult, Errno> {
    let args = RecvArgs {
        capacity: copy.capacity,
        control_capacity: copy.control_capacity,
        flags: copy.flags,
    };
    let piece = if copy.discards() {
        0
    } else {
        buffer.len().min(copy.capacity)
    };
    let window = &mut buffer[..piece];
    let mut result = stack.recv(now, copy.id, args, window)?;
    if copy.discards() {
        return Ok(result);
    }
    let first = result.len.min(piece);
    copy.store(0, &window[..first])?;
    let mut shown = first;
    // The urgent byte (MSG_OOB) is one byte; an ordinary peek goes on while pieces fill.
    // Bounded by the capacity: every pass copies at least one byte or stops.
    let more = copy.flags & MSG_OOB == 0 && first == piece;
    while more && shown < copy.capacity {
        let room = (copy.capacity - shown).min(piece);
        let count = stack.tcp_peek_from(copy.id, shown, &mut window[..room]);
        // A fault after the first piece returns what was shown (tcp_recvmsg_locked:
        // "if (!copied) copied = -EFAULT").
        if count == 0 || copy.store(shown, &window[..count]).is_err() {
            break;
        }
        shown += count;
    }
    result.len = shown;
    Ok(result)
}

/// SO_RCVLOWAT (1 unless the program set it).
fn receive_low_water(engine: &Engine, socket: &SocketRef) -> usize {
    const SOL_SOCKET: i32 = 1;
    const SO_RCVLOWAT: i32 = 18;
    engine
        .with_stack(|stack, _now| stack.getsockopt(socket.id, SOL_SOCKET, SO_RCVLOWAT, 4))
        .ok()
        .and_then(|bytes| Some(i32::from_ne_bytes(bytes.get(0..4)?.try_into().ok()?)))
        .map_or(1, |value| value.max(1) as usize)
}

/// __inet_stream_connect for a stream socket: the stack answers at once; a blocking caller
/// waits for the handshake (sock_sndtimeo) and asks again for the result.
pub fn connect_stream(socket: &SocketRef, address: &[u8]) -> Result<(), Errno> {
    let engine = engine()?;
    let first = engine.with_stack(|stack, now| stack.connect(now, socket.id, address));
    let nonblocking = socket
        .nonblocking
        .load(std::sync::atomic::Ordering::Relaxed);
    // __inet_stream_connect keeps the error of the state it found (EINPROGRESS for a new
    // connection, EALREADY for one already in its handshake) as the answer if the wait
    // for the handshake runs out.
    let pending = match first {
        Err(error @ (Errno::EINPROGRESS | Errno::EALREADY)) if !nonblocking => error,
        other => return other,
    };
    let mut waiter = Waiter::new(engine, socket, Direction::Send, false);
    let waited = waiter.attempt(false, |stack, _now| {
        if stack.connecting(socket.id) {
            Err(Errno::EAGAIN)
        } else {
            Ok(())
        }
    })?;
    match waited {
        Ok(()) => engine.with_stack(|stack, now| stack.connect(now, socket.id, address)),
        // inet_wait_for_connect ran out: the error set before the wait stays the answer.
        Err(Stop::TimedOut) => Err(pending),
        Err(Stop::Interrupted(error)) => Err(error),
    }
}

/// The last descriptor of a socket is gone (`SocketFile::drop`): inet_release. For TCP with
/// SO_LINGER on and a positive time, tcp_close then waits (sk_stream_wait_close) until the
/// FIN is acknowledged, the linger time passes or a signal arrives; close() still answers 0.
pub fn release_socket(engine: &Engine, id: stack::SocketId) {
    const SOL_SOCKET: i32 = 1;
    const SO_LINGER: i32 = 13;
    let linger = engine.with_stack(|stack, now| {
        let linger = if stack::tcp::is_tcp_id(id) {
            stack
                .getsockopt(id, SOL_SOCKET, SO_LINGER, 8)
                .ok()
                .and_then(|bytes| {
                    let onoff = i32::from_ne_bytes(bytes.get(0..4)?.try_into().ok()?);
                    let seconds = i32::from_ne_bytes(bytes.get(4..8)?.try_into().ok()?);
                    (onoff != 0 && seconds > 0).then(|| Duration::from_secs(seconds as u64))
                })
        } else {
            None
        };
        stack.close(now, id);
        linger
    });
    let Some(linger) = linger else {
        return;
    };
    let deadline = MonotonicInstant::now() + linger;
    // Bounded: each pass waits for the stack to move or the deadline.
    for _ in 0..100_000 {
        let generation =
            engine.with_stack(|stack, _now| stack.tcp_closing(id).then(|| stack.generation()));
        let Some(generation) = generation else {
            return;
        };
        let now = MonotonicInstant::now();
        if now >= deadline {
            return;
        }
        if engine
            .wait(&mut [], Some(deadline - now), None, generation)
            .is_err()
        {
            // A signal ends the wait (sk_stream_wait_close is interruptible).
            return;
        }
    }
}

/// Process exit: the kernel would close every descriptor (tcp_close: FINs, or resets for
/// unread data) and then finish the orphaned connections on its own. The stack lives in
/// the process, so it does this here, and keeps running until no connection has unsent or
/// unacknowledged data or FIN, at most `EXIT_FLUSH_LIMIT`: data a program wrote just
/// before exiting still reaches the peer, and the peer sees the connection end.
const EXIT_FLUSH_LIMIT: Duration = Duration::from_secs(2);

#[ctor::dtor]
fn finish_connections_at_exit() {
    let Some(engine) = crate::engine::get() else {
        return;
    };
    let Some(_guard) = crate::hooks::ReentrancyGuard::enter() else {
        return;
    };
    engine.with_stack(|stack, now| stack.close_all_tcp(now));
    let deadline = MonotonicInstant::now() + EXIT_FLUSH_LIMIT;
    for _ in 0..100_000 {
        let generation =
            engine.with_stack(|stack, _now| stack.tcp_unfinished().then(|| stack.generation()));
        let Some(generation) = generation else {
            return;
        };
        let now = MonotonicInstant::now();
        if now >= deadline {
            return;
        }
        let step = (deadline - now).min(Duration::from_millis(50));
        if engine.wait(&mut [], Some(step), None, generation).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iov(base: usize, len: usize) -> iovec {
        iovec {
            iov_base: base as *mut libc::c_void,
            iov_len: len,
        }
    }

    #[test]
    fn iovec_windows_cut_across_entries() {
        let list = [iov(1000, 10), iov(2000, 5), iov(3000, 20)];
        let window = iovec_window(&list, 8, 10);
        let parts: Vec<(usize, usize)> = window
            .iter()
            .map(|v| (v.iov_base as usize, v.iov_len))
            .collect();
        assert_eq!(parts, vec![(1008, 2), (2000, 5), (3000, 3)]);
        assert!(iovec_window(&list, 35, 4).is_empty());
    }
}
