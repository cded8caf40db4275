// Batch conversion: `nnport convert SRC_DIR|FILE... --to X -o OUT_DIR`. Every .py file
// under the sources is migrated on its own (all cores by default), the folder layout is
// mirrored under OUT_DIR, and one failure never stops the run. Progress goes to stderr
// (a bar on a terminal, a line per file otherwise), a summary to stdout, and the same
// data, per file, to an optional JSON report.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "driver/driver.h"

namespace nnport {

struct BatchOptions {
  std::vector<std::string> sources;  // folders (walked for .py files) and files
  std::string out_dir;
  Options convert;       // --to, --style, --layout, --lazy for every file
  unsigned jobs = 0;     // worker threads; 0 = one per core
  std::string report;    // JSON report path ("" = none)
  std::string manifest;  // JSON manifest of per-file options ("" = none)
};

// The per-file options of a manifest: {"files": {"REL/PATH.py": {"entry": "...",
// "input_shape": "3,64,64" or [...], "style": "...", "layout": "...", "lazy": bool}}},
// paths relative to the folder or common parent of the sources, as in the output.
// Throws std::invalid_argument with a readable message.
std::map<std::string, Options> read_manifest(const std::string& path, const Options& defaults);

// Runs the batch. Exit status: 0 when every model file migrated, 1 when one failed,
// 2 on bad options, 130 when interrupted (SIGINT/SIGTERM: files in progress finish, no
// new one starts, and the summary of what finished is printed and reported).
int run_batch(const BatchOptions& options);

}  // namespace nnport
