#include "passes/layout.h"

#include <algorithm>

#include "catalog/catalog.h"

namespace nnport::passes {

using pivot::Layout;

std::vector<int> to_channels_last(size_t rank) {
  std::vector<int> p{0};
  for (size_t i = 2; i < rank; ++i) p.push_back(static_cast<int>(i));
  p.push_back(1);
  return p;
}

std::vector<int> to_channels_first(size_t rank) {
  std::vector<int> p{0, static_cast<int>(rank) - 1};
  for (size_t i = 1; i + 1 < rank; ++i) p.push_back(static_cast<int>(i));
  return p;
}

namespace {

bool spatial(const pivot::Value& v) { return v.shape.size() >= 3 && v.source_layout != Layout::Any; }

// Flattening or reshaping a tensor whose spatial axes are all 1 gives the same element
// order in either layout: no transpose needed.
bool trivial_spatial(const pivot::Value& v, Layout) {
  if (v.shape.size() < 3) return true;
  // shapes are recorded in the source's layout, whatever layout the target holds them in
  // Moving the channel axis keeps the element order when it, or every spatial axis, is 1.
  size_t first = v.source_layout == Layout::ChannelsLast ? 1 : 2;
  size_t channel = v.source_layout == Layout::ChannelsLast ? v.shape.size() - 1 : 1;
  if (v.shape[channel] == 1) return true;
  for (size_t i = first; i < first + v.shape.size() - 2; ++i)
    if (v.shape[i] != 1) return false;
  return true;
}

}  // namespace

LayoutPlan assign_layouts(pivot::Model& m, Layout native, bool keep) {
  const auto& cat = catalog::Catalog::get();
  LayoutPlan plan;
  std::vector<Layout> held(m.values.size(), Layout::Any);  // layout each value is held in

  // Which values eventually feed a channel op (through elementwise ops only)?
  std::vector<bool> feeds_channels(m.values.size(), false);
  for (auto it = m.nodes.rbegin(); it != m.nodes.rend(); ++it) {
    const auto* def = cat.op(it->op);
    bool ch = def->layout == catalog::LayoutRule::Channels;
    bool through = def->layout == catalog::LayoutRule::Elementwise &&
                   std::any_of(it->outputs.begin(), it->outputs.end(), [&](int o) { return feeds_channels[o]; });
    if (ch || through)
      for (int v : it->inputs) feeds_channels[v] = true;
  }

  for (const auto& in : m.inputs) {
    auto& v = m.value(in.value);
    std::vector<int> perm;
    Layout l = spatial(v) ? v.source_layout : Layout::Any;
    if (!keep && spatial(v) && feeds_channels[in.value] && v.source_layout != native) {
      perm = native == Layout::ChannelsLast ? to_channels_last(v.shape.size()) : to_channels_first(v.shape.size());
      l = native;
    }
    held[in.value] = l;
    plan.input_permutations.push_back(perm);
  }

  for (auto& n : m.nodes) {
    const auto* def = cat.op(n.op);
    std::string_view op = n.op;  // (compared with literals inline, not through libstdc++)
    n.input_permutations.assign(n.inputs.size(), {});
    auto convert = [&](size_t i, Layout want) {
      int v = n.inputs[i];
      const auto& val = m.value(v);
      Layout have = held[v];
      // a channel op reads its input by its framework's convention, whatever made the
      // tensor (`x.permute(0, 2, 1)` before an nn.Conv1d is channel-first)
      if (have == Layout::Any && def->layout == catalog::LayoutRule::Channels && val.shape.size() >= 3)
        have = m.framework == "keras" ? Layout::ChannelsLast : Layout::ChannelsFirst;
      if (have == Layout::Any || want == Layout::Any || have == want || val.shape.size() < 3) return;
      n.input_permutations[i] =
          want == Layout::ChannelsLast ? to_channels_last(val.shape.size()) : to_channels_first(val.shape.size());
    };
    Layout out = Layout::Any;
    // `reshape(x, (-1, n))` of a whole feature map is a flatten
    catalog::LayoutRule rule = def->layout;
    if (op == "reshape" && n.outputs.size() == 1 && m.value(n.outputs[0]).shape.size() == 2 && !n.inputs.empty() &&
        spatial(m.value(n.inputs[0])))
      rule = catalog::LayoutRule::Flatten;
    switch (rule) {
      case catalog::LayoutRule::Channels:
        for (size_t i = 0; i < n.inputs.size(); ++i) convert(i, native);
        out = native;
        break;
      case catalog::LayoutRule::Elementwise: {
        // keep the layout of the inputs; if they disagree, bring all to the native one
        Layout l = Layout::Any;
        bool mixed = false;
        for (int v : n.inputs) {
          if (held[v] == Layout::Any) continue;
          if (l != Layout::Any && l != held[v]) mixed = true;
          l = held[v];
        }
        if (mixed) {
          for (size_t i = 0; i < n.inputs.size(); ++i) convert(i, native);
          l = native;
        }
        out = l;
        break;
      }
      case catalog::LayoutRule::Flatten:
        for (size_t i = 0; i < n.inputs.size(); ++i) {
          const auto& val = m.value(n.inputs[i]);
          Layout have = held[n.inputs[i]];
          // keep: flatten in the source's order so the next layer's weights copy as they are;
          // native: flatten channel-last and let the weight converter permute the next layer.
          if (keep && !trivial_spatial(val, have)) convert(i, val.source_layout);
          else if (!keep && have != Layout::Any && have != val.source_layout && !trivial_spatial(val, have))
            n.attrs["flattened_layout"] = pivot::Attr(pivot::layout_name(have));
        }
        out = Layout::Any;
        break;
      case catalog::LayoutRule::Opaque:
      case catalog::LayoutRule::LastAxis:
      case catalog::LayoutRule::Sequence:
        for (size_t i = 0; i < n.inputs.size(); ++i) {
          const auto& val = m.value(n.inputs[i]);
          if (op == "reshape" && trivial_spatial(val, held[n.inputs[i]])) continue;
          convert(i, val.source_layout);
        }
        out = Layout::Any;
        for (int v : n.inputs)
          if (spatial(m.value(v)) && m.value(v).source_layout != Layout::Any && op != "reshape" &&
              op != "permute" && op != "getitem" && op != "transpose" && op != "mean")
            out = m.value(v).source_layout;
        break;
    }
    for (int o : n.outputs) {
      held[o] = spatial(m.value(o)) ? out : Layout::Any;
      // these produce their output in the source's own layout (a Keras embedding's
      // (batch, time, features) output is channel-last, as a Conv1D after it reads it)
      if (op == "flatten" || op == "reshape" || op == "permute" || op == "getitem" || op == "transpose" ||
          op == "lstm" || op == "gru" || op == "rnn" || op == "embedding")
        held[o] = spatial(m.value(o)) ? m.value(o).source_layout : Layout::Any;
    }
  }

  for (int o : m.outputs) {
    const auto& v = m.value(o);
    std::vector<int> perm;
    if (held[o] != Layout::Any && held[o] != v.source_layout && v.shape.size() >= 3)
      perm = v.source_layout == Layout::ChannelsLast ? to_channels_last(v.shape.size())
                                                     : to_channels_first(v.shape.size());
    plan.output_permutations.push_back(perm);
  }
  plan.outputs_in_target_layout = !keep;
  for (size_t i = 0; i < m.values.size(); ++i) m.values[i].target_layout = held[i];
  return plan;
}

}  // namespace nnport::passes
