#include "core/io/json_result_writer.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <limits>

#include "core/version.hpp"
#include "support/expect_throw_message.hpp"
#include "support/temporary_directory.hpp"

namespace vigap {
namespace {

using testing::expect_throw_message;
using testing::TemporaryDirectory;

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

nlohmann::ordered_json example_document() {
  nlohmann::ordered_json document = make_result_document("gap-table", {{"latent_dim", 2}, {"lr", 1e-3}},
                                                         {{"name", "fashion-mnist-test"}, {"size", 100}}, 17);
  document["results"]["test"]["elbo"] = -101.25;
  document["results"]["curve"] = {1.0, 2.0, 3.0};
  return document;
}

TEST(JsonResultWriter, MakesDocumentWithFieldsInOrder) {
  const nlohmann::ordered_json document = make_result_document("train", {{"epochs", 3}}, {{"name", "x"}}, 5);
  std::vector<std::string> keys;
  for (const auto& [key, value] : document.items()) keys.push_back(key);
  EXPECT_EQ(keys, (std::vector<std::string>{"schema_version", "experiment", "vigap_version", "git_commit", "seed",
                                            "configuration", "dataset", "results", "timings"}));
  EXPECT_EQ(document["schema_version"], 1);
  EXPECT_EQ(document["vigap_version"], kVersion);
  EXPECT_EQ(document["git_commit"], kGitCommit);
  EXPECT_EQ(document["seed"], 5u);
  EXPECT_TRUE(document["results"].is_object() && document["results"].empty());
  EXPECT_TRUE(document["timings"].is_object() && document["timings"].empty());
}

TEST(JsonResultWriter, IdenticalDocumentsGiveIdenticalBytes) {
  TemporaryDirectory dir;
  write_result_json(dir.file("a.json"), example_document());
  write_result_json(dir.file("b.json"), example_document());
  const std::string a = read_all(dir.file("a.json"));
  EXPECT_EQ(a, read_all(dir.file("b.json")));
  ASSERT_FALSE(a.empty());
  EXPECT_EQ(a.back(), '\n');
  EXPECT_EQ(a.substr(0, 23), "{\n  \"schema_version\": 1");
  EXPECT_EQ(nlohmann::ordered_json::parse(a), example_document());
}

TEST(JsonResultWriter, RejectsNonFiniteNumbersNamingThePointer) {
  TemporaryDirectory dir;
  const std::string path = dir.file("result.json");
  nlohmann::ordered_json document = example_document();
  document["results"]["test"]["elbo"] = std::numeric_limits<double>::quiet_NaN();
  expect_throw_message<std::invalid_argument>([&] { write_result_json(path, document); },
                                              {path, "NaN", "/results/test/elbo"});
  document = example_document();
  document["results"]["curve"][2] = -std::numeric_limits<double>::infinity();
  expect_throw_message<std::invalid_argument>([&] { write_result_json(path, document); }, {"-inf", "/results/curve/2"});
  document = example_document();
  document["results"]["a/b~c"] = std::numeric_limits<float>::infinity();
  expect_throw_message<std::invalid_argument>([&] { write_result_json(path, document); }, {"/results/a~1b~0c"});
  EXPECT_TRUE(dir.entries().empty());
}

TEST(JsonResultWriter, UnwritablePathThrowsNamingIt) {
  TemporaryDirectory dir;
  const std::string path = dir.file("missing-dir/result.json");
  expect_throw_message<std::runtime_error>([&] { write_result_json(path, example_document()); }, {path});
  EXPECT_TRUE(dir.entries().empty());
}

}  // namespace
}  // namespace vigap
