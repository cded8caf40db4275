// The engine's command line: convert, inspect, catalog, plan. (`verify` and `weights`
// need the frameworks and live in the Python package, whose `nnport` command forwards
// everything else here.)
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/batch.h"
#include "cli/files.h"
#include "driver/driver.h"

namespace nnport {

namespace {

struct Common {
  std::string source;
  std::string entry;
  std::vector<std::string> input_shapes;
};

void add_common(CLI::App* cmd, Common& c) {
  cmd->add_option("source", c.source, "Python model file")->required();
  cmd->add_option("--entry", c.entry, "Python expression that builds the model, e.g. \"AlexNet(num_classes=10)\"");
  cmd->add_option("--input-shape", c.input_shapes,
                  "input shape without the batch axis, [DTYPE:]D1,D2,...; once per model input")
      ->take_first();
}

}  // namespace

int run_cli(const std::vector<std::string>& args) {
  CLI::App app{"nnport: migrate neural-network code between PyTorch and Keras"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "nnport 0.1.0");
  app.footer(
      "Checking a migration and converting its weights need PyTorch and TensorFlow:\n"
      "  nnport verify SRC.py DST.py      (nnport verify --help)\n"
      "  nnport weights SRC.py DST.py SRC_WEIGHTS -o DST_WEIGHTS      (nnport weights --help)");

  std::vector<std::string> conv_sources;
  std::string conv_entry, report, manifest;
  std::vector<std::string> conv_shapes;
  std::string to, style, layout = "keep", output;
  bool lazy = false;
  unsigned jobs = 0;
  auto* c = app.add_subcommand("convert",
                               "migrate a model file to another framework; or every .py file of folders and files "
                               "into an output folder (-o OUT_DIR)");
  c->add_option("source", conv_sources, "Python model file; or folders and files to migrate into -o OUT_DIR")
      ->required();
  c->add_option("--entry", conv_entry, "Python expression that builds the model, e.g. \"AlexNet(num_classes=10)\"");
  c->add_option("--input-shape", conv_shapes,
                "input shape without the batch axis, [DTYPE:]D1,D2,...; once per model input")
      ->take_first();
  c->add_option("--to", to, "target framework")->required()->check(CLI::IsMember({"keras", "torch"}));
  c->add_option("--style", style, "target style (default: the source's)")->check(CLI::IsMember({"sequential", "subclass"}));
  c->add_option("--layout", layout, "keep: accept the source's tensors; native: the target's channel order")
      ->check(CLI::IsMember({"keep", "native"}));
  c->add_option("-o,--output", output, "output file (default: standard output); the output folder of a batch");
  c->add_flag("--lazy", lazy, "Keras -> PyTorch: lazy modules where input sizes are unknown");
  c->add_option("-j,--jobs", jobs, "batch: files migrated at once (default: one per core)")->check(CLI::PositiveNumber);
  c->add_option("--report", report, "batch: write a JSON report of every file");
  c->add_option("--manifest", manifest,
                "batch: JSON file of per-file options, {\"files\": {\"path.py\": {\"entry\": ..., \"input_shape\": ...}}}");

  Common insp;
  std::string format = "text", insp_to, insp_layout = "keep";
  auto* i = app.add_subcommand("inspect", "print the pivot model of a file");
  add_common(i, insp);
  i->add_option("--format", format, "text, json or dot")->check(CLI::IsMember({"text", "json", "dot"}));
  i->add_option("--to", insp_to, "also run the layout pass for this target")->check(CLI::IsMember({"keras", "torch"}));
  i->add_option("--layout", insp_layout, "layout for --to")->check(CLI::IsMember({"keep", "native"}));

  std::string cat_format = "json";
  auto* k = app.add_subcommand("catalog", "print the catalog of supported layers and operations");
  k->add_option("--format", cat_format, "json")->check(CLI::IsMember({"json"}));

  Common plan;
  std::string plan_to = "keras", plan_layout = "keep";
  auto* p = app.add_subcommand("plan", "print the weight plan (docs/weight-plan.md) used by `nnport weights`");
  add_common(p, plan);
  p->add_option("--to", plan_to, "target framework")->check(CLI::IsMember({"keras", "torch"}));
  p->add_option("--layout", plan_layout, "layout of the migrated file")->check(CLI::IsMember({"keep", "native"}));

  std::vector<std::string> argv_store = args;
  std::reverse(argv_store.begin(), argv_store.end());
  try {
    app.parse(argv_store);
  } catch (const CLI::ParseError& e) {
    std::ostringstream out, err;
    int code = app.exit(e, out, err);
    std::cout << out.str();
    std::cerr << err.str();
    return code == 0 ? 0 : 2;
  }

  auto options_for = [&](const Common& cm, Options& o) -> bool {
    o.entry = cm.entry;
    try {
      for (const auto& s : cm.input_shapes) o.input_shapes.push_back(parse_input_spec(s));
    } catch (const std::invalid_argument& e) {
      std::cerr << "error: " << e.what() << "\n";
      return false;
    }
    return true;
  };
  auto load = [&](const std::string& path, std::string& text) {
    if (!read_file(path, text)) {
      std::cerr << "error: cannot read " << path << "\n";
      return false;
    }
    return true;
  };
  auto finish = [&](const Result& r, const std::string& out_path) {
    std::cerr << r.rendered_diagnostics;
    if (!r.ok) return 1;
    if (out_path.empty()) {
      std::cout << r.output;
      return 0;
    }
    std::string error;
    if (!write_file_atomically(out_path, r.output, error)) {
      std::cerr << "error: " << error << "\n";
      return 1;
    }
    return 0;
  };

  if (app.got_subcommand(c)) {
    Options o;
    o.to = to;
    o.style = style;
    o.layout = layout;
    o.lazy = lazy;
    std::error_code ec;
    bool batch = conv_sources.size() > 1 || std::filesystem::is_directory(conv_sources[0], ec);
    if (!batch && (jobs || !report.empty() || !manifest.empty())) {
      std::cerr << "error: --jobs, --report and --manifest are for a batch (folders, or several files, -o OUT_DIR)\n";
      return 2;
    }
    if (batch) {
      if (output.empty()) {
        std::cerr << "error: a batch needs the output folder: -o OUT_DIR\n";
        return 2;
      }
      if (!conv_entry.empty() || !conv_shapes.empty()) {
        std::cerr << "error: --entry and --input-shape are per file in a batch: give them in --manifest\n";
        return 2;
      }
      BatchOptions bo;
      bo.sources = conv_sources;
      bo.out_dir = output;
      bo.convert = o;
      bo.jobs = jobs;
      bo.report = report;
      bo.manifest = manifest;
      return run_batch(bo);
    }
    Common conv{conv_sources[0], conv_entry, conv_shapes};
    std::string text;
    if (!options_for(conv, o) || !load(conv.source, text)) return 2;
    return finish(convert(text, conv.source, o), output);
  }
  if (app.got_subcommand(i)) {
    Options o;
    o.to = insp_to;
    o.layout = insp_layout;
    std::string text;
    if (!options_for(insp, o) || !load(insp.source, text)) return 2;
    return finish(inspect(text, insp.source, o, format), "");
  }
  if (app.got_subcommand(k)) {
    std::cout << catalog_json() << "\n";
    return 0;
  }
  if (app.got_subcommand(p)) {
    Options o;
    o.to = plan_to;
    o.layout = plan_layout;
    std::string text;
    if (!options_for(plan, o) || !load(plan.source, text)) return 2;
    return finish(weight_plan(text, plan.source, o), "");
  }
  return 2;
}

}  // namespace nnport
