// driver: the engine's public entry points. Runs parse -> recognise -> evaluate ->
// passes -> emit, and turns every failure into located diagnostics.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "diagnostics/diagnostic.h"

namespace nnport {

// One model input, without the batch dimension: `--input-shape [DTYPE:]D1,D2,...`.
struct InputSpec {
  std::string dtype = "float32";
  std::vector<long long> dims;
};
// Parses "int64:200" or "3,64,64"; throws std::invalid_argument with a readable message.
InputSpec parse_input_spec(std::string_view text);

struct Options {
  std::string to;                      // target framework: "keras" or "torch" (convert only)
  std::string style;                   // "sequential", "subclass" or "" (= the source's style)
  std::string layout = "keep";         // "keep" or "native"
  std::string entry;                   // entry expression; "" = find it in the file
  std::vector<InputSpec> input_shapes; // --input-shape, once per model input
  bool lazy = false;                   // --lazy (Keras -> PyTorch: lazy modules when shapes are unknown)
};

struct Result {
  bool ok = false;
  // Not ok because the file has no model to migrate: it imports neither framework, is
  // already in the target framework, or defines no model nnport could find.
  bool no_model = false;
  // The framework the file imports: "torch", "keras", "mixed" (both) or "" (neither);
  // set when the file parsed.
  std::string framework;
  std::string output;                  // generated code / inspect text / JSON
  std::vector<Diagnostic> diagnostics; // errors (when !ok) and warnings
  std::string rendered_diagnostics;    // all diagnostics rendered for a terminal
};

// Source text of a Python model file -> target framework code.
Result convert(std::string_view source, const std::string& file, const Options& options);
// The pivot model of the entry: format "text", "json" or "dot".
Result inspect(std::string_view source, const std::string& file, const Options& options,
               const std::string& format);
// The weight plan (docs/weight-plan.md) for copying the source model's parameters into
// the model `convert` writes with these options. JSON.
Result weight_plan(std::string_view source, const std::string& file, const Options& options);
// The catalog as JSON (docs/catalog.md).
std::string catalog_json();

// The command line of the engine (convert, inspect, catalog, plan). Returns the exit status.
int run_cli(const std::vector<std::string>& args);

}  // namespace nnport
