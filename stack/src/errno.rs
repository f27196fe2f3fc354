//! Linux errno values. The stack returns `Result<T, Errno>`; the shim writes `errno` once, at the
//! C boundary. Numbers are Linux's (asm-generic/errno-base.h, errno.h), not the host libc's,
//! so the stack stays portable and its tests need no libc.

macro_rules! errnos {
    ($($name:ident = $num:expr),* $(,)?) => {
        /// A Linux error number.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(i32)]
        #[allow(clippy::upper_case_acronyms)]
        pub enum Errno { $($name = $num),* }

        impl Errno {
            /// The symbolic name, as strerrorname_np(3) prints it.
            pub fn name(self) -> &'static str {
                match self { $(Errno::$name => stringify!($name)),* }
            }

            /// The errno for a raw number, if it is one the stack knows.
            pub fn from_raw(num: i32) -> Option<Errno> {
                match num { $($num => Some(Errno::$name),)* _ => None }
            }
        }
    };
}

errnos! {
    EPERM = 1, ENOENT = 2, ESRCH = 3, EINTR = 4, EIO = 5, ENXIO = 6, E2BIG = 7,
    EBADF = 9, EAGAIN = 11, ENOMEM = 12, EACCES = 13, EFAULT = 14, EBUSY = 16,
    EEXIST = 17, ENODEV = 19, ENOTDIR = 20, EINVAL = 22, ENFILE = 23, EMFILE = 24,
    ENOTTY = 25, EFBIG = 27, ENOSPC = 28, ESPIPE = 29, EPIPE = 32, EDOM = 33, ERANGE = 34,
    ENOSYS = 38, ELOOP = 40, ENOMSG = 42, ENODATA = 61, ENONET = 64, EPROTO = 71, EREMOTEIO = 121, ENOTSOCK = 88, EDESTADDRREQ = 89, EMSGSIZE = 90, EPROTOTYPE = 91,
    ENOPROTOOPT = 92, EPROTONOSUPPORT = 93, ESOCKTNOSUPPORT = 94, EOPNOTSUPP = 95,
    EPFNOSUPPORT = 96, EAFNOSUPPORT = 97, EADDRINUSE = 98, EADDRNOTAVAIL = 99,
    ENETDOWN = 100, ENETUNREACH = 101, ENETRESET = 102, ECONNABORTED = 103,
    ECONNRESET = 104, ENOBUFS = 105, EISCONN = 106, ENOTCONN = 107, ESHUTDOWN = 108,
    ETIMEDOUT = 110, ECONNREFUSED = 111, EHOSTDOWN = 112, EHOSTUNREACH = 113,
    EALREADY = 114, EINPROGRESS = 115, ENOMEDIUM = 123, EMEDIUMTYPE = 124,
    ENOKEY = 126, EKEYEXPIRED = 127, ERESTARTSYS = 512,
}

impl Errno {
    /// Alias used by the socket code: Linux defines EWOULDBLOCK as EAGAIN.
    pub const EWOULDBLOCK: Errno = Errno::EAGAIN;
    /// Alias: Linux defines ENOTSUP as EOPNOTSUPP.
    pub const ENOTSUP: Errno = Errno::EOPNOTSUPP;

    /// The raw number.
    pub fn raw(self) -> i32 {
        self as i32
    }
}

impl core::fmt::Display for Errno {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        assert_eq!(Errno::from_raw(98), Some(Errno::EADDRINUSE));
        assert_eq!(Errno::EACCES.raw(), 13);
        assert_eq!(Errno::EWOULDBLOCK.name(), "EAGAIN");
        assert_eq!(Errno::from_raw(10_000), None);
    }
}
