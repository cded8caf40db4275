// The names a file's imports bind, resolved statically: `nn.Linear` -> "torch.nn.Linear",
// `tf.keras.optimizers.Adam` -> "keras.optimizers.Adam". Recognisers that read the syntax
// tree without the evaluator (annotation, training code) share it.
#pragma once

#include <functional>
#include <map>
#include <string>

#include "syntax/ast.h"

namespace nnport::frontends {

class ImportedNames {
 public:
  // Collects `import a.b as c` / `from a import b as c` anywhere in `module` for the modules
  // `keep` accepts (by the imported module path); `canonical` normalises each qualified name
  // (aliases of one framework name) as it is built.
  ImportedNames(const syntax::Module& module, const std::function<bool(const std::string&)>& keep,
                std::function<std::string(const std::string&)> canonical);
  // The qualified name a Name or Attribute chain stands for; "" when it starts with no
  // imported name.
  std::string qualified(const syntax::ExprPtr& e) const;
  bool binds(const std::string& name) const { return names_.count(name) > 0; }

 private:
  void collect(const std::vector<syntax::StmtPtr>& body, const std::function<bool(const std::string&)>& keep);
  std::function<std::string(const std::string&)> canonical_;
  std::map<std::string, std::string> names_;  // local name -> qualified name
};

}  // namespace nnport::frontends
