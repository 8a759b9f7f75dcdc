//! Giving freed memory back to the operating system after `POST /_sim/reset`.
//!
//! glibc's allocator keeps most of what a program frees: freed chunks stay in its arenas (one
//! per thread that allocated, so several under tokio's workers) for the next allocation, and
//! only the free space at the very top of the main heap is returned on its own. After a reset
//! that dropped 100,000 Checkout Sessions the simulator kept 211 MiB resident. `malloc_trim(0)`
//! walks every arena and returns each whole free page to the kernel (`MADV_DONTNEED`), which
//! brings the resident size back near its figure at start (README, Performance, "State").
//!
//! Why not another allocator: jemalloc (tikv-jemallocator) as the binary's global allocator
//! also gives memory back, but it is a C library built by a build script for every build of the
//! binary, and it would cover only the binary, not a simulator embedded in a test through the
//! library. One call to glibc after the rare reset does the same here with no new dependency.
//! Other platforms and C libraries (musl, macOS) are left as they are.

/// Asks the allocator to return the memory it holds free to the operating system. Takes a few
/// milliseconds on a large heap; call it outside the store's lock.
pub fn give_back() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    glibc::trim();
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
mod glibc {
    pub fn trim() {
        // SAFETY: malloc_trim takes no pointer and touches only glibc's own allocator state,
        // locking each arena while it trims it, so it is safe to call from any thread at any
        // time, concurrently with allocations. Its result (whether anything was released) is
        // not needed.
        unsafe {
            libc::malloc_trim(0);
        }
    }
}
