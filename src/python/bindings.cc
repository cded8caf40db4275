// nnport._core: the engine (driver/driver.h) as a Python extension module.
//
// Failed results raise nnport._core.MigrationError (a ValueError) whose message is the
// rendered diagnostics; warnings of a successful result are written to sys.stderr.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdio>
#include <iostream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "diagnostics/diagnostic.h"
#include "driver/driver.h"
#include "syntax/parse.h"

#ifndef NNPORT_VERSION
#define NNPORT_VERSION "0.0.0"
#endif

namespace py = pybind11;

namespace {

// Carries rendered diagnostics from C++ to the Python exception.
struct FailedMigration : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::vector<nnport::InputSpec> parse_specs(const std::vector<std::string>& shapes) {
  std::vector<nnport::InputSpec> specs;
  specs.reserve(shapes.size());
  // std::invalid_argument becomes a Python ValueError.
  for (const std::string& s : shapes) specs.push_back(nnport::parse_input_spec(s));
  return specs;
}

nnport::Options make_options(std::string to, std::string style, std::string layout,
                             std::string entry, const std::vector<std::string>& input_shapes,
                             bool lazy) {
  nnport::Options o;
  o.to = std::move(to);
  o.style = std::move(style);
  o.layout = std::move(layout);
  o.entry = std::move(entry);
  o.input_shapes = parse_specs(input_shapes);
  o.lazy = lazy;
  return o;
}

void write_stderr(const std::string& text) {
  if (text.empty()) return;
  py::object err = py::module_::import("sys").attr("stderr");
  if (err.is_none()) return;
  err.attr("write")(text.back() == '\n' ? text : text + '\n');
}

// Runs one engine call without the GIL, and turns its Result into the Python view: the
// output, or MigrationError.
template <typename Call>
std::string run(std::string_view source, Call&& call) {
  nnport::Result r;
  {
    py::gil_scoped_release release;
    try {
      r = call();
    } catch (const nnport::MigrationError& e) {  // the driver should not let these escape
      r = nnport::Result{};
      r.diagnostics.push_back(e.diagnostic);
      r.rendered_diagnostics = nnport::render(e.diagnostic, source);
    }
  }
  if (!r.ok) {
    std::string message = r.rendered_diagnostics;
    while (!message.empty() && message.back() == '\n') message.pop_back();
    if (message.empty()) message = "migration failed";
    throw FailedMigration(message);
  }
  write_stderr(r.rendered_diagnostics);
  return std::move(r.output);
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "nnport engine: static migration of neural-network source code (PyTorch <-> Keras)";
  m.attr("__version__") = NNPORT_VERSION;

  PYBIND11_CONSTINIT static py::gil_safe_call_once_and_store<py::object> error_type;
  error_type.call_once_and_store_result([&]() -> py::object {
    py::object type = py::exception<FailedMigration>(m, "MigrationError", PyExc_ValueError);
    type.attr("__doc__") =
        "A migration failed. The message names file:line:col, shows the offending line and "
        "says what to do.";
    return type;
  });
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const FailedMigration& e) {
      py::set_error(error_type.get_stored(), e.what());
    }
  });

  m.def(
      "convert",
      [](const std::string& source, const std::string& file, std::string to, std::string style,
         std::string layout, std::string entry, const std::vector<std::string>& input_shapes,
         bool lazy) {
        nnport::Options o = make_options(std::move(to), std::move(style), std::move(layout),
                                         std::move(entry), input_shapes, lazy);
        return run(source, [&] { return nnport::convert(source, file, o); });
      },
      py::arg("source"), py::arg("file"), py::arg("to"), py::arg("style") = "",
      py::arg("layout") = "keep", py::arg("entry") = "",
      py::arg("input_shapes") = std::vector<std::string>{}, py::arg("lazy") = false,
      "Migrates the source text of a model file to `to` ('keras' or 'torch'); returns the code.");

  m.def(
      "inspect",
      [](const std::string& source, const std::string& file, const std::string& format,
         std::string entry, const std::vector<std::string>& input_shapes) {
        nnport::Options o = make_options("", "", "keep", std::move(entry), input_shapes, false);
        return run(source, [&] { return nnport::inspect(source, file, o, format); });
      },
      py::arg("source"), py::arg("file"), py::arg("format") = "text", py::arg("entry") = "",
      py::arg("input_shapes") = std::vector<std::string>{},
      "The pivot model of the entry as 'text', 'json' or 'dot'.");

  m.def(
      "weight_plan",
      [](const std::string& source, const std::string& file, std::string to, std::string layout,
         std::string entry, const std::vector<std::string>& input_shapes, std::string style,
         bool lazy) {
        nnport::Options o = make_options(std::move(to), std::move(style), std::move(layout),
                                         std::move(entry), input_shapes, lazy);
        return run(source, [&] { return nnport::weight_plan(source, file, o); });
      },
      py::arg("source"), py::arg("file"), py::arg("to"), py::arg("layout") = "keep",
      py::arg("entry") = "", py::arg("input_shapes") = std::vector<std::string>{},
      py::arg("style") = "", py::arg("lazy") = false,
      "The weight plan (docs/weight-plan.md) as JSON text.");

  m.def(
      "parse_only", [](const std::string& source) { return nnport::syntax::parse_only(source); },
      py::arg("source"), "Parse with tree-sitter only; returns the node count (the benchmark's floor).");

  m.def(
      "catalog_json", [] { return nnport::catalog_json(); },
      "The catalog (docs/catalog.md) as JSON text.");

  m.def(
      "run_cli",
      [](const std::vector<std::string>& args) {
        py::module_ sys = py::module_::import("sys");
        for (const char* name : {"stdout", "stderr"}) {
          py::object stream = sys.attr(name);
          if (!stream.is_none()) stream.attr("flush")();
        }
        int status = nnport::run_cli(args);
        std::cout.flush();
        std::cerr.flush();
        std::fflush(stdout);
        std::fflush(stderr);
        return status;
      },
      py::arg("args"),
      "Runs the engine's command line (convert, inspect, catalog, plan); returns the exit status.");
}
