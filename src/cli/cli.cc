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

#include "driver/driver.h"

namespace nnport {

namespace {

bool read_file(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::stringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return true;
}

// Writes the whole file or nothing: a temporary file in the same directory, renamed.
bool write_file(const std::string& path, const std::string& text, std::string& error) {
  namespace fs = std::filesystem;
  fs::path target(path);
  fs::path dir = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  std::error_code ec;
  fs::create_directories(dir, ec);
  fs::path tmp = dir / ("." + target.filename().string() + ".nnport-tmp");
  {
    std::ofstream out(tmp, std::ios::binary);
    if (!out || !(out << text)) {
      error = "cannot write " + tmp.string();
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

  Common conv;
  std::string to, style, layout = "keep", output;
  bool lazy = false;
  auto* c = app.add_subcommand("convert", "migrate a model file to another framework");
  add_common(c, conv);
  c->add_option("--to", to, "target framework")->required()->check(CLI::IsMember({"keras", "torch"}));
  c->add_option("--style", style, "target style (default: the source's)")->check(CLI::IsMember({"sequential", "subclass"}));
  c->add_option("--layout", layout, "keep: accept the source's tensors; native: the target's channel order")
      ->check(CLI::IsMember({"keep", "native"}));
  c->add_option("-o,--output", output, "output file (default: standard output)");
  c->add_flag("--lazy", lazy, "Keras -> PyTorch: lazy modules where input sizes are unknown");

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
    if (!write_file(out_path, r.output, error)) {
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
