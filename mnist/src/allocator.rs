//! Keeping freed memory for reuse: the allocator settings the trainer runs with.
//!
//! By default glibc gives every freed block over its mmap threshold (128 KiB to start with) back to the
//! kernel, and trims the top of the heap when more than the trim threshold is free there. A training step
//! allocates and frees the same large arrays every iteration (a CNN step frees tens of megabytes of im2col
//! columns and gradients), so each step asked the kernel for fresh zeroed pages and page-faulted them in
//! again: on the SimpleConvNet the backward pass spent about half its time in page faults (60 → 30 ms measured
//! on a Zen 3 core). Raising both thresholds keeps those blocks in the process for the next step; the peak
//! memory is the same, and only blocks over 32 MiB (glibc's largest threshold) still go back at once.

/// Raises glibc's mmap and trim thresholds so that freed arrays are reused instead of returned to the kernel.
/// Does nothing on other C libraries. Call it once, early in `main`.
///
/// ```
/// mnist::allocator::retain_freed_memory();
/// let big = vec![0.0f32; 1 << 20]; // 4 MiB: from the heap, and kept there when dropped
/// drop(big);
/// ```
pub fn retain_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // glibc's maximum mmap threshold on 64-bit targets (DEFAULT_MMAP_THRESHOLD_MAX).
        const MMAP_THRESHOLD: libc::c_int = 32 << 20;
        const TRIM_THRESHOLD: libc::c_int = 256 << 20;
        // SAFETY: mallopt only changes the allocator's tuning parameters; it is safe to call at any time.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
            libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD);
        }
    }
}
