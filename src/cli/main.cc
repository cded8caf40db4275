// The `nnport` executable: hands its arguments to the engine's command line.
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "driver/driver.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    return nnport::run_cli(args);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "nnport: internal error: %s\n", e.what());
    return 70;  // EX_SOFTWARE
  }
}
