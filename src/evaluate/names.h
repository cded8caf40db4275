// A scope's names in the order they were first bound (a frame's locals, the module's
// globals, an instance's fields, a class's members), found by name through a hash index
// once there are more than a few: a linear search per lookup made models with thousands
// of layers, fields or module-level names quadratic.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace nnport::evaluate {

struct Value;
using ValuePtr = std::shared_ptr<Value>;

class Names {
 public:
  using Entry = std::pair<std::string, ValuePtr>;

  static constexpr size_t npos = static_cast<size_t>(-1);

  // The value bound to `name`, or null.
  ValuePtr* find(const std::string& name) {
    size_t i = position(name);
    return i == npos ? nullptr : &entries_[i].second;
  }
  const ValuePtr* find(const std::string& name) const { return const_cast<Names*>(this)->find(name); }
  // Where `name` is bound, or npos.
  size_t position(const std::string& name) const;
  // Binds `name`: in place when it is bound already, else at the end. Returns its position.
  size_t set(const std::string& name, ValuePtr v);

  const Entry& operator[](size_t i) const { return entries_[i]; }
  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  std::vector<Entry>::const_iterator begin() const { return entries_.begin(); }
  std::vector<Entry>::const_iterator end() const { return entries_.end(); }

 private:
  // Up to this many names a scan is cheaper than hashing (most frames hold a handful).
  static constexpr size_t kScanned = 8;
  std::vector<Entry> entries_;
  std::unordered_map<std::string, size_t> index_;  // filled once there are more than kScanned
};

}  // namespace nnport::evaluate
