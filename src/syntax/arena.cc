#include "syntax/arena.h"

#include <cstdint>
#include <utility>

namespace nnport::syntax {

void* NodeArena::allocate(std::size_t size, std::size_t align) {
  auto aligned = [&](std::byte* p) {
    auto address = reinterpret_cast<std::uintptr_t>(p);
    return reinterpret_cast<std::byte*>((address + align - 1) / align * align);
  };
  std::byte* at = next_ ? aligned(next_) : nullptr;
  if (!at || at + size > end_) {
    std::size_t block = size + align > kBlock ? size + align : kBlock;
    blocks_.emplace_back(new std::byte[block]);  // (not zeroed)
    end_ = blocks_.back().get() + block;
    at = aligned(blocks_.back().get());
  }
  next_ = at + size;
  return at;
}

namespace {
thread_local std::shared_ptr<NodeArena> current_arena;

template <class T, class... Args>
std::shared_ptr<T> make_node(Args&&... args) {
  if (current_arena) return std::allocate_shared<T>(ArenaAllocator<T>(current_arena), std::forward<Args>(args)...);
  return std::make_shared<T>(std::forward<Args>(args)...);
}
}  // namespace

NodeArenaScope::NodeArenaScope() : previous_(std::move(current_arena)) {
  current_arena = std::make_shared<NodeArena>();
}
NodeArenaScope::~NodeArenaScope() { current_arena = std::move(previous_); }

ExprPtr new_expr() { return make_node<Expr>(); }
ExprPtr new_expr(const Expr& copy) { return make_node<Expr>(copy); }
StmtPtr new_stmt() { return make_node<Stmt>(); }
StmtPtr new_stmt(const Stmt& copy) { return make_node<Stmt>(copy); }

}  // namespace nnport::syntax
