#include "cli/batch.h"

#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <unistd.h>

#include "cli/files.h"

namespace nnport {
namespace {

namespace fs = std::filesystem;

class Manifest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("nnport-batch-test-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& text) {
    std::string path = (dir_ / "manifest.json").string();
    std::ofstream(path) << text;
    return path;
  }

  fs::path dir_;
};

TEST_F(Manifest, GivesEachFileItsOptionsOverTheDefaults) {
  Options defaults;
  defaults.to = "keras";
  defaults.layout = "native";
  auto m = read_manifest(write(R"j({"files": {
      "models/alexnet.py": {"entry": "AlexNet(num_classes=10)", "input_shape": "3,64,64"},
      "lstm.py": {"input_shape": ["int64:20", "4"], "style": "sequential", "lazy": true}}})j"),
                         defaults);
  ASSERT_EQ(m.size(), 2u);
  const Options& a = m.at("models/alexnet.py");
  EXPECT_EQ(a.entry, "AlexNet(num_classes=10)");
  EXPECT_EQ(a.to, "keras");
  EXPECT_EQ(a.layout, "native");
  ASSERT_EQ(a.input_shapes.size(), 1u);
  EXPECT_EQ(a.input_shapes[0].dims, (std::vector<long long>{3, 64, 64}));
  const Options& l = m.at("lstm.py");
  ASSERT_EQ(l.input_shapes.size(), 2u);
  EXPECT_EQ(l.input_shapes[0].dtype, "int64");
  EXPECT_EQ(l.style, "sequential");
  EXPECT_TRUE(l.lazy);
}

TEST_F(Manifest, SaysWhatIsWrong) {
  auto error_of = [&](const std::string& text) {
    try {
      read_manifest(write(text), Options{});
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(error_of("{").find("not JSON"), std::string::npos);
  EXPECT_NE(error_of(R"j({"models": {}})j").find(R"(expected {"files")"), std::string::npos);
  EXPECT_NE(error_of(R"j({"files": {"a.py": {"entyr": "A()"}}})j").find("unknown option `entyr`"), std::string::npos);
  EXPECT_NE(error_of(R"j({"files": {"a.py": {"input_shape": 3}}})j").find("input_shape"), std::string::npos);
  std::string bad_shape = error_of(R"j({"files": {"a.py": {"input_shape": "3,x"}}})j");
  EXPECT_NE(bad_shape.find(R"(files["a.py"])"), std::string::npos) << bad_shape;
  EXPECT_NE(bad_shape.find("bad dimension"), std::string::npos) << bad_shape;
}

TEST(AtomicWrite, LeavesNoTemporaryFileAndReplacesWhole) {
  fs::path dir = fs::temp_directory_path() / ("nnport-write-test-" + std::to_string(::getpid()));
  std::string path = (dir / "sub" / "out.py").string();
  std::string error;
  ASSERT_TRUE(write_file_atomically(path, "first\n", error)) << error;
  ASSERT_TRUE(write_file_atomically(path, "second\n", error)) << error;
  std::string text;
  ASSERT_TRUE(read_file(path, text));
  EXPECT_EQ(text, "second\n");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir / "sub"), fs::directory_iterator{}), 1);
  EXPECT_FALSE(write_file_atomically((dir / "sub" / "out.py" / "x").string(), "x", error));
  EXPECT_FALSE(error.empty());
  fs::remove_all(dir);
}

}  // namespace
}  // namespace nnport
