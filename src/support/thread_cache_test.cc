// The small-block caches (thread_cache.h): freed blocks are reused by size class, whether
// the free gave the size or not; blocks keep their contents through reallocation; the lists
// stay within their bound; a block may be freed by another thread.
#include "support/thread_cache.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

namespace nnport::thread_cache {
namespace {

TEST(ThreadCache, FreedBlocksAreReusedBySizeClass) {
  void* a = allocate(40);
  std::size_t before = cached_bytes();
  release(a, 40);
  bool cached = cached_bytes() > before;  // (unless an earlier test filled the lists)
  void* b = allocate(33);                // the same class (room for 40 bytes)
  if (cached) {
    EXPECT_EQ(a, b);
  }
  release(b);  // without the size: its class from the block's usable size
  void* c = allocate(48);
  std::memset(c, 0xCD, 48);  // room for the class's size
  release(c, 48);
}

TEST(ThreadCache, EveryBlockHoldsItsSize) {
  std::vector<std::pair<unsigned char*, std::size_t>> blocks;
  for (int round = 0; round < 3; ++round) {
    for (std::size_t n : {0, 1, 8, 15, 16, 17, 100, 511, 512, 1000, 1024, 1025, 5000}) {
      auto* p = static_cast<unsigned char*>(allocate(n));
      ASSERT_NE(p, nullptr);
      EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % 16, 0u) << n;
      std::memset(p, static_cast<int>(n & 0xFF), n);
      blocks.push_back({p, n});
    }
    for (auto& [p, n] : blocks) {
      for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(p[i], static_cast<unsigned char>(n & 0xFF)) << n;
      if (n % 2) release(p);  // half of them without the size
      else release(p, n);
    }
    blocks.clear();
  }
  release(nullptr);
  release(nullptr, 8);
}

TEST(ThreadCache, TheListsAreBounded) {
  constexpr std::size_t kBound = std::size_t{8} << 20;  // the default
  std::vector<void*> blocks;
  for (std::size_t total = 0; total < 2 * kBound; total += 512) blocks.push_back(allocate(512));
  for (void* p : blocks) release(p, 512);
  EXPECT_LE(cached_bytes(), kBound);
}

TEST(ThreadCache, ReallocationKeepsTheContents) {
  if (!available()) GTEST_SKIP() << "no block sizes on this platform";
  auto* p = static_cast<int*>(allocate(4 * sizeof(int)));
  for (int i = 0; i < 4; ++i) p[i] = i;
  for (std::size_t n = 8; n <= 8192; n *= 2) {  // through the classes into large blocks
    p = static_cast<int*>(reallocate(p, n * sizeof(int)));
    for (std::size_t i = n / 2; i < n; ++i) p[i] = static_cast<int>(i);
    for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(p[i], static_cast<int>(i));
  }
  p = static_cast<int*>(reallocate(p, 2 * sizeof(int)));  // shrinking keeps the block
  EXPECT_EQ(p[1], 1);
  release(p);
  void* q = reallocate(nullptr, 40);  // as allocate
  release(q);
}

TEST(ThreadCache, BlocksMayBeFreedByAnotherThread) {
  std::vector<void*> blocks;
  for (int i = 0; i < 1000; ++i) blocks.push_back(allocate(16 + i % 300));
  std::thread other([&] {
    for (size_t i = 0; i < blocks.size(); ++i) release(blocks[i], 16 + i % 300);
    EXPECT_GT(cached_bytes(), 0u);
  });  // the other thread's lists go back to malloc when it ends
  other.join();
}

}  // namespace
}  // namespace nnport::thread_cache
