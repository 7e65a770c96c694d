//! The trainer's memory settings: freed memory kept for reuse, and huge pages for the images.
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

/// Asks the kernel to back the spare capacity of `buffer` (the 2 MiB-aligned part of it) with 2 MiB pages
/// when it is first written. Call it on a fresh buffer, before filling it. Only a hint: without transparent
/// huge pages (or off Linux) nothing changes.
///
/// The IDX reader calls it on the buffer it decompresses the images into: the 47 MB of training images then
/// fault in as 23 huge pages instead of 11,500 small ones (a one-iteration run 0.10-0.13 s -> 0.07-0.08 s with
/// the copy it no longer makes, on a Zen 4), and random rows need fewer page-table entries. The batch
/// thread's conversion of random rows was not measurably faster for it (`bench/README.md`).
///
/// ```
/// let mut pixels: Vec<u8> = Vec::with_capacity(8 << 20);
/// mnist::allocator::advise_huge_pages(&mut pixels);
/// pixels.resize(8 << 20, 0); // the pages fault in, as huge pages where the kernel has them
/// assert_eq!(pixels.len(), 8 << 20);
/// ```
pub fn advise_huge_pages<T>(buffer: &mut Vec<T>) {
    #[cfg(target_os = "linux")]
    {
        const HUGE_PAGE: usize = 2 << 20;
        let spare = buffer.spare_capacity_mut();
        let start = spare.as_mut_ptr() as usize;
        let end = start + std::mem::size_of_val(spare);
        let (first, last) = (
            start.next_multiple_of(HUGE_PAGE),
            end / HUGE_PAGE * HUGE_PAGE,
        );
        if first < last {
            // SAFETY: the range lies inside `buffer`'s allocation, which `buffer` owns and nothing reads
            // (spare capacity), and MADV_HUGEPAGE changes only how its pages are backed, never their
            // contents. A refusal (EINVAL without transparent huge pages) leaves everything as it was.
            unsafe {
                libc::madvise(
                    first as *mut libc::c_void,
                    last - first,
                    libc::MADV_HUGEPAGE,
                )
            };
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = buffer;
}
