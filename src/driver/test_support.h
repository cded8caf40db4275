// Helpers shared by the stage tests that drive the engine through its public API.
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "driver/driver.h"

namespace nnport::test_support {

inline Options opts(const std::vector<std::string>& shapes, const std::string& entry = "") {
  Options o;
  o.entry = entry;
  for (const auto& s : shapes) o.input_shapes.push_back(parse_input_spec(s));
  return o;
}

// The pivot JSON of `source`; fails the test (and returns an empty model) when inspect fails.
inline nlohmann::json pivot_json(const std::string& source, const Options& o) {
  Result r = inspect(source, "model.py", o, "json");
  EXPECT_TRUE(r.ok) << r.rendered_diagnostics;
  if (!r.ok)
    return nlohmann::json::object(
        {{"modules", nullptr}, {"values", nlohmann::json::array()}, {"graph", nlohmann::json::array()}});
  return nlohmann::json::parse(r.output);
}

inline const nlohmann::json* find_layer(const nlohmann::json& layer, const std::string& path) {
  if (layer.is_null()) return nullptr;
  if (layer.value("path", "") == path) return &layer;
  if (layer.contains("children"))
    for (const auto& c : layer["children"])
      if (const nlohmann::json* f = find_layer(c["layer"], path)) return f;
  return nullptr;
}

}  // namespace nnport::test_support
