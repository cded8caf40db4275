// The native command's memory: its global operator new and delete take small blocks from
// per-thread caches (support/thread_cache.h), and malloc keeps the memory the command frees. Linked
// into the `nnport` executable only (CMakeLists.txt, option NNPORT_THREAD_CACHE): the engine
// library and the Python module keep the default allocator and settings. Elsewhere than on
// glibc, where a block's size cannot be asked, nothing changes.
#include <cstddef>
#include <cstdlib>  // (defines __GLIBC__ on glibc)
#include <new>

#include "support/thread_cache.h"

#if defined(__GLIBC__)

#include <malloc.h>

namespace {

// glibc gives the free top of a thread's heap back to the system when more than a few
// hundred KiB of it are free (the threshold follows the largest block freed), and serves
// blocks past its mmap threshold with fresh mappings: in a batch, every file then faults
// its memory in again (a page fault for every 4 KiB, a tenth of the time). The command is
// short-lived: it keeps what it freed for the next file.
[[maybe_unused]] const bool kMallocTuned = [] {
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  // (and the per-thread caches may hold more than in a long-lived Python process)
  nnport::thread_cache::set_max_cached_bytes(std::size_t{32} << 20);
  return true;
}();

void* allocate_or_throw(std::size_t size) {
  for (;;) {
    if (void* p = nnport::thread_cache::allocate(size)) return p;
    std::new_handler handler = std::get_new_handler();
    if (!handler) throw std::bad_alloc();
    handler();
  }
}

}  // namespace

void* operator new(std::size_t size) { return allocate_or_throw(size); }
void* operator new[](std::size_t size) { return allocate_or_throw(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept { return nnport::thread_cache::allocate(size); }
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept { return nnport::thread_cache::allocate(size); }

void operator delete(void* p) noexcept { nnport::thread_cache::release(p); }
void operator delete[](void* p) noexcept { nnport::thread_cache::release(p); }
void operator delete(void* p, std::size_t size) noexcept { nnport::thread_cache::release(p, size); }
void operator delete[](void* p, std::size_t size) noexcept { nnport::thread_cache::release(p, size); }
void operator delete(void* p, const std::nothrow_t&) noexcept { nnport::thread_cache::release(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { nnport::thread_cache::release(p); }

#endif
