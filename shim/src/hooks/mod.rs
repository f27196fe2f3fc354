//! The exported libc symbols. Each hook: reentrancy guard, fd table lookup, not ours → the real
//! function; ours → the stack; errno written last; no panic crosses the boundary.
