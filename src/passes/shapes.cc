#include "passes/shapes.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <numeric>
#include <unordered_set>

#include "catalog/catalog.h"

namespace nnport::passes {

using pivot::Attr;
using pivot::Layout;
using pivot::Shape;

std::vector<long long> expand(const Attr& a, int rank, long long fallback) {
  if (a.is_none()) return std::vector<long long>(rank, fallback);
  std::vector<long long> v;
  if (a.is_list())
    for (const auto& x : a.as_list()) v.push_back(x.is_none() ? fallback : x.as_int());
  else
    v = a.as_ints();
  if (v.size() == 1 && rank > 1) return std::vector<long long>(rank, v[0]);
  return v;
}

namespace {

long long norm_axis(long long axis, size_t rank) { return axis < 0 ? axis + (long long)rank : axis; }

// A call node's attributes are its layer's: `called`, which the caller looked up (once).
const pivot::Attrs& attrs_of(const pivot::Node& n, const pivot::Layer* called) {
  if (n.kind == "call") {
    if (!called) fail(n.loc, "unknown module " + n.module);
    return called->attrs;
  }
  return n.attrs;
}

Attr get(const pivot::Attrs& a, const std::string& k) {
  auto it = a.find(k);
  if (it != a.end()) return it->second;
  return {};
}

// Spatial output size of a sliding window (conv or pool) along one axis.
long long window_out(long long in, long long k, long long s, long long p, long long d, const std::string& padding,
                     bool ceil_mode, const Location& loc) {
  if (in < 0) return -1;
  if (padding == "same") return (in + s - 1) / s;
  long long pad = padding == "valid" ? 0 : p;
  long long span = in + 2 * pad - d * (k - 1) - 1;
  if (span < 0)
    fail(loc, fmt::format("input size {} is too small for a window of {} (padding {})", in, k, pad),
         "give a larger --input-shape");
  long long out = ceil_mode ? (span + s - 1) / s + 1 : span / s + 1;
  // PyTorch: the last window must start inside the input or its left padding
  if (ceil_mode && (out - 1) * s >= in + pad) --out;
  return out;
}

void check(long long expected, long long actual, const pivot::Node& n, const std::string& what) {
  if (expected >= 0 && actual >= 0 && expected != actual)
    fail(n.loc, fmt::format("shape mismatch in `{}`: {} is {} but the input has {}", n.module.empty() ? n.op : n.module,
                            what, expected, actual),
         "check the layer's attributes against the previous layer's output");
}

}  // namespace

namespace {
void infer_node_impl(pivot::Model& m, pivot::Node& n, const pivot::Layer* called);

// Keras reads the last axis of every tensor as its channels (data_format="channels_last"),
// whatever produced it: an embedding's output feeding a Conv1D is channel-last too.
void finish_keras(pivot::Model& m, const pivot::Node& n) {
  if (m.framework != "keras") return;
  for (int o : n.outputs) {
    auto& v = m.value(o);
    v.source_layout = v.shape.size() >= 3 ? Layout::ChannelsLast : Layout::Any;
  }
}

}  // namespace

void infer_node(pivot::Model& m, pivot::Node& n) {
  pivot::LayerPtr called = n.kind == "call" ? m.find(n.module) : nullptr;
  infer_node_impl(m, n, called.get());
  finish_keras(m, n);
}

namespace {
void infer_node_impl(pivot::Model& m, pivot::Node& n, const pivot::Layer* called) {
  const auto* def = catalog::Catalog::get().op(n.op);
  if (!def) fail(n.loc, "no catalog entry for op " + n.op);
  const pivot::Attrs& a = attrs_of(n, called);
  auto in = [&](size_t i) -> const pivot::Value& { return m.value(n.inputs.at(i)); };
  auto set = [&](size_t i, Shape s) {
    if (i < n.outputs.size()) m.value(n.outputs[i]).shape = std::move(s);
  };
  Shape x = n.inputs.empty() ? Shape{} : in(0).shape;
  Layout layout = n.inputs.empty() ? Layout::Any : in(0).source_layout;
  // A channel op reads (and writes) its framework's convention whatever made its input
  // (`x.permute(0, 2, 1)` into an nn.Conv1d is channel-first).
  if (layout == Layout::Any && def->layout == catalog::LayoutRule::Channels && x.size() >= 3)
    layout = m.framework == "keras" ? Layout::ChannelsLast : Layout::ChannelsFirst;
  for (int o : n.outputs) m.value(o).source_layout = layout;
  std::string_view op = n.op;
  int rank = def->rank;

  if (x.empty() && op != "concat") {
    for (size_t i = 0; i < n.outputs.size(); ++i) set(i, {});
    return;
  }
  if (op.rfind("global_", 0) == 0 || op.rfind("zeropad", 0) == 0) {
    if ((long long)x.size() != rank + 2)
      fail(n.loc, fmt::format("`{}` expects a {}-D input, got shape {}", n.module.empty() ? op : n.module, rank + 2,
                              pivot::shape_str(x)));
    bool cl = layout == Layout::ChannelsLast;
    size_t caxis = cl ? x.size() - 1 : 1, s0 = cl ? 1 : 2;
    Shape out;
    if (op.rfind("global_", 0) == 0) {
      if (get(a, "keepdims").as_bool()) {
        out = x;
        for (int i = 0; i < rank; ++i) out[s0 + i] = 1;
      } else {
        out = {x[0], x[caxis]};
      }
    } else {
      out = x;
      const auto& pads = get(a, "padding").as_list();
      for (int i = 0; i < rank; ++i) {
        auto p = pads.at(i).as_ints();
        out[s0 + i] = x[s0 + i] < 0 ? -1 : x[s0 + i] + p.at(0) + p.at(1);
      }
    }
    set(0, out);
    return;
  }
  if (def->id.rfind("conv", 0) == 0 || def->id.find("pool") != std::string::npos) {
    if ((long long)x.size() != rank + 2)
      fail(n.loc, fmt::format("`{}` expects a {}-D input (batch, channels, {} spatial), got shape {}",
                              n.module.empty() ? op : n.module, rank + 2, rank, pivot::shape_str(x)),
           "check --input-shape");
    bool cl = layout == Layout::ChannelsLast;
    size_t caxis = cl ? x.size() - 1 : 1;
    size_t s0 = cl ? 1 : 2;
    Shape out = x;
    if (op.rfind("adaptive", 0) == 0) {
      auto od = expand(get(a, "output_dim"), rank, -1);
      for (int i = 0; i < rank; ++i) out[s0 + i] = od[i] < 0 ? x[s0 + i] : od[i];  // None keeps the size
    } else {
      auto k = expand(get(a, "kernel_dim"), rank, 1);
      auto s = expand(get(a, "stride_dim"), rank, 0);
      for (int i = 0; i < rank; ++i)
        if (s[i] == 0) s[i] = k[i];  // pooling: stride defaults to the window
      auto p = expand(get(a, "padding_amount"), rank, 0);
      auto d = expand(get(a, "dilation"), rank, 1);
      std::string ptype = get(a, "padding_type").is_str() ? get(a, "padding_type").as_str() : "explicit";
      bool ceil_mode = get(a, "ceil_mode").is_bool() && get(a, "ceil_mode").as_bool();
      for (int i = 0; i < rank; ++i)
        out[s0 + i] = window_out(x[s0 + i], k[i], s[i], p[i], d[i], ptype, ceil_mode, n.loc);
      if (op.rfind("conv", 0) == 0) {
        Attr ic = get(a, "in_channels");
        if (ic.is_int()) check(ic.as_int(), x[caxis], n, "in_channels");
        out[caxis] = get(a, "out_channels").as_int();
      }
    }
    set(0, out);
    return;
  }
  if (op == "linear") {
    Attr inf = get(a, "in_features");
    if (inf.is_int()) check(inf.as_int(), x.back(), n, "in_features");
    Shape out = x;
    out.back() = get(a, "out_features").as_int();
    set(0, out);
    return;
  }
  if (op.rfind("batchnorm", 0) == 0) {
    size_t caxis = layout == Layout::ChannelsLast ? x.size() - 1 : 1;
    Attr nf = get(a, "num_features");
    if (nf.is_int() && x.size() > 1) check(nf.as_int(), x[caxis], n, "num_features");
    set(0, x);
    return;
  }
  if (op == "layernorm") {
    auto ns = get(a, "normalized_shape").is_none() ? std::vector<long long>{} : get(a, "normalized_shape").as_ints();
    for (size_t i = 0; i < ns.size() && i < x.size(); ++i)
      check(ns[ns.size() - 1 - i], x[x.size() - 1 - i], n, "normalized_shape");
    set(0, x);
    return;
  }
  if (op == "embedding") {
    Shape out = x;
    out.push_back(get(a, "embedding_dim").as_int());
    set(0, out);
    return;
  }
  if ((op == "lstm" || op == "gru" || op == "rnn") && a.count("return_sequences")) {
    // Keras convention: the sequence or the last step, then the final states if asked for.
    if (x.size() != 3) fail(n.loc, "recurrent layers expect a 3-D input (batch, time, features), got " + pivot::shape_str(x));
    long long h = get(a, "hidden_size").as_int();
    bool bidir = get(a, "bidirectional").is_bool() && get(a, "bidirectional").as_bool();
    bool concat = !bidir || !get(a, "merge_mode").is_str() || get(a, "merge_mode").as_str() == "concat";
    long long width = concat && bidir ? 2 * h : h;
    Shape y = get(a, "return_sequences").as_bool() ? Shape{x[0], x[1], width} : Shape{x[0], width};
    set(0, y);
    for (size_t i = 1; i < n.outputs.size(); ++i) set(i, {x[0], h});
    return;
  }
  if (op == "lstm" || op == "gru" || op == "rnn") {
    if (x.size() != 3) fail(n.loc, "recurrent layers expect a 3-D input, got " + pivot::shape_str(x));
    bool bf = get(a, "batch_first").is_bool() && get(a, "batch_first").as_bool();
    long long h = get(a, "hidden_size").as_int();
    long long dirs = get(a, "bidirectional").is_bool() && get(a, "bidirectional").as_bool() ? 2 : 1;
    long long layers = get(a, "num_layers").is_int() ? get(a, "num_layers").as_int() : 1;
    Attr is = get(a, "input_size");
    if (is.is_int()) check(is.as_int(), x[2], n, "input_size");
    long long batch = bf ? x[0] : x[1];
    Shape out = x;
    out[2] = dirs * h;
    set(0, out);
    for (size_t i = 1; i < n.outputs.size(); ++i) set(i, {layers * dirs, batch, h});
    for (int o : n.outputs) m.value(o).source_layout = Layout::Any;
    return;
  }
  if (op == "flatten") {
    long long sd = norm_axis(get(a, "start_dim").is_int() ? get(a, "start_dim").as_int() : 1, x.size());
    long long ed = norm_axis(get(a, "end_dim").is_int() ? get(a, "end_dim").as_int() : -1, x.size());
    Shape out(x.begin(), x.begin() + sd);
    long long prod = 1;
    for (long long i = sd; i <= ed; ++i) prod = (x[i] < 0 || prod < 0) ? -1 : prod * x[i];
    out.push_back(prod);
    out.insert(out.end(), x.begin() + ed + 1, x.end());
    set(0, out);
    m.value(n.outputs[0]).source_layout = Layout::Any;
    return;
  }
  if (op == "reshape") {
    auto target = get(a, "shape").as_list();
    Shape out;
    long long known = 1, total = 1;
    int infer_at = -1;
    for (long long d : x) total = (d < 0 || total < 0) ? -1 : total * d;
    for (size_t i = 0; i < target.size(); ++i) {
      long long d = target[i].is_int() ? target[i].as_int() : -2;  // -2: symbolic (batch)
      if (d == -1) infer_at = (int)i;
      out.push_back(d == -2 ? -1 : d);
      if (d >= 0) known *= d;
    }
    if (infer_at < 0 && !target.empty() && !target[0].is_int()) {  // (batch, d1, d2, ...)
      long long want = 1, have = 1;
      for (size_t i = 1; i < target.size(); ++i) want *= target[i].is_int() ? target[i].as_int() : -1;
      for (size_t i = 1; i < x.size(); ++i) have = (x[i] < 0 || have < 0) ? -1 : have * x[i];
      if (want > 0 && have > 0 && want != have)
        fail(n.loc, fmt::format("cannot reshape {} elements per sample into {}", have, pivot::to_python(get(a, "shape"))),
             "the new shape must hold as many elements as the input");
    }
    if (infer_at >= 0) {
      // the batch axis is unknown: infer from the non-batch part when the first entry is the batch
      long long rest = 1;
      bool ok = true;
      for (size_t i = 1; i < x.size(); ++i) ok &= x[i] >= 0, rest *= x[i];
      bool batch_first = !target.empty() && !target[0].is_int();
      if (ok && batch_first) out[infer_at] = rest / std::max(1LL, known);
      else if (ok && target[0].is_int() && target[0].as_int() == -1) out[infer_at] = -1;
    }
    set(0, out);
    m.value(n.outputs[0]).source_layout = Layout::Any;
    return;
  }
  if (op == "permute") {
    auto dims = get(a, "dims").as_ints();
    Shape out;
    for (auto d : dims) out.push_back(x.at(norm_axis(d, x.size())));
    set(0, out);
    m.value(n.outputs[0]).source_layout = Layout::Any;
    return;
  }
  if (op == "transpose") {
    Shape out = x;
    std::swap(out.at(norm_axis(get(a, "dim0").as_int(), x.size())), out.at(norm_axis(get(a, "dim1").as_int(), x.size())));
    set(0, out);
    m.value(n.outputs[0]).source_layout = Layout::Any;
    return;
  }
  if (op == "getitem") {
    const auto& idx = get(a, "index").as_list();
    Shape out;
    size_t axis = 0;
    for (const auto& it : idx) {
      if (it.is_str() && it.as_str() == "newaxis") {
        out.push_back(1);
      } else if (it.is_str() && it.as_str() == "...") {
        size_t remaining = 0;
        for (const auto& r : idx) remaining += !(r.is_str());
        while (axis < x.size() - (remaining - 0) + 0 && axis < x.size() - remaining) out.push_back(x[axis++]);
      } else if (it.is_int()) {
        ++axis;
      } else if (it.is_list()) {
        const auto& sl = it.as_list();
        long long len = x.at(axis++);
        if (len < 0) {
          out.push_back(-1);
          continue;
        }
        long long step = sl[2].is_int() ? sl[2].as_int() : 1;
        auto clampi = [&](const Attr& v, long long dflt) {
          if (!v.is_int()) return dflt;
          long long i = v.as_int();
          if (i < 0) i += len;
          return std::clamp(i, 0LL, len);
        };
        long long lo = clampi(sl[0], 0), hi = clampi(sl[1], len);
        out.push_back(hi > lo ? (hi - lo + step - 1) / step : 0);
      }
    }
    while (axis < x.size()) out.push_back(x[axis++]);
    set(0, out);
    m.value(n.outputs[0]).source_layout = Layout::Any;
    return;
  }
  if (op == "concat") {
    Shape out;
    long long dim = get(a, "dim").is_int() ? get(a, "dim").as_int() : 0;
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      const Shape& s = in(i).shape;
      if (s.empty()) {
        set(0, {});
        return;
      }
      if (out.empty()) {
        out = s;
        continue;
      }
      size_t d = norm_axis(dim, s.size());
      out[d] = (out[d] < 0 || s[d] < 0) ? -1 : out[d] + s[d];
    }
    set(0, out);
    return;
  }
  if (op == "mean") {
    Attr dim = get(a, "dim");
    bool keep = get(a, "keepdim").is_bool() && get(a, "keepdim").as_bool();
    std::vector<long long> dims = dim.is_none() ? std::vector<long long>{} : dim.as_ints();
    Shape out;
    for (size_t i = 0; i < x.size(); ++i) {
      bool reduced = dim.is_none();
      for (auto d : dims) reduced |= norm_axis(d, x.size()) == (long long)i;
      if (!reduced) out.push_back(x[i]);
      else if (keep) out.push_back(1);
    }
    set(0, out);
    return;
  }
  if (op == "pad") {
    auto pads = get(a, "pads").as_ints();
    Shape out = x;
    for (size_t i = 0; 2 * i + 1 < pads.size() && i < x.size(); ++i) {
      long long& d = out[x.size() - 1 - i];
      if (d >= 0) d += pads[2 * i] + pads[2 * i + 1];
    }
    set(0, out);
    return;
  }
  if (op == "add" || op == "sub" || op == "mul") {
    Shape out = x;
    for (size_t i = 1; i < n.inputs.size(); ++i) {
      const Shape& s = in(i).shape;
      if (s.size() > out.size()) out = s;
    }
    set(0, out);
    return;
  }
  // shape-preserving: activations, dropout, identity
  set(0, x);
}

}  // namespace

void infer_shapes(pivot::Model& m) {
  // Each layer's first call records its shapes. A path names one layer, so the layers seen
  // stand for the paths seen; and each node's layer is looked up once.
  std::unordered_set<const pivot::Layer*> seen;
  for (auto& n : m.nodes) {
    std::string_view op = n.op;  // (compared with literals inline, not through libstdc++)
    pivot::LayerPtr l = n.kind == "call" ? m.find(n.module) : nullptr;
    infer_node_impl(m, n, l.get());
    finish_keras(m, n);
    if (l && seen.insert(l.get()).second) {
      if (!n.inputs.empty()) l->input_shape = m.value(n.inputs[0]).shape;
      if (!n.outputs.empty()) l->output_shape = m.value(n.outputs[0]).shape;
      // Fill the attributes a target may need that the source did not state.
      const Shape& x = l->input_shape;
      auto fill = [&](const char* attr, long long v) {
        auto it = l->attrs.find(attr);
        if ((it == l->attrs.end() || it->second.is_none()) && v >= 0) l->attrs[attr] = pivot::Attr(v);
      };
      if (!x.empty()) {
        bool cl = m.value(n.inputs[0]).source_layout == Layout::ChannelsLast;
        long long channels = x.size() > 1 ? (cl ? x.back() : x[1]) : -1;
        if (op == "linear") fill("in_features", x.back());
        if (op.rfind("conv", 0) == 0) fill("in_channels", channels);
        if (op.rfind("batchnorm", 0) == 0) fill("num_features", channels);
        if (op == "lstm" || op == "gru" || op == "rnn") fill("input_size", x.back());
        if (op == "layernorm") fill("normalized_shape", x.back());
      }
    }
  }
}

}  // namespace nnport::passes
