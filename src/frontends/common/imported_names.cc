#include "frontends/common/imported_names.h"

namespace nnport::frontends {

ImportedNames::ImportedNames(const syntax::Module& module, const std::function<bool(const std::string&)>& keep,
                             std::function<std::string(const std::string&)> canonical)
    : canonical_(std::move(canonical)) {
  collect(module.body, keep);
}

void ImportedNames::collect(const std::vector<syntax::StmtPtr>& body,
                            const std::function<bool(const std::string&)>& keep) {
  for (const auto& s : body) {
    if (s->kind == syntax::StmtKind::Import)
      for (auto& [n, as] : s->names) {
        if (!keep(n)) continue;
        std::string top = n.substr(0, n.find('.'));  // `import torch.nn` binds `torch`
        if (as.empty()) names_[top] = canonical_(top);
        else names_[as] = canonical_(n);
      }
    if (s->kind == syntax::StmtKind::ImportFrom && keep(s->module))
      for (auto& [n, as] : s->names) names_[as.empty() ? n : as] = canonical_(s->module + "." + n);
    collect(s->body, keep);
    collect(s->orelse, keep);
  }
}

std::string ImportedNames::qualified(const syntax::ExprPtr& e) const {
  if (!e) return "";
  if (e->kind == syntax::ExprKind::Name) {
    auto it = names_.find(e->name);
    return it == names_.end() ? "" : it->second;
  }
  if (e->kind == syntax::ExprKind::Attribute) {
    std::string base = qualified(e->object);
    return base.empty() ? "" : canonical_(base + "." + e->name);
  }
  return "";
}

}  // namespace nnport::frontends
