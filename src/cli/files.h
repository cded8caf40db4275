// Reading and writing the user's files for the command line.
#pragma once

#include <string>

namespace nnport {

// The whole file; false when it cannot be read.
bool read_file(const std::string& path, std::string& out);

// Writes the whole file or nothing: a temporary file in the same directory (unique to this
// process and call), renamed over `path`. Creates missing directories. On failure, `error`
// says why and no file is left behind.
bool write_file_atomically(const std::string& path, const std::string& text, std::string& error);

}  // namespace nnport
