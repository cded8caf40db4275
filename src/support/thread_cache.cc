#include "support/thread_cache.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

#if defined(__GLIBC__)
#include <malloc.h>  // malloc_usable_size
#endif

namespace nnport::thread_cache {
namespace {

// Class k holds blocks with room for k * kGranule + 8 bytes: what glibc gives a request of
// that size (its chunks are multiples of 16 bytes with an 8-byte header), so a block takes
// no more memory here than from malloc directly (rounding requests up to multiples of 16
// made a large file's tree-sitter tree a sixth larger, and its parse slower).
constexpr std::size_t kSlack = 8;
constexpr std::size_t kClasses = (kMaxSmall - kSlack + kGranule - 1) / kGranule;

std::size_t capacity(std::size_t size_class) { return size_class * kGranule + kSlack; }

std::atomic<std::size_t> max_cached_bytes{std::size_t{8} << 20};

struct FreeBlock {
  FreeBlock* next;
};

// Trivially destructible and constant-initialised: usable from the first allocation of the
// program to the last free of the thread (also while other objects' destructors run after
// the lists went back to malloc).
struct Lists {
  FreeBlock* heads[kClasses + 1];  // by size class; 0 unused
  std::size_t bytes;
  bool drain_registered;
  bool closed;  // the thread is ending: blocks go straight back to malloc
};
thread_local Lists lists{};

// Gives the thread's blocks back to malloc when the thread ends.
struct Drain {
  bool armed = false;
  ~Drain() {
    for (FreeBlock*& head : lists.heads) {
      while (head) {
        FreeBlock* next = head->next;
        std::free(head);
        head = next;
      }
    }
    lists.bytes = 0;
    lists.closed = true;
  }
};
thread_local Drain drain;

std::size_t class_of(std::size_t size) {
  return size <= kGranule + kSlack ? 1 : (size - kSlack + kGranule - 1) / kGranule;
}

void push(void* block, std::size_t size_class) noexcept {
  std::size_t bytes = capacity(size_class);
  if (lists.closed || lists.bytes + bytes > max_cached_bytes.load(std::memory_order_relaxed)) {
    std::free(block);
    return;
  }
  if (!lists.drain_registered) {
    lists.drain_registered = true;
    drain.armed = true;  // constructs it, so that its destructor runs when the thread ends
  }
  auto* b = static_cast<FreeBlock*>(block);
  b->next = lists.heads[size_class];
  lists.heads[size_class] = b;
  lists.bytes += bytes;
}

// The room of a block from allocate(); 0 where it cannot be known.
std::size_t usable_size(void* block) noexcept {
#if defined(__GLIBC__)
  return malloc_usable_size(block);
#else
  (void)block;
  return 0;
#endif
}

}  // namespace

bool available() noexcept {
#if defined(__GLIBC__)
  return true;
#else
  return false;
#endif
}

void set_max_cached_bytes(std::size_t bytes) noexcept { max_cached_bytes.store(bytes, std::memory_order_relaxed); }

void* allocate(std::size_t size) noexcept {
  if (size > kMaxSmall) return std::malloc(size);
  std::size_t size_class = class_of(size);
  if (FreeBlock* b = lists.heads[size_class]) {
    FreeBlock* next = b->next;
    lists.heads[size_class] = next;
    lists.bytes -= capacity(size_class);
    // The next allocation of this class reads `next`'s link: a freed block is often out of
    // the cache by then (this load was a good part of the allocator's time).
    if (next) __builtin_prefetch(next);
    return b;
  }
  return std::malloc(capacity(size_class));
}

void release(void* block, std::size_t size) noexcept {
  if (!block) return;
  if (size > kMaxSmall) {
    std::free(block);
    return;
  }
  // allocate(size) gave a block of this class: from its list or malloc'd with its size
  push(block, class_of(size));
}

void release(void* block) noexcept {
  if (!block) return;
  std::size_t usable = usable_size(block);
  // The class whose size the block surely holds (usable >= the size it was allocated with).
  std::size_t size_class = usable < capacity(1) ? 0 : (usable - kSlack) / kGranule;
  if (size_class == 0 || size_class > kClasses) {
    std::free(block);
    return;
  }
  push(block, size_class);
}

void* reallocate(void* block, std::size_t size) noexcept {
  if (!block) return allocate(size);
  std::size_t usable = usable_size(block);
  if (size <= usable) return block;
  if (usable > capacity(kClasses)) return std::realloc(block, size);  // a large block: malloc's
  void* p = allocate(size);
  if (!p) return nullptr;
  std::memcpy(p, block, usable);
  release(block);
  return p;
}

std::size_t cached_bytes() noexcept { return lists.bytes; }

}  // namespace nnport::thread_cache
