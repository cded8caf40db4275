// The `nnport` executable: the engine's verbs (convert, inspect, catalog, plan) run here,
// natively, without starting Python; `verify` and `weights` need the frameworks and are
// handed to the Python package (`python -m nnport ...`) with exec, so their exit status
// and signals are Python's own.
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <unistd.h>
#include <vector>

#include "driver/driver.h"

namespace {

bool executable(const std::string& path) { return access(path.c_str(), X_OK) == 0; }

// The Python that has this nnport installed: $NNPORT_PYTHON, else the python3/python
// beside this executable (a virtual environment's bin/, where pip put it), else
// python3 on PATH.
std::string find_python() {
  if (const char* chosen = std::getenv("NNPORT_PYTHON"); chosen && *chosen) return chosen;
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n > 0) {
    std::string dir(self, static_cast<size_t>(n));
    dir = dir.substr(0, dir.find_last_of('/') + 1);
    for (const char* name : {"python3", "python"})
      if (executable(dir + name)) return dir + name;
  }
  return "python3";
}

int run_python(const std::vector<std::string>& args) {
  std::string python = find_python();
  std::vector<std::string> words = {python, "-m", "nnport"};
  words.insert(words.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  std::fflush(stdout);
  std::fflush(stderr);
  execvp(argv[0], argv.data());
  std::fprintf(stderr, "nnport: error: `nnport %s` needs Python with the nnport package: cannot run %s: %s\n"
               "  hint: set NNPORT_PYTHON to the Python interpreter nnport is installed in\n",
               args[0].c_str(), python.c_str(), std::strerror(errno));
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && (args[0] == "verify" || args[0] == "weights")) return run_python(args);
  try {
    return nnport::run_cli(args);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "nnport: internal error: %s\n", e.what());
    return 70;  // EX_SOFTWARE
  }
}
