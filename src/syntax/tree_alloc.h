// The memory tree-sitter allocates: small blocks come from per-thread caches of the blocks
// its earlier parses freed (support/thread_cache.h).
//
// A parse makes about one small allocation per source byte (the stack's subtree arrays, the
// Python scanner's state, which it frees and allocates again on every token) and frees
// most of them when the tree is deleted. Through malloc those cost ~200 instructions each
// (the tree's blocks are freed in bulk, past malloc's small per-size caches); a free list
// per size class costs a few.
//
// tree-sitter's allocator is process-wide (ts_set_allocator): parse.cc installs these
// functions before the first parse, so every block tree-sitter frees came from them. Where
// the caches are not available (not glibc), tree-sitter keeps malloc.
#pragma once

namespace nnport::syntax::tree_alloc {

// Installs the caches as tree-sitter's allocator (the first call; later calls do nothing).
// Returns whether tree-sitter allocates through them.
bool install();

}  // namespace nnport::syntax::tree_alloc
