//! Copies between the program's memory and shim buffers that answer EFAULT instead of crashing.
//!
//! The kernel never trusts a user pointer: copy_from_user / copy_to_user report a fault as
//! EFAULT. The shim runs in the same address space, so a plain dereference of a bad pointer
//! would kill the program with SIGSEGV. Instead every copy goes through process_vm_readv /
//! process_vm_writev on our own pid: the kernel walks the page tables and answers EFAULT (or a
//! short count) exactly as copy_*_user would, and one syscall gathers or scatters a whole
//! iovec array. Where the kernel checks only `access_ok` (the range lies below the top of user
//! space, nothing read yet) `access_ok` here does the same arithmetic.
//!
//! Callers keep the kernel's order of copies (net/socket.c): e.g. sendto copies the address in
//! (move_addr_to_kernel) before the protocol runs; recvfrom copies the address out
//! (move_addr_to_user) after a datagram was taken, so a bad address there loses the datagram
//! and answers EFAULT, like the kernel.

use std::mem::{size_of, MaybeUninit};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::Once;

use libc::iovec;
use stack::Errno;

/// MAX_RW_COUNT (include/linux/fs.h): INT_MAX rounded down to a page; the most one read/write
/// moves. Longer requests are silently shortened.
pub const MAX_RW_COUNT: usize = (i32::MAX as usize) & !4095;

/// UIO_MAXIOV: the most iovecs one call takes.
pub const UIO_MAXIOV: usize = 1024;

/// sizeof(struct sockaddr_storage): the longest socket address the kernel copies.
pub const SOCKADDR_STORAGE_LEN: usize = 128;

/// The top of user space on x86_64 with 4-level paging (TASK_SIZE_MAX = 2^47 - one page).
/// With 5-level paging the kernel allows more; addresses above 2^47 are never mapped for a
/// program that did not ask for them, so the check differs only in EFAULT's timing there.
const USER_SPACE_END: usize = (1 << 47) - 4096;

/// The kernel's `access_ok(ptr, len)`: the range lies inside user space. Nothing is read; NULL
/// passes (the fault comes later, at the copy).
pub fn access_ok(address: usize, len: usize) -> bool {
    match address.checked_add(len) {
        Some(end) => end <= USER_SPACE_END,
        None => false,
    }
}

/// Our pid, cached: getpid costs a syscall (~85 ns here) on every copy otherwise. A fork
/// child must not keep the parent's pid (it would copy from the parent's memory), so a
/// pthread_atfork child handler clears the cache; glibc's fork() and every libc or Rust
/// spawn path run it. A raw clone(2) without CLONE_VM is the one way around it.
static CACHED_PID: AtomicI32 = AtomicI32::new(0);

extern "C" fn forget_pid_after_fork() {
    CACHED_PID.store(0, Ordering::Relaxed);
}

fn own_pid() -> libc::pid_t {
    let cached = CACHED_PID.load(Ordering::Relaxed);
    if cached != 0 {
        return cached;
    }
    static REGISTER_ATFORK: Once = Once::new();
    static ATFORK_REGISTERED: AtomicBool = AtomicBool::new(false);
    REGISTER_ATFORK.call_once(|| {
        // SAFETY: registers a plain function.
        let registered =
            unsafe { libc::pthread_atfork(None, None, Some(forget_pid_after_fork)) } == 0;
        ATFORK_REGISTERED.store(registered, Ordering::Relaxed);
    });
    // SAFETY: getpid cannot fail.
    let pid = unsafe { libc::syscall(libc::SYS_getpid) as libc::pid_t };
    if ATFORK_REGISTERED.load(Ordering::Relaxed) {
        CACHED_PID.store(pid, Ordering::Relaxed);
    }
    pid
}

/// process_vm_readv(self): copies from the remote (user) iovecs into the local ones.
/// Returns the bytes moved; a fault after some bytes gives a short count, before any EFAULT.
fn vm_read(local: &[iovec], remote: &[iovec]) -> Result<usize, Errno> {
    process_vm(libc::SYS_process_vm_readv, local, remote)
}

/// process_vm_writev(self): copies from the local iovecs into the remote (user) ones.
fn vm_write(local: &[iovec], remote: &[iovec]) -> Result<usize, Errno> {
    process_vm(libc::SYS_process_vm_writev, local, remote)
}

/// process_vm_readv or process_vm_writev (`number`) on our own process.
fn process_vm(number: libc::c_long, local: &[iovec], remote: &[iovec]) -> Result<usize, Errno> {
    // SAFETY: both arrays are valid for their lengths; the kernel checks the remote ranges
    // (and, for process_vm_writev, only reads the local buffers).
    let moved = unsafe {
        libc::syscall(
            number,
            own_pid(),
            local.as_ptr(),
            local.len(),
            remote.as_ptr(),
            remote.len(),
            // A full-width zero: a bare `0` is an i32 in the variadic call, and the kernel
            // reads flags as unsigned long (garbage in the high half is EINVAL).
            0 as libc::c_ulong,
        )
    };
    syscall_result(moved)
}

fn syscall_result(value: i64) -> Result<usize, Errno> {
    if value < 0 {
        // SAFETY: errno of this thread, just set by the failed syscall.
        let raw = unsafe { *libc::__errno_location() };
        Err(Errno::from_raw(raw).unwrap_or(Errno::EFAULT))
    } else {
        Ok(value as usize)
    }
}

fn local_iovec(buffer: &[u8]) -> iovec {
    iovec {
        iov_base: buffer.as_ptr() as *mut libc::c_void,
        iov_len: buffer.len(),
    }
}

fn remote_iovec(address: usize, len: usize) -> iovec {
    iovec {
        iov_base: address as *mut libc::c_void,
        iov_len: len,
    }
}

/// Fills `buffer` from user memory at `address` (copy_from_user): all of it or EFAULT.
pub fn read_into(address: usize, buffer: &mut [u8]) -> Result<(), Errno> {
    if buffer.is_empty() {
        return Ok(());
    }
    let moved = vm_read(
        &[local_iovec(buffer)],
        &[remote_iovec(address, buffer.len())],
    )?;
    if moved == buffer.len() {
        Ok(())
    } else {
        Err(Errno::EFAULT)
    }
}

/// `len` bytes of user memory at `address`.
pub fn read_bytes(address: usize, len: usize) -> Result<Vec<u8>, Errno> {
    let mut buffer = vec![0; len];
    read_into(address, &mut buffer)?;
    Ok(buffer)
}

/// Copies `data` to user memory at `address` (copy_to_user): all of it or EFAULT.
pub fn write_bytes(address: usize, data: &[u8]) -> Result<(), Errno> {
    if data.is_empty() {
        return Ok(());
    }
    let moved = vm_write(&[local_iovec(data)], &[remote_iovec(address, data.len())])?;
    if moved == data.len() {
        Ok(())
    } else {
        Err(Errno::EFAULT)
    }
}

/// Plain C structs whose every bit pattern is a valid value (so reading one from user memory
/// cannot create an invalid Rust value).
///
/// # Safety
/// Implement only for `repr(C)` integer/pointer aggregates.
pub unsafe trait UserStruct: Copy {}
// SAFETY: all are C structs of integers and raw pointers.
unsafe impl UserStruct for libc::msghdr {}
unsafe impl UserStruct for libc::mmsghdr {}
unsafe impl UserStruct for libc::iovec {}
unsafe impl UserStruct for libc::timespec {}
unsafe impl UserStruct for libc::timeval {}
unsafe impl UserStruct for libc::c_int {}
unsafe impl UserStruct for libc::c_uint {}
unsafe impl UserStruct for libc::c_ulong {}
unsafe impl UserStruct for usize {}

/// get_user / copy_from_user of one struct.
pub fn read_struct<T: UserStruct>(address: usize) -> Result<T, Errno> {
    let mut value = MaybeUninit::<T>::uninit();
    // SAFETY: the slice covers exactly the MaybeUninit's storage; read_into fills all of it or
    // fails, and T accepts any bit pattern.
    let bytes =
        unsafe { std::slice::from_raw_parts_mut(value.as_mut_ptr() as *mut u8, size_of::<T>()) };
    read_into(address, bytes)?;
    Ok(unsafe { value.assume_init() })
}

/// put_user / copy_to_user of one struct.
pub fn write_struct<T: UserStruct>(address: usize, value: &T) -> Result<(), Errno> {
    // SAFETY: T is a plain C struct; viewing it as bytes is sound.
    let bytes =
        unsafe { std::slice::from_raw_parts(value as *const T as *const u8, size_of::<T>()) };
    write_bytes(address, bytes)
}

/// move_addr_to_kernel (net/socket.c): a socket address the program passed in. Negative or
/// longer than sockaddr_storage: EINVAL; length 0: empty, nothing read; unreadable: EFAULT.
pub fn read_sockaddr(address: usize, len: i32) -> Result<Vec<u8>, Errno> {
    if len < 0 || len as usize > SOCKADDR_STORAGE_LEN {
        return Err(Errno::EINVAL);
    }
    read_bytes(address, len as usize)
}

/// move_addr_to_user (net/socket.c): reads the length the program offers at `len_address`
/// (EFAULT), copies min(offered, actual) bytes of `sockaddr` (EINVAL if the offer is negative,
/// EFAULT if the buffer is bad), then writes the actual length back, so the program can see
/// that its buffer was too small.
pub fn write_sockaddr(address: usize, len_address: usize, sockaddr: &[u8]) -> Result<(), Errno> {
    let offered: libc::c_int = read_struct(len_address)?;
    let actual = sockaddr.len() as libc::c_int;
    let copy = offered.min(actual);
    if copy < 0 {
        return Err(Errno::EINVAL);
    }
    write_bytes(address, &sockaddr[..copy as usize])?;
    write_struct::<libc::c_int>(len_address, &actual)
}

/// A program's iovec array, validated as the kernel's import_iovec does: read it (EFAULT),
/// reject a length that is negative as ssize_t (EINVAL) or a range outside user space
/// (EFAULT), and shorten the total to MAX_RW_COUNT. `count` must already be within
/// UIO_MAXIOV (the callers answer EINVAL or EMSGSIZE for that, as their syscalls do).
pub fn read_iovecs(address: usize, count: usize) -> Result<Vec<iovec>, Errno> {
    debug_assert!(count <= UIO_MAXIOV);
    let mut iovecs = vec![remote_iovec(0, 0); count];
    if count > 0 {
        // SAFETY: iovec is a plain C struct; the slice covers the vector's storage.
        let bytes = unsafe {
            std::slice::from_raw_parts_mut(
                iovecs.as_mut_ptr() as *mut u8,
                count * size_of::<iovec>(),
            )
        };
        read_into(address, bytes)?;
    }
    // First pass: every length must be a valid ssize_t (iovec_from_user), before any range
    // check (the kernel validates lengths while copying the array in).
    if iovecs.iter().any(|iov| (iov.iov_len as isize) < 0) {
        return Err(Errno::EINVAL);
    }
    let mut total = 0usize;
    for iov in iovecs.iter_mut() {
        if !access_ok(iov.iov_base as usize, iov.iov_len) {
            return Err(Errno::EFAULT);
        }
        let room = MAX_RW_COUNT - total;
        if iov.iov_len > room {
            iov.iov_len = room;
        }
        total += iov.iov_len;
    }
    Ok(iovecs)
}

/// A single user buffer as an iovec, validated like import_ubuf: shortened to MAX_RW_COUNT,
/// EFAULT if outside user space.
pub fn single_iovec(address: usize, len: usize) -> Result<iovec, Errno> {
    let len = len.min(MAX_RW_COUNT);
    if !access_ok(address, len) {
        return Err(Errno::EFAULT);
    }
    Ok(remote_iovec(address, len))
}

/// Sum of the iovec lengths (already capped by `read_iovecs`).
pub fn total_len(iovecs: &[iovec]) -> usize {
    iovecs.iter().map(|iov| iov.iov_len).sum()
}

/// Gathers up to `limit` bytes of the user iovecs into `buffer` (cleared first), in one
/// syscall. A fault anywhere in the range read answers EFAULT, as the kernel's
/// copy_from_iter does for a datagram.
pub fn gather(iovecs: &[iovec], limit: usize, buffer: &mut Vec<u8>) -> Result<(), Errno> {
    let wanted = total_len(iovecs).min(limit);
    buffer.clear();
    buffer.reserve(wanted);
    if wanted == 0 {
        return Ok(());
    }
    let local = iovec {
        iov_base: buffer.as_mut_ptr() as *mut libc::c_void,
        iov_len: wanted,
    };
    let moved = vm_read(&[local], iovecs)?;
    if moved != wanted {
        return Err(Errno::EFAULT);
    }
    // SAFETY: the kernel wrote `wanted` bytes into the reserved capacity.
    unsafe { buffer.set_len(wanted) };
    Ok(())
}

/// Scatters `data` into the user iovecs (as much as they hold), in one syscall. A fault
/// answers EFAULT, as skb_copy_datagram_iter does.
pub fn scatter(iovecs: &[iovec], data: &[u8]) -> Result<(), Errno> {
    let wanted = total_len(iovecs).min(data.len());
    if wanted == 0 {
        return Ok(());
    }
    let moved = vm_write(&[local_iovec(&data[..wanted])], iovecs)?;
    if moved != wanted {
        return Err(Errno::EFAULT);
    }
    Ok(())
}

/// Reads `prefix.len()` bytes at `prefix_address` (e.g. a sendto address) and gathers the
/// iovecs like `gather`, in one syscall where the iovec count allows. Either fault is EFAULT,
/// so doing both at once answers what the kernel's two copies answer.
pub fn read_and_gather(
    prefix_address: usize,
    prefix: &mut [u8],
    iovecs: &[iovec],
    limit: usize,
    buffer: &mut Vec<u8>,
) -> Result<(), Errno> {
    if prefix.is_empty() || iovecs.len() + 1 > UIO_MAXIOV {
        read_into(prefix_address, prefix)?;
        return gather(iovecs, limit, buffer);
    }
    let wanted = total_len(iovecs).min(limit);
    buffer.clear();
    buffer.reserve(wanted);
    let local = [
        local_iovec(prefix),
        iovec {
            iov_base: buffer.as_mut_ptr() as *mut libc::c_void,
            iov_len: wanted,
        },
    ];
    let mut remote = Vec::with_capacity(iovecs.len() + 1);
    remote.push(remote_iovec(prefix_address, prefix.len()));
    remote.extend_from_slice(iovecs);
    let moved = vm_read(&local, &remote)?;
    if moved != prefix.len() + wanted {
        return Err(Errno::EFAULT);
    }
    // SAFETY: the kernel wrote `wanted` bytes into the reserved capacity.
    unsafe { buffer.set_len(wanted) };
    Ok(())
}

/// The first `len` bytes of an iovec array (later iovecs dropped, the last one shortened), so
/// that more data written after them lands in the next part, not in leftover iovec space.
fn trim_iovecs(iovecs: &[iovec], mut len: usize) -> Vec<iovec> {
    let mut trimmed = Vec::with_capacity(iovecs.len());
    for iov in iovecs {
        if len == 0 {
            break;
        }
        let take = iov.iov_len.min(len);
        if take > 0 {
            trimmed.push(remote_iovec(iov.iov_base as usize, take));
        }
        len -= take;
    }
    trimmed
}

/// Several copies to user memory done by one process_vm_writev, in order; the first one that
/// faults stops the rest, as consecutive copy_to_user calls whose caller returns on EFAULT.
/// `flush` says which part could not be written.
#[derive(Default)]
pub struct WriteBatch<'a> {
    local: Vec<iovec>,
    remote: Vec<iovec>,
    /// For each part: total bytes written once it is complete.
    part_ends: Vec<usize>,
    total: usize,
    _data: std::marker::PhantomData<&'a [u8]>,
}

impl<'a> WriteBatch<'a> {
    pub fn new() -> WriteBatch<'a> {
        WriteBatch::default()
    }

    /// `data` into the iovecs, as much as they hold (one part).
    pub fn scatter(&mut self, iovecs: &[iovec], data: &'a [u8]) -> &mut Self {
        let wanted = total_len(iovecs).min(data.len());
        if wanted > 0 {
            self.local.push(local_iovec(&data[..wanted]));
            self.remote.extend(trim_iovecs(iovecs, wanted));
        }
        self.end_part(wanted)
    }

    /// `data` at `address` (one part).
    pub fn bytes(&mut self, address: usize, data: &'a [u8]) -> &mut Self {
        if !data.is_empty() {
            self.local.push(local_iovec(data));
            self.remote.push(remote_iovec(address, data.len()));
        }
        self.end_part(data.len())
    }

    fn end_part(&mut self, len: usize) -> &mut Self {
        self.total += len;
        self.part_ends.push(self.total);
        self
    }

    /// Writes every part; Err(index) names the first part not completely written.
    pub fn flush(&self) -> Result<(), usize> {
        if self.total == 0 {
            return Ok(());
        }
        let moved = if self.local.len() <= UIO_MAXIOV && self.remote.len() <= UIO_MAXIOV {
            vm_write(&self.local, &self.remote).unwrap_or(0)
        } else {
            self.flush_piecewise()
        };
        match self.part_ends.iter().position(|&end| end > moved) {
            Some(part) => Err(part),
            None => Ok(()),
        }
    }

    /// More iovecs than one call takes: one call per local piece, in order.
    fn flush_piecewise(&self) -> usize {
        let mut moved = 0;
        let mut remote = self.remote.as_slice();
        for local in &self.local {
            // The remote iovecs that hold exactly this local piece (trim_iovecs made them fit).
            let mut need = local.iov_len;
            let mut count = 0;
            while need > 0 && count < remote.len() {
                need -= remote[count].iov_len.min(need);
                count += 1;
            }
            let written = remote[..count]
                .chunks(UIO_MAXIOV)
                .try_fold(0usize, |done, chunk| {
                    let piece = iovec {
                        iov_base: (local.iov_base as usize + done) as *mut libc::c_void,
                        iov_len: total_len(chunk).min(local.iov_len - done),
                    };
                    match vm_write(&[piece], chunk) {
                        Ok(n) if n == piece.iov_len => Ok(done + n),
                        Ok(n) => Err(done + n),
                        Err(_) => Err(done),
                    }
                });
            match written {
                Ok(n) => moved += n,
                Err(n) => return moved + n,
            }
            remote = &remote[count..];
        }
        moved
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An address that is never mapped: the page at 4096 (mmap_min_addr keeps it free).
    const UNMAPPED: usize = 4096;

    /// Two pages, the second one PROT_NONE, so a copy can straddle into a fault.
    struct GuardedPage {
        base: *mut u8,
    }

    impl GuardedPage {
        fn new() -> GuardedPage {
            let base = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    8192,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                    -1,
                    0,
                )
            } as *mut u8;
            assert_ne!(base as *mut libc::c_void, libc::MAP_FAILED);
            assert_eq!(
                unsafe { libc::mprotect(base.add(4096) as *mut _, 4096, libc::PROT_NONE) },
                0
            );
            GuardedPage { base }
        }
        /// The address `back` bytes before the inaccessible page.
        fn end_minus(&self, back: usize) -> usize {
            self.base as usize + 4096 - back
        }
    }

    impl Drop for GuardedPage {
        fn drop(&mut self) {
            unsafe { libc::munmap(self.base as *mut _, 8192) };
        }
    }

    #[test]
    fn reads_and_writes_structs() {
        let mut value: libc::c_int = 7;
        let address = &mut value as *mut libc::c_int as usize;
        assert_eq!(read_struct::<libc::c_int>(address), Ok(7));
        write_struct(address, &42).unwrap();
        assert_eq!(value, 42);
    }

    #[test]
    fn bad_pointers_answer_efault() {
        assert_eq!(read_struct::<libc::c_int>(0), Err(Errno::EFAULT));
        assert_eq!(
            read_struct::<libc::msghdr>(UNMAPPED).err(),
            Some(Errno::EFAULT)
        );
        assert_eq!(write_bytes(0, b"x"), Err(Errno::EFAULT));
        // Nothing to copy: no access, no fault (copy_from_user of 0 bytes).
        assert_eq!(read_bytes(0, 0), Ok(Vec::new()));
        assert_eq!(write_bytes(0, b""), Ok(()));
    }

    #[test]
    fn straddling_a_fault_is_efault() {
        let page = GuardedPage::new();
        assert_eq!(read_bytes(page.end_minus(4), 4).map(|b| b.len()), Ok(4));
        assert_eq!(read_bytes(page.end_minus(4), 8), Err(Errno::EFAULT));
        assert_eq!(write_bytes(page.end_minus(2), b"abcd"), Err(Errno::EFAULT));
    }

    #[test]
    fn sockaddr_rules_follow_move_addr() {
        let storage = [1u8; 16];
        let address = storage.as_ptr() as usize;
        assert_eq!(read_sockaddr(address, -1), Err(Errno::EINVAL));
        assert_eq!(read_sockaddr(address, 129), Err(Errno::EINVAL));
        assert_eq!(read_sockaddr(0, 0), Ok(Vec::new()));
        assert_eq!(read_sockaddr(0, 16), Err(Errno::EFAULT));
        assert_eq!(read_sockaddr(address, 16), Ok(vec![1; 16]));

        // Truncation: copy what fits, report the real length.
        let mut out = [0u8; 16];
        let mut len: libc::c_int = 4;
        let addr_bytes: Vec<u8> = (1..=16).collect();
        write_sockaddr(
            out.as_mut_ptr() as usize,
            &mut len as *mut _ as usize,
            &addr_bytes,
        )
        .unwrap();
        assert_eq!(&out[..5], &[1, 2, 3, 4, 0]);
        assert_eq!(len, 16);
        let mut negative: libc::c_int = -1;
        assert_eq!(
            write_sockaddr(
                out.as_mut_ptr() as usize,
                &mut negative as *mut _ as usize,
                &addr_bytes
            ),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            write_sockaddr(out.as_mut_ptr() as usize, 0, &addr_bytes),
            Err(Errno::EFAULT)
        );
    }

    #[test]
    fn iovec_import_rules() {
        let data = *b"hello, world";
        let good = [
            remote_iovec(data.as_ptr() as usize, 5),
            remote_iovec(data.as_ptr() as usize + 5, 7),
        ];
        let iovecs = read_iovecs(good.as_ptr() as usize, 2).unwrap();
        assert_eq!(total_len(&iovecs), 12);
        assert_eq!(read_iovecs(0, 1).err(), Some(Errno::EFAULT));
        assert_eq!(read_iovecs(0, 0).map(|v| v.len()), Ok(0));

        let negative = [remote_iovec(0, usize::MAX)];
        assert_eq!(
            read_iovecs(negative.as_ptr() as usize, 1).err(),
            Some(Errno::EINVAL)
        );
        let kernel_half = [remote_iovec(usize::MAX - 4096, 10)];
        assert_eq!(
            read_iovecs(kernel_half.as_ptr() as usize, 1).err(),
            Some(Errno::EFAULT)
        );
        // NULL with a length passes import (access_ok), and faults at the copy.
        let null = [remote_iovec(0, 10)];
        let iovecs = read_iovecs(null.as_ptr() as usize, 1).unwrap();
        assert_eq!(scatter(&iovecs, b"xyz"), Err(Errno::EFAULT));
        // Totals are capped at MAX_RW_COUNT.
        let huge = [remote_iovec(4096, MAX_RW_COUNT), remote_iovec(4096, 100)];
        let iovecs = read_iovecs(huge.as_ptr() as usize, 2).unwrap();
        assert_eq!(total_len(&iovecs), MAX_RW_COUNT);
    }

    #[test]
    fn batched_writes_stop_at_the_first_fault() {
        let mut first = [0u8; 3];
        let mut second = [0u8; 4];
        let mut address = [0u8; 16];
        let mut len: libc::c_int = 0;
        let targets = [
            remote_iovec(first.as_mut_ptr() as usize, 3),
            remote_iovec(second.as_mut_ptr() as usize, 4),
        ];
        let len_bytes = 16i32.to_ne_bytes();
        let mut batch = WriteBatch::new();
        batch
            .scatter(&targets, b"abcde")
            .bytes(address.as_mut_ptr() as usize, &[7; 16])
            .bytes(&mut len as *mut _ as usize, &len_bytes);
        assert_eq!(batch.flush(), Ok(()));
        // The data filled only 5 of 7 iovec bytes; the address did not spill into the rest.
        assert_eq!((&first, &second), (b"abc", b"de\0\0"));
        assert_eq!(address, [7; 16]);
        assert_eq!(len, 16);

        let mut batch = WriteBatch::new();
        batch
            .scatter(&targets, b"xyz")
            .bytes(0, b"bad")
            .bytes(&mut len as *mut _ as usize, &[0; 4]);
        assert_eq!(batch.flush(), Err(1));
        assert_eq!(&first, b"xyz");
        assert_eq!(len, 16, "parts after the fault are not written");

        // More iovecs than one call takes.
        let mut many = vec![0u8; 1500];
        let iovecs: Vec<iovec> = many
            .chunks_mut(1)
            .map(|b| remote_iovec(b.as_mut_ptr() as usize, 1))
            .collect();
        let data = vec![9u8; 1500];
        let five = 5i32.to_ne_bytes();
        let mut batch = WriteBatch::new();
        batch
            .scatter(&iovecs, &data)
            .bytes(&mut len as *mut _ as usize, &five);
        assert_eq!(batch.flush(), Ok(()));
        assert!(many.iter().all(|&b| b == 9));
        assert_eq!(len, 5);
    }

    #[test]
    fn address_and_payload_in_one_read() {
        let address = [3u8; 16];
        let payload = *b"payload";
        let parts = [remote_iovec(payload.as_ptr() as usize, 7)];
        let mut prefix = [0u8; 16];
        let mut buffer = Vec::new();
        read_and_gather(
            address.as_ptr() as usize,
            &mut prefix,
            &parts,
            usize::MAX,
            &mut buffer,
        )
        .unwrap();
        assert_eq!((prefix, buffer.as_slice()), ([3; 16], &b"payload"[..]));
        assert_eq!(
            read_and_gather(8, &mut prefix, &parts, usize::MAX, &mut buffer),
            Err(Errno::EFAULT)
        );
    }

    #[test]
    fn gather_and_scatter_partial_iovecs() {
        let source = *b"hello, world";
        let parts = [
            remote_iovec(source.as_ptr() as usize, 5),
            remote_iovec(0, 0),
            remote_iovec(source.as_ptr() as usize + 5, 7),
        ];
        let mut buffer = Vec::new();
        gather(&parts, usize::MAX, &mut buffer).unwrap();
        assert_eq!(buffer, b"hello, world");
        gather(&parts, 8, &mut buffer).unwrap();
        assert_eq!(buffer, b"hello, w");

        let mut first = [0u8; 3];
        let mut second = [0u8; 4];
        let targets = [
            remote_iovec(first.as_mut_ptr() as usize, 3),
            remote_iovec(second.as_mut_ptr() as usize, 4),
        ];
        // Longer data than room: the iovecs are filled, the rest is the caller's to report.
        scatter(&targets, b"abcdefghij").unwrap();
        assert_eq!((&first, &second), (b"abc", b"defg"));
        // Shorter data: only the first bytes.
        scatter(&targets, b"XY").unwrap();
        assert_eq!(&first, b"XYc");

        // The second iovec runs into an inaccessible page.
        let page = GuardedPage::new();
        let straddling = [
            remote_iovec(first.as_mut_ptr() as usize, 3),
            remote_iovec(page.end_minus(2), 4),
        ];
        assert_eq!(scatter(&straddling, b"1234567"), Err(Errno::EFAULT));
        assert_eq!(
            gather(&straddling, usize::MAX, &mut buffer),
            Err(Errno::EFAULT)
        );
    }
}
