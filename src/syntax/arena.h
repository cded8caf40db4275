// Memory for the syntax nodes the parser makes: carved from large blocks and released all
// at once, when the last node made from them is destroyed.
//
// A parsed file holds a dozen nodes per source line, each one allocation when made with
// std::make_shared; freeing them one by one at the end of a conversion cost a large part
// of converting a big file (the allocator merges each freed chunk with its neighbours,
// scattered over a heap of hundreds of megabytes), and walks over them touched memory
// spread out by the temporaries allocated in between. Nodes made from an arena lie in
// parse order, and go with their blocks. Not thread-safe: one parse makes its nodes.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "syntax/ast.h"

namespace nnport::syntax {

class NodeArena {
 public:
  NodeArena() = default;
  NodeArena(const NodeArena&) = delete;
  NodeArena& operator=(const NodeArena&) = delete;
  void* allocate(std::size_t size, std::size_t align);

 private:
  static constexpr std::size_t kBlock = 256 * 1024;
  std::vector<std::unique_ptr<std::byte[]>> blocks_;
  std::byte* next_ = nullptr;
  std::byte* end_ = nullptr;
};

// A std::allocator for std::allocate_shared: every node holds the arena (through its
// control block) and gives nothing back on its own.
template <class T>
struct ArenaAllocator {
  using value_type = T;
  std::shared_ptr<NodeArena> arena;

  explicit ArenaAllocator(std::shared_ptr<NodeArena> a) : arena(std::move(a)) {}
  template <class U>
  ArenaAllocator(const ArenaAllocator<U>& other) : arena(other.arena) {}
  T* allocate(std::size_t n) { return static_cast<T*>(arena->allocate(n * sizeof(T), alignof(T))); }
  void deallocate(T*, std::size_t) noexcept {}
  template <class U>
  bool operator==(const ArenaAllocator<U>& other) const {
    return arena == other.arena;
  }
  template <class U>
  bool operator!=(const ArenaAllocator<U>& other) const {
    return arena != other.arena;
  }
};

// The nodes made outside the parser (a backend's output, copies of source nodes) come from
// the arena of the innermost scope alive on this thread, or from the heap without one.
class NodeArenaScope {
 public:
  NodeArenaScope();
  ~NodeArenaScope();
  NodeArenaScope(const NodeArenaScope&) = delete;
  NodeArenaScope& operator=(const NodeArenaScope&) = delete;

 private:
  std::shared_ptr<NodeArena> previous_;
};

}  // namespace nnport::syntax
