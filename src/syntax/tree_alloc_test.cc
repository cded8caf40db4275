// tree-sitter allocates from the per-thread caches (tree_alloc.h): parses on several
// threads, one after the other on each, give their trees and free them.
#include "syntax/tree_alloc.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "support/thread_cache.h"
#include "syntax/parse.h"

namespace nnport::syntax::tree_alloc {
namespace {

TEST(TreeAlloc, IsInstalledWhereTheCachesWork) { EXPECT_EQ(install(), thread_cache::available()); }

TEST(TreeAlloc, ParsesOnSeveralThreads) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([] {
      for (int i = 0; i < 20; ++i) {
        Module m = parse_module("import torch.nn as nn\n\nmodel = nn.Sequential(nn.ReLU(), nn.Linear(3, 4))\n", "t.py");
        ASSERT_EQ(m.body.size(), 2u);
        EXPECT_EQ(parse_only(std::string(2000, ' ') + "x = [" + std::string(3000, '1') + "]\n") > 3, true);
      }
    });
  for (auto& t : threads) t.join();
}

}  // namespace
}  // namespace nnport::syntax::tree_alloc
