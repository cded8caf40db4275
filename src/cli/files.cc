#include "cli/files.h"

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace nnport {

bool read_file(const std::string& path, std::string& out) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return false;
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::stringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return true;
}

bool write_file_atomically(const std::string& path, const std::string& text, std::string& error) {
  namespace fs = std::filesystem;
  static std::atomic<unsigned long> counter{0};  // several threads may write at once
  fs::path target(path);
  fs::path dir = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  std::error_code ec;
  fs::create_directories(dir, ec);
  fs::path tmp = dir / ("." + target.filename().string() + ".nnport-tmp-" + std::to_string(getpid()) + "-" +
                        std::to_string(counter++));
  {
    std::ofstream out(tmp, std::ios::binary);
    if (!out || !(out << text) || !out.flush()) {
      out.close();
      fs::remove(tmp, ec);
      error = "cannot write " + path;
      return false;
    }
  }
  fs::rename(tmp, target, ec);
  if (ec) {
    fs::remove(tmp, ec);
    error = "cannot write " + path;
    return false;
  }
  return true;
}

}  // namespace nnport
