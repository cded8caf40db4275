#include "syntax/tree_alloc.h"

#include <tree_sitter/api.h>

#include <cstdlib>
#include <cstring>
#include <mutex>

#include "support/thread_cache.h"

namespace nnport::syntax::tree_alloc {
namespace {

// tree-sitter does not check for null (as its own ts_malloc_default, which aborts)
void* checked(void* p) {
  if (!p) std::abort();
  return p;
}

void* allocate(std::size_t size) { return checked(thread_cache::allocate(size)); }

void* allocate_zeroed(std::size_t count, std::size_t size) {
  std::size_t total = count * size;
  if (size && total / size != count) std::abort();
  void* p = allocate(total);
  std::memset(p, 0, total);
  return p;
}

void* reallocate(void* block, std::size_t size) { return checked(thread_cache::reallocate(block, size)); }

void release(void* block) { thread_cache::release(block); }

}  // namespace

bool install() {
  static std::once_flag once;
  static bool installed = false;
  std::call_once(once, [] {
    if (!thread_cache::available()) return;
    ts_set_allocator(allocate, allocate_zeroed, reallocate, release);
    installed = true;
  });
  return installed;
}

}  // namespace nnport::syntax::tree_alloc
