// Small blocks from per-thread free lists by size class, over malloc: for tree-sitter's
// allocations (syntax/tree_alloc.h) and the native command's operator new
// (cli/native_alloc.cc).
//
// A conversion makes and frees millions of small blocks (tree-sitter's stack and subtrees,
// and in the command the syntax nodes' strings and vectors, evaluator values, pivot
// attribute maps); through glibc's malloc each pair costs a few hundred instructions once
// its small per-size caches overflow. A block freed here goes on its thread's list for its
// size class and the next allocation of that class takes it back. Every block is a malloc
// block of its class's size, so a block freed by another thread than the one that
// allocated it joins that thread's lists, and a list can always give its blocks back to
// malloc (a thread's lists go back when the thread ends, or past the bound).
//
// A free that does not give the size learns it from malloc_usable_size (a block on the list
// of class k has room for at least k * kGranule + 8 bytes): glibc only. Elsewhere available()
// is false and nothing should use these functions.
#pragma once

#include <cstddef>

namespace nnport::thread_cache {

constexpr std::size_t kGranule = 16;
constexpr std::size_t kMaxSmall = 1024;  // larger blocks: malloc and free

// Whether this platform can give a block's size (glibc).
bool available() noexcept;

// The bytes a thread keeps on its lists at most (8 MiB unless set; the native command,
// short-lived, keeps more). Set it before any thread allocates.
void set_max_cached_bytes(std::size_t bytes) noexcept;

// A block of at least `size` bytes (malloc's alignment), or null when memory is exhausted.
void* allocate(std::size_t size) noexcept;
// Frees a block from allocate(); `size` is the size it was allocated with.
void release(void* block, std::size_t size) noexcept;
// Frees a block from allocate() whose size the caller does not know.
void release(void* block) noexcept;
// realloc() for blocks from allocate(): the contents up to `size` bytes move along.
void* reallocate(void* block, std::size_t size) noexcept;

// Bytes on this thread's lists (for tests).
std::size_t cached_bytes() noexcept;

}  // namespace nnport::thread_cache
